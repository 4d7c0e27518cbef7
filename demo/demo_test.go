package demo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/data/synth"
)

// TestDemoTiny runs the whole demo on a tiny task with a few steps a stage:
// every report is written, the table holds the members, WA and ENS with
// accuracies in [0, 1], the verdict covers OOD, memorisation, cost and
// best-of-N, and a finished demo is not overwritten.
func TestDemoTiny(t *testing.T) {
	cfg := Regime()
	cfg.TrainPairs, cfg.TestPairs, cfg.OODDevPairs, cfg.OODTestPairs = 200, 40, 40, 40
	cfg.Prompts, cfg.SFTExamples, cfg.CorpusBytes = 8, 100, 80_000
	dir := filepath.Join(t.TempDir(), "demo")
	o := Options{Dir: dir, Seed: 3, Scale: 0.01, M: 4, Task: &cfg, Prompts: 4, MaxN: 4}
	res, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"demo/demo.html", "demo/demo.md", "report/report.html", "report/results.json", "bon/bon.json", "data/" + synth.FileTrain} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	rows := res.Table()
	if len(rows) != 4+2 || rows[4].Name != "WA(4)" || rows[5].Name != "ENS(4)" {
		t.Fatalf("table rows %+v", rows)
	}
	for _, r := range rows {
		for _, a := range []float64{r.ID, r.OOD, r.Flipped} {
			if a < 0 || a > 1 {
				t.Errorf("%s: accuracy %v", r.Name, a)
			}
		}
		if r.MsPer1000 <= 0 && (r.Name == "WA(4)" || r.Name == "ENS(4)") {
			t.Errorf("%s: no cost", r.Name)
		}
	}
	v := strings.Join(res.Verdict(), "\n")
	for _, want := range []string{"Out of distribution, WA(4) is", "memorises the flipped training labels", "Scoring 1,000 pairs took", "Best-of-4 from the SFT policy"} {
		if !strings.Contains(v, want) {
			t.Errorf("verdict lacks %q:\n%s", want, v)
		}
	}
	html, _ := os.ReadFile(res.HTML)
	if !strings.Contains(string(html), "<svg") || !strings.Contains(string(html), "WA(4)") {
		t.Error("demo.html has no figure or no WA row")
	}
	if _, err := Run(context.Background(), o); err == nil || !strings.Contains(err.Error(), "finished demo") {
		t.Errorf("a second run: %v", err)
	}
	o.M = 1
	if _, err := Run(context.Background(), o); err == nil {
		t.Error("M = 1 accepted")
	}
}
