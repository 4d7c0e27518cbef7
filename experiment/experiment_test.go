package experiment

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/data"
	"github.com/warm-rm/warm/data/synth"
	"github.com/warm-rm/warm/sweep"
)

// TestSyntheticTiny runs the whole protocol at a tiny scale and checks the
// results for internal consistency.
func TestSyntheticTiny(t *testing.T) {
	cfg := synth.DefaultConfig()
	cfg.TrainPairs, cfg.TestPairs, cfg.OODDevPairs, cfg.OODTestPairs = 300, 60, 60, 60
	cfg.Prompts, cfg.SFTExamples, cfg.CorpusBytes = 10, 100, 60_000
	dir := t.TempDir()
	o := RunOptions{Dir: dir, Seed: 2, M: 4, CorruptRate: 0.25, Scale: 0.01,
		Eval: EvalOptions{MaxPairs: 60, LMCPairs: 40, Lambdas: []float64{0, 0.5, 1}, GreedySoup: true}, Command: "go test"}
	task, err := Synthetic(context.Background(), dir, o.Seed, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), task, o)
	if err != nil {
		t.Fatal(err)
	}
	checkWorkersBitIdentical(t, filepath.Join(dir, "sweep", "manifest.json"))
	want := []string{"member-00", "member-01", "member-02", "member-03", "WA(2)", "ENS(2)", "WA(4)", "ENS(4)", "soup"}
	for _, n := range want {
		if res.Entry(n) == nil {
			t.Errorf("no entry %s", n)
		}
	}
	sets := map[string]bool{}
	for _, s := range res.Sets {
		sets[s.Name] = true
	}
	for _, s := range []string{SetTrainClean, SetTrainFlipped, "test", "ood_dev", "ood_test"} {
		if !sets[s] {
			t.Errorf("no set %s", s)
		}
	}
	// LMC: ref vs snapshot, order, lr, init; on two sets each.
	kinds := map[string]int{}
	for _, c := range res.LMC {
		kinds[c.Kind]++
		// At λ=0 and λ=1 the three curves meet at the endpoints.
		for _, i := range []int{0, len(c.Lambdas) - 1} {
			if c.WA[i] != c.ENS[i] || c.WA[i] != c.Diag[i] {
				t.Errorf("%s %s at λ=%v: WA %v ENS %v Diag %v", c.Kind, c.Set, c.Lambdas[i], c.WA[i], c.ENS[i], c.Diag[i])
			}
		}
	}
	for _, k := range []string{"checkpoints", "order", "lr", "init"} {
		if kinds[k] != 2 {
			t.Errorf("LMC kind %s: %d curves", k, kinds[k])
		}
	}
	// ENS(1) would equal the best member; ENS(M) rewards are means, so an
	// M=1 WA equals the member: check WA vs member consistency through the
	// LMC endpoint instead, and the cost table covers WA and every ENS.
	if len(res.Costs) != 3 {
		t.Errorf("costs %+v", res.Costs)
	}
	for _, f := range []string{"report.md", "report.html", "results.json"} {
		b, err := os.ReadFile(filepath.Join(dir, "report", f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "report.md" && !strings.Contains(string(b), "Obs.3a") {
			t.Errorf("report.md lacks the observations")
		}
	}
	rep, err := ReadResults(filepath.Join(dir, "report"))
	if err != nil || len(rep.Observations) != 7 {
		t.Fatalf("results.json: %v, %d observations", err, len(rep.Observations))
	}
	// The federated extension on the same base: 2 shards and the all-data
	// baseline, which is scored but never averaged.
	fed, err := Federated(context.Background(), task, o, FederatedOptions{K: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"shard-00", "shard-01", "all-data", "WA(2)", "ENS(2)"} {
		if fed.Entry(n) == nil {
			t.Errorf("federated: no entry %s", n)
		}
	}
	if got := fed.Entry("WA(2)").Members; len(got) != 2 || slices.Contains(got, "all-data") {
		t.Errorf("WA(2) averaged %v", got)
	}
	foundBaseline := false
	for _, c := range fed.Comparisons {
		if c.A == "WA(2)" && c.B == "all-data" {
			foundBaseline = true
		}
	}
	if !foundBaseline {
		t.Error("no WA(2) vs all-data comparison")
	}
	if _, err := os.Stat(filepath.Join(dir, "federated-iid-k2", "report", "report.md")); err != nil {
		t.Error(err)
	}

	// Cross-dataset merge, with the OOD split standing in for another
	// dataset.
	cross, err := CrossData(context.Background(), task, o, "other", filepath.Join(dir, "data", "ood_test.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if cross.Entry("WA(2)") == nil || cross.Entry("other") == nil || cross.Entry("task") == nil {
		t.Error("cross-data entries missing")
	}
	if len(cross.LMC) != 2 || cross.LMC[0].Kind != "datasets" {
		t.Errorf("cross-data curves %+v", cross.LMC)
	}

	// A second run reuses every trained stage and, evaluating again, gives
	// the same numbers.
	o.Reevaluate = true
	res2, err := Run(context.Background(), task, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range res.Entries {
		for j, r := range e.Results {
			if res2.Entries[i].Results[j].Accuracy != r.Accuracy {
				t.Fatalf("rerun differs on %s/%s", e.Name, r.Set)
			}
		}
	}
}

func TestShards(t *testing.T) {
	var pairs []data.Pair
	for i := 0; i < 103; i++ {
		pairs = append(pairs, data.Pair{ID: i, Chosen: strings.Repeat("x", i%17), Rejected: "y"})
	}
	for _, nonIID := range []bool{false, true} {
		sh, err := Shards(pairs, 4, 9, nonIID)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, s := range sh {
			if len(s) < 25 || len(s) > 26 {
				t.Errorf("shard of %d pairs", len(s))
			}
			for _, p := range s {
				if seen[p.ID] {
					t.Fatalf("pair %d in two shards", p.ID)
				}
				seen[p.ID] = true
			}
		}
		if len(seen) != len(pairs) {
			t.Errorf("%d of %d pairs in shards", len(seen), len(pairs))
		}
		if nonIID {
			last := func(s []data.Pair) int { return len(s[len(s)-1].Chosen) }
			if !(last(sh[0]) <= len(sh[1][0].Chosen)) {
				t.Error("non-IID shards are not ordered by length")
			}
		}
	}
	if _, err := Shards(pairs, 1, 1, false); err == nil {
		t.Error("one shard accepted")
	}
}

// checkWorkersBitIdentical retrains a trained sweep's members two at a time
// and checks that every member's weights come out byte for byte the same.
func checkWorkersBitIdentical(t *testing.T, manifest string) {
	t.Helper()
	man, err := sweep.Load(manifest)
	if err != nil {
		t.Fatal(err)
	}
	orig := make([][]byte, len(man.Members))
	for i := range man.Members {
		if orig[i], err = os.ReadFile(filepath.Join(man.MemberDir(i), "model.safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	man.Out = man.Out + "-w2"
	if _, err := sweep.Run(context.Background(), man, sweep.RunOptions{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range man.Members {
		b, err := os.ReadFile(filepath.Join(man.MemberDir(i), "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, orig[i]) {
			t.Errorf("member %s trained beside another differs from the member trained alone", man.Members[i].Name)
		}
	}
}
