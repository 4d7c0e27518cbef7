package policy

import (
	"strings"
	"testing"
)

// bonResult has three proxies over N = 1, 2, 4: "steady" improves, "hacked"
// peaks at N = 2 then falls well beyond its CI while its proxy rises, and
// "noisy" falls within its CI.
func bonResult() *BoNResult {
	ci := []float64{0.01, 0.01, 0.01}
	r := &BoNResult{Control: "gold", Prompts: 10, Ns: []int{1, 2, 4}, KL: []float64{0, 0.19, 0.64}, SFTControl: 0.1,
		Curves: []BoNCurve{
			{Reward: "steady", Control: []float64{0.1, 0.2, 0.3}, ControlCI: ci, ProxyZ: []float64{0, 1, 2}},
			{Reward: "hacked", Control: []float64{0.1, 0.4, 0.2}, ControlCI: ci, ProxyZ: []float64{0, 1, 2}},
			{Reward: "noisy", Control: []float64{0.1, 0.25, 0.245}, ControlCI: ci, ProxyZ: []float64{0, 1, 2}},
			{Reward: "gold", Control: []float64{0.1, 0.5, 0.9}, ControlCI: ci, ProxyZ: []float64{0, 1, 2}},
		},
		Comparisons: []BoNComparison{{A: "steady", B: "hacked", Diff: []float64{0, -0.2, 0.1}, DiffSE: []float64{0, 0.01, 0.02},
			WinRate: []float64{0.5, 0.4, 0.6}, WinRateSE: []float64{0, 0.01, 0.02}, Same: []float64{1, 0.5, 0.3}}},
	}
	for i := range r.Curves {
		c := &r.Curves[i]
		c.Proxy, c.Tokens, c.VsRandom, c.VsRandomSE = c.ProxyZ, make([]float64, 3), make([]float64, 3), make([]float64, 3)
	}
	return r
}

func TestBoNVerdict(t *testing.T) {
	v := BoNVerdict(bonResult())
	if len(v) != 3 {
		t.Fatalf("%d lines: %q", len(v), v)
	}
	// gold is the control: not ranked, though its pick scores highest.
	if !strings.HasPrefix(v[0], "At N = 4 (the largest) the pick of `steady` has the highest gold reward, 0.3000 ± 0.0100") || !strings.Contains(v[0], "against `hacked` 0.2000, `noisy` 0.2450; a single SFT sample scores 0.1000.") {
		t.Errorf("line 1: %s", v[0])
	}
	if !strings.HasPrefix(v[1], "Hacked: `hacked` (gold falls by 0.2000 from its peak at N = 2 while the proxy rises +1.00") || strings.Contains(v[1], "noisy") || strings.Contains(v[1], "steady") {
		t.Errorf("line 2: %s", v[1])
	}
	if v[2] != "At N = 4, gold: `steady` − `hacked` +0.1000 ± 0.0400 (2 SE, paired over prompts), win rate 0.600 ± 0.020." {
		t.Errorf("line 3: %s", v[2])
	}
	r := bonResult()
	r.Curves = r.Curves[:1]
	if v := BoNVerdict(r); !strings.HasPrefix(v[1], "No proxy is hacked") {
		t.Errorf("line 2 without hacking: %s", v[1])
	}
	md := BoNMarkdown(bonResult())
	iv, ih, it := strings.Index(md, "the pick of `steady`"), strings.Index(md, "(bon_control.png)"), strings.Index(md, "| --- |")
	if iv < 0 || ih < iv || it < ih {
		t.Errorf("verdict at %d, headline at %d, first table at %d:\n%s", iv, ih, it, md)
	}
}

func fakeRL(reward string, ctl, proxy []float64) *RLResult {
	r := &RLResult{Run: "runs/" + reward, Reward: reward, Control: "gold"}
	for i := range ctl {
		r.Evals = append(r.Evals, RLEval{Step: 10 * i, Control: ctl[i], ControlSE: 0.01, ProxyNorm: proxy[i], KL: float64(i), Tokens: 20})
	}
	return r
}

func TestRLVerdict(t *testing.T) {
	runs := []*RLResult{
		fakeRL("best", []float64{0.1, 0.5, 0.2}, []float64{0, 1, 3}),
		fakeRL("warm6", []float64{0.1, 0.4, 0.45}, []float64{0, 1, 2}),
	}
	v := RLVerdict(runs)
	if len(v) != 3 {
		t.Fatalf("%d lines: %q", len(v), v)
	}
	if v[0] != "The policy trained against `best` reaches the highest gold reward: 0.5000 ± 0.0100 at step 10 (KL 1.000), from 0.1000 for the SFT policy; `warm6` peaks at 0.4500 ± 0.0100 (step 20)." {
		t.Errorf("line 1: %s", v[0])
	}
	if !strings.HasPrefix(v[1], "Hacked: `best` (after step 10 gold falls by 0.3000 while the proxy rises +2.00") || strings.Contains(v[1], "warm6") {
		t.Errorf("line 2: %s", v[1])
	}
	if !strings.Contains(v[2], "`warm6` at step 20: gold 0.4500 ± 0.0100, proxy +2.00") {
		t.Errorf("line 3: %s", v[2])
	}
	if v := RLVerdict([]*RLResult{fakeRL("best", []float64{0.3, 0.2}, []float64{0, 1})}); !strings.HasPrefix(v[0], "No RL policy improves on the SFT policy's gold reward, 0.3000") {
		t.Errorf("line 1 of a run that never beats SFT: %s", v[0])
	}
	if v := RLVerdict(runs[1:]); !strings.HasPrefix(v[1], "No run is hacked") {
		t.Errorf("line 2 without hacking: %s", v[1])
	}
	if v := RLVerdict([]*RLResult{{Reward: "x"}}); len(v) != 1 {
		t.Errorf("verdict of an unevaluated run: %q", v)
	}
	runs[0].Evals[2].Example = "I plan plan plan to | program program " + strings.Repeat("program ", 40)
	md := RLMarkdown(runs)
	if !strings.Contains(md, "| I plan plan plan to \\| program program program") || !strings.Contains(md, "pr… |") {
		t.Errorf("the evaluations do not show what the policy writes, one line, escaped and cut:\n%s", md)
	}
	iv, ih, it := strings.Index(md, "reaches the highest"), strings.Index(md, "(rl_control_kl.png)"), strings.Index(md, "| --- |")
	if iv < 0 || ih < iv || it < ih {
		t.Errorf("verdict at %d, headline at %d, first table at %d:\n%s", iv, ih, it, md)
	}
}

func TestComparisonSpecs(t *testing.T) {
	got := strings.Join(DefaultComparisons([]string{"best", "ens:3", "warm:3", "warm:6", "member:1"}), " ")
	if want := "ens:3=best warm:3=best warm:3=ens:3 warm:6=best member:1=best"; got != want {
		t.Errorf("DefaultComparisons = %s, want %s", got, want)
	}
	names := map[string]string{"best": "best", "warm:3": "warm3"}
	if c, err := ParseComparisons([]string{"warm:3=best"}, names); err != nil || len(c) != 1 || c[0] != [2]string{"warm3", "best"} {
		t.Errorf("ParseComparisons = %v, %v", c, err)
	}
	for _, bad := range []string{"warm:3", "warm:3=ens:3"} {
		if _, err := ParseComparisons([]string{bad}, names); err == nil {
			t.Errorf("comparison %q accepted", bad)
		}
	}
}
