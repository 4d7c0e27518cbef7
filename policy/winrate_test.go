package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/internal/report"
)

func TestCompareSelfIsEven(t *testing.T) {
	f := getFixture(t)
	p := f.policy(t)
	w, err := Compare(context.Background(), p, p, f.prompts[:5], 3, tinySampling(), Gold{})
	if err != nil {
		t.Fatal(err)
	}
	if w.Rate != 0.5 || w.Ties != 1 || w.N != 15 || w.ControlA != w.ControlB || w.RepetitionA != w.RepetitionB {
		t.Errorf("a policy against itself: %+v", w)
	}
}

func TestCompareJudgedRepetition(t *testing.T) {
	a := &judged{control: []float64{1, 2, 3, 4}, repetition: []float64{0.5, 0.1, 0, 0.2}}
	b := &judged{control: []float64{0, 2, 4, 4}, repetition: []float64{0, 0, 0, 0}}
	w := compareJudged(a, b, 2)
	// Prompt 0: a wins then ties (0.75); prompt 1: a loses then ties (0.25).
	if w.Rate != 0.5 || w.Ties != 0.5 || w.RepetitionA != 0.2 || w.RepetitionB != 0 {
		t.Errorf("compareJudged: %+v", w)
	}
}

func TestCompareRuns(t *testing.T) {
	f := getFixture(t)
	dir := t.TempDir()
	sft := f.policy(t)
	other := NewPolicy("other", f.tinyModel(t, false, 9), f.tok)
	save := func(run string, step int, p *Policy) {
		d := CheckpointDir(filepath.Join(dir, run), step)
		if err := os.MkdirAll(filepath.Dir(d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := checkpoint.Save(d, &checkpoint.Checkpoint{Model: p.Model, Tokenizer: f.tok}, false); err != nil {
			t.Fatal(err)
		}
	}
	save("a", 5, sft)
	save("a", 10, other)
	save("a", 15, sft)
	save("b", 5, sft)
	save("b", 10, sft)
	tab, err := CompareRuns(context.Background(), filepath.Join(dir, "a"), filepath.Join(dir, "b"), sft, nil, f.prompts[:6], 2, tinySampling(), Gold{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 2 || tab.Rows[0].Step != 5 || tab.Rows[1].Step != 10 {
		t.Fatalf("rows %+v", tab.Rows)
	}
	r0 := tab.Rows[0]
	if r0.AvsB.Rate != 0.5 || r0.AvsSFT.Rate != 0.5 || r0.BvsSFT.Ties != 1 {
		t.Errorf("identical policies: %+v", r0)
	}
	want, err := Compare(context.Background(), other, sft, f.prompts[:6], 2, tinySampling(), Gold{})
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Rows[1].AvsB; got.Rate != want.Rate || got.SE != want.SE {
		t.Errorf("step 10: %+v, direct comparison %+v", got, want)
	}
	if _, err := CompareRuns(context.Background(), filepath.Join(dir, "a"), filepath.Join(dir, "b"), nil, []int{15}, f.prompts[:2], 1, tinySampling(), Gold{}, nil); err == nil {
		t.Error("runs without a common step compared")
	}
	if err := report.WriteFigures(dir, []report.Figure{WinRateFigure(tab, "a", "b")}); err != nil {
		t.Error(err)
	}
}
