package experiment

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/internal/llamatest"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/scorer"
	"github.com/warm-rm/warm/sweep"
)

// TestEvaluateFamily evaluates a sweep of three Qwen2 reward models (as a
// --command manifest gathers from another trainer): members, WA(M) as
// `warm merge` writes it, ENS(M) as the mean of the members' rewards, the
// comparisons, the cost and the report, with no temporary directory left.
func TestEvaluateFamily(t *testing.T) {
	dir := t.TempDir()
	path, err := llamatest.WriteSweep(dir, 3, "../tokenizer/testdata/qwen2_bpe.json")
	if err != nil {
		t.Fatal(err)
	}
	man, err := sweep.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := LoadSets(man, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Evaluate(context.Background(), man, sets, EvalOptions{Batch: 8})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"member-00", "member-01", "member-02", "WA(2)", "ENS(2)", "WA(3)", "ENS(3)"} {
		if res.Entry(n) == nil {
			t.Errorf("no entry %s", n)
		}
	}
	// WA(3) is warm merge of the three (in rank order), scored as warm score does.
	var top []string
	for r := range 3 {
		for _, m := range res.Members {
			if m.Rank == r {
				top = append(top, man.MemberDir(indexOf(man, m.Name)))
			}
		}
	}
	out := filepath.Join(t.TempDir(), "wa")
	if _, err := merge.Run(context.Background(), out, top, merge.Options{IgnoreBaseFingerprint: true}); err != nil {
		t.Fatal(err)
	}
	s, err := scorer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	c, r, err := s.ScorePairs(context.Background(), sets[len(sets)-1].Pairs, 8)
	if err != nil {
		t.Fatal(err)
	}
	correct := 0
	for i := range c {
		if c[i] > r[i] {
			correct++
		}
	}
	got, _ := res.Entry("WA(3)").Result(SetOODTest)
	if want := float64(correct) / float64(len(c)); got.Accuracy != want {
		t.Errorf("WA(3) OOD accuracy %v, warm merge + score give %v", got.Accuracy, want)
	}
	if len(res.Costs) == 0 || res.Costs[0].Name != "WA" || len(res.LMC) != 0 {
		t.Errorf("costs %+v, lmc %d curves", res.Costs, len(res.LMC))
	}
	if err := WriteReport(filepath.Join(dir, "report"), ReportInfo{Title: "qwen2 sweep"}, res, false); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "members"))
	if len(ents) != 3 {
		t.Errorf("the members' directory holds %d entries (a temporary merge left?)", len(ents))
	}
}

func indexOf(m *sweep.Manifest, name string) int {
	for i, mb := range m.Members {
		if mb.Name == name {
			return i
		}
	}
	return -1
}
