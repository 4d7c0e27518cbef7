package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/checkpoint"
	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/sweep"
	"github.com/warm-rm/warm/train"
)

// makeSweep writes the task files, a sweep manifest and M random reward
// models into dir, and the tiny SFT policy into dir/sft. It returns the
// manifest path.
func makeSweep(t *testing.T, f *fixture, dir string, M int) string {
	t.Helper()
	if err := f.task.WriteDir(filepath.Join(dir, "data")); err != nil {
		t.Fatal(err)
	}
	man := &sweep.Manifest{Version: sweep.Version, Out: "members", Base: "base", Head: "head", Train: "data/train.jsonl",
		Config: train.DefaultConfig(), Eval: []sweep.EvalSet{{Name: "ood_dev", Path: "../data/ood_dev.jsonl"}}}
	for i := 0; i < M; i++ {
		man.Members = append(man.Members, sweep.Member{Name: fmt.Sprintf("member-%02d", i), Init: "sft", LR: 1e-4, DataSeed: uint64(i), Seed: uint64(i)})
	}
	path := filepath.Join(dir, "sweep", "manifest.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := man.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded, err := sweep.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < M; i++ {
		m := f.tinyModel(t, true, uint64(10+i))
		if err := os.MkdirAll(filepath.Dir(loaded.MemberDir(i)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := checkpoint.Save(loaded.MemberDir(i), &checkpoint.Checkpoint{Model: m, Tokenizer: f.tok, Meta: checkpoint.Meta{Role: checkpoint.RoleRM}}, false); err != nil {
			t.Fatal(err)
		}
	}
	p := f.policy(t)
	if err := checkpoint.Save(filepath.Join(dir, "sft"), &checkpoint.Checkpoint{Model: p.Model, Tokenizer: f.tok, Meta: checkpoint.Meta{Role: checkpoint.RoleSFT}}, false); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSweepRewards(t *testing.T) {
	f := getFixture(t)
	dir := t.TempDir()
	path := makeSweep(t, f, dir, 3)
	ctx := context.Background()
	rs, err := OpenRewards(ctx, path, RankOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs.Ranking) != 3 {
		t.Fatalf("ranking %v", rs.Ranking)
	}
	w, err := rs.Parse("warm:2")
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := rs.Ranked(0)
	rb, _ := rs.Ranked(1)
	a, b := ra.(*RM), rb.(*RM)
	want := make([]float32, len(a.Model.Flat))
	if err := merge.AverageFloat32(want, [][]float32{a.Model.Flat, b.Model.Flat}, nil); err != nil {
		t.Fatal(err)
	}
	wm := w.(*RM)
	for i := range want {
		if wm.Model.Flat[i] != want[i] {
			t.Fatalf("WARM weight %d: %v, average %v", i, wm.Model.Flat[i], want[i])
		}
	}
	if len(wm.Members) != 2 || wm.Members[0] != a.Name() {
		t.Errorf("WARM members %v", wm.Members)
	}
	e, err := rs.Parse("ens:3")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.(*Ensemble).Members) != 3 {
		t.Error("ENS(3) size")
	}
	best, _ := rs.Parse("best")
	if Underlying(best) != Reward(a) {
		t.Error("best is not the member ranked first")
	}
	if _, err := rs.Parse("warm:4"); err == nil {
		t.Error("WARM(4) of 3 members accepted")
	}
	if _, err := rs.Parse("member:3"); err == nil {
		t.Error("member:3 of 3 accepted")
	}
	if rm, err := rs.Parse("rm:" + rs.Manifest.MemberDir(2)); err != nil || rm.Name() != "member-02" {
		t.Errorf("rm: spec: %v %v", rm, err)
	}
}

// counting counts the batches it scores.
type counting struct {
	Reward
	calls *int
}

func (c counting) Score(ctx context.Context, b *Batch) ([]float64, error) {
	*c.calls++
	return c.Reward.Score(ctx, b)
}

func TestBestOfN(t *testing.T) {
	f := getFixture(t)
	p := f.policy(t)
	calls := 0
	a := counting{Reward: f.rm(t, "a", 5), calls: &calls}
	b := f.rm(t, "b", 6)
	ens, _ := NewEnsemble("ens2", []Reward{a, b})
	opts := BoNOptions{
		Prompts: f.prompts[:6], MaxN: 8, RefSamples: 4, Sample: tinySampling(),
		Rewards: []Reward{a, ens, Gold{}}, Control: Gold{},
		Compare: [][2]string{{"ens2", "a"}, {"gold", "gold"}},
	}
	ctx := context.Background()
	r1, err := BestOfN(ctx, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("member a scored %d times, want once", calls)
	}
	r2, err := BestOfN(ctx, p, opts)
	if err != nil {
		t.Fatal(err)
	}
	strip := func(r *BoNResult) string {
		c := *r
		c.Date, c.Wall, c.GenerateSeconds, c.SamplesPerSec, c.ScoreSeconds = "", "", 0, 0, nil
		b, _ := json.Marshal(c)
		return string(b)
	}
	if strip(r1) != strip(r2) {
		t.Error("best-of-N is not deterministic")
	}
	if len(r1.Ns) != 4 || r1.Ns[3] != 8 || r1.Samples != 6*12 {
		t.Fatalf("Ns %v samples %d", r1.Ns, r1.Samples)
	}
	// With the control reward as the proxy, best-of-N can only improve
	// with N, and N = 1 is the mean of the pool.
	g := r1.Curve("gold")
	for j := 1; j < len(g.Control); j++ {
		if g.Control[j] < g.Control[j-1]-1e-12 {
			t.Errorf("gold best-of-%d %v below best-of-%d %v", r1.Ns[j], g.Control[j], r1.Ns[j-1], g.Control[j-1])
		}
	}
	for _, c := range r1.Curves {
		if math.Abs(c.Control[0]-r1.SFTControl) > 1e-9 {
			t.Errorf("%s: best-of-1 %v, SFT mean %v", c.Reward, c.Control[0], r1.SFTControl)
		}
		if math.Abs(c.ProxyZ[0]) > 1e-9 {
			t.Errorf("%s: best-of-1 proxy z %v", c.Reward, c.ProxyZ[0])
		}
	}
	if g.CorrControl != nil && math.Abs(*g.CorrControl-1) > 1e-9 {
		t.Errorf("gold's correlation with itself %v", *g.CorrControl)
	}
	if g.Proxy[3] != g.Control[3] {
		t.Error("gold proxy and control differ")
	}
	self := r1.Comparisons[1]
	for j := range self.WinRate {
		if self.WinRate[j] != 0.5 || self.Same[j] != 1 || self.Diff[j] != 0 {
			t.Errorf("a reward against itself: %+v", self)
		}
	}
	if _, err := BestOfN(ctx, p, BoNOptions{Prompts: f.prompts[:2], MaxN: 6, Sample: tinySampling(), Rewards: []Reward{Gold{}}, Control: Gold{}}); err == nil {
		t.Error("max N 6 accepted")
	}
	if figs := BoNFigures(r1); len(figs) != 4 {
		t.Errorf("%d figures", len(figs))
	}
	out := filepath.Join(t.TempDir(), "bon")
	if err := WriteBoN(out, r1, false); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"bon.json", "bon.md", "bon.html", "bon_control.png", "bon_control.svg", "bon_winrate.svg"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	var back BoNResult
	if raw, err := os.ReadFile(filepath.Join(out, "bon.json")); err != nil || json.Unmarshal(raw, &back) != nil || len(back.Curves) != len(r1.Curves) {
		t.Errorf("bon.json: %v", err)
	}
	if err := WriteBoN(out, r1, false); err == nil {
		t.Error("WriteBoN replaced a directory without replace")
	}
}
