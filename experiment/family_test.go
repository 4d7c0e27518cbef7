package experiment

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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
	// LMC pairs as a sweep planned with them names them.
	man.Members[0].Role, man.Members[1].Role, man.Members[2].Role = "ref", "lr", "init"
	res, err := Evaluate(context.Background(), man, sets, EvalOptions{Batch: 8, GreedySoup: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"member-00", "member-01", "member-02", "WA(2)", "ENS(2)", "WA(3)", "ENS(3)", "soup"} {
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
	if len(res.Costs) == 0 || res.Costs[0].Name != "WA" {
		t.Errorf("costs %+v", res.Costs)
	}
	checkFamilyLMC(t, man, res)
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

// checkFamilyLMC checks the LMC curves of TestEvaluateFamily's sweep: one
// per planned pair (lr, init) and LMC set; the ends are the members
// themselves (WA = ENS = Diag at λ = 0 and 1); the middle point is what
// `warm merge --lambda 0.5` and `warm score` give on the curve's pairs.
func checkFamilyLMC(t *testing.T, man *sweep.Manifest, res *Results) {
	t.Helper()
	kinds := map[string]bool{}
	for _, c := range res.LMC {
		kinds[c.Kind] = true
		n := len(c.Lambdas)
		if len(c.WA) != n || len(c.ENS) != n || len(c.Diag) != n || n < 3 {
			t.Fatalf("curve %s/%s: %d λ, %d WA, %d ENS, %d Diag", c.Kind, c.Set, n, len(c.WA), len(c.ENS), len(c.Diag))
		}
		for _, k := range []int{0, n - 1} {
			if c.WA[k] != c.Diag[k] || c.ENS[k] != c.Diag[k] {
				t.Errorf("curve %s/%s at λ=%g: WA %v, ENS %v, Diag %v (an end is a member)", c.Kind, c.Set, c.Lambdas[k], c.WA[k], c.ENS[k], c.Diag[k])
			}
		}
	}
	if !kinds["lr"] || !kinds["init"] || len(kinds) != 2 {
		t.Fatalf("LMC kinds %v, want lr and init", kinds)
	}
	c := res.LMC[0]
	mid := slices.Index(c.Lambdas, 0.5)
	if mid < 0 {
		t.Fatalf("no λ = 0.5 in %v", c.Lambdas)
	}
	lam := 0.5
	out := filepath.Join(t.TempDir(), "mid")
	dirs := []string{man.MemberDir(indexOf(man, c.A)), man.MemberDir(indexOf(man, c.B))}
	if _, err := merge.Run(context.Background(), out, dirs, merge.Options{Lambda: &lam, IgnoreBaseFingerprint: true}); err != nil {
		t.Fatal(err)
	}
	s, err := scorer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	sets, err := LoadSets(man, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	o := EvalOptions{}
	o.defaults(3)
	for _, ls := range lmcSets(sets, o) {
		if ls.Name != c.Set {
			continue
		}
		ch, rj, err := s.ScorePairs(context.Background(), ls.Pairs, 8)
		if err != nil {
			t.Fatal(err)
		}
		correct := 0
		for i := range ch {
			if ch[i] > rj[i] {
				correct++
			}
		}
		if want := float64(correct) / float64(len(ch)); c.WA[mid] != want {
			t.Errorf("LMC %s/%s at λ=0.5: WA %v, warm merge --lambda + score give %v", c.Kind, c.Set, c.WA[mid], want)
		}
		return
	}
	t.Fatalf("set %s of the curve not among the LMC sets", c.Set)
}
