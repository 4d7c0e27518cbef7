package policy

import (
	"fmt"
	"math"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/internal/report"
)

// This file reports RL runs: the peak and hacking analysis kept in rl.json,
// the verdict, the figures and the Markdown and HTML report.

// RLHacked describes reward hacking seen in the evaluations: after the
// peak of the control reward, the proxy reward kept rising while the control
// reward fell.
type RLHacked struct {
	// PeakStep is the evaluation step of the highest control reward.
	PeakStep int `json:"peak_step"`
	// FinalDrop is the control reward lost from the peak to the last
	// evaluation, and ProxyGain the normalised proxy reward gained.
	FinalDrop float64 `json:"final_drop"`
	ProxyGain float64 `json:"proxy_gain"`
	// Hacked reports FinalDrop > 2 standard errors with ProxyGain > 0.
	Hacked bool `json:"hacked"`
}

// analyseEvals finds the peak control reward and whether it fell afterwards
// while the proxy reward rose.
func analyseEvals(evs []RLEval) (*RLEval, *RLHacked) {
	if len(evs) == 0 {
		return nil, nil
	}
	control, proxy := make([]float64, len(evs)), make([]float64, len(evs))
	for i, e := range evs {
		control[i], proxy[i] = e.Control, e.ProxyNorm
	}
	h := &RLHacked{}
	pk, drop, gain, hacked := fallFromPeak(control, proxy, func(pk, last int) float64 {
		return math.Hypot(evs[pk].ControlSE, evs[last].ControlSE)
	})
	h.PeakStep, h.FinalDrop, h.ProxyGain, h.Hacked = evs[pk].Step, drop, gain, hacked
	peak := evs[pk]
	return &peak, h
}

// RLFigures draws control reward against KL (the headline) and against
// steps, and the proxy reward and length against steps, for one or several
// runs.
func RLFigures(runs []*RLResult) []report.Figure {
	ctlKL := report.Figure{Name: "rl_control_kl", Title: "RL: control reward against KL(π ‖ SFT) (eval prompts, ±2 SE)", XLabel: "KL(π ‖ SFT), nats", YLabel: "control reward"}
	ctlStep := report.Figure{Name: "rl_control_steps", Title: "RL: control reward against steps", XLabel: "step", YLabel: "control reward"}
	prxStep := report.Figure{Name: "rl_proxy_steps", Title: "RL: proxy reward (SFT std devs) against steps", XLabel: "step", YLabel: "normalised proxy reward"}
	lenStep := report.Figure{Name: "rl_length_steps", Title: "RL: response length against steps", XLabel: "step", YLabel: "tokens"}
	for _, r := range runs {
		var kl, ctl, se, steps, prx, ln []float64
		for _, e := range r.Evals {
			kl = append(kl, e.KL)
			ctl = append(ctl, e.Control)
			se = append(se, 2*e.ControlSE)
			steps = append(steps, float64(e.Step))
			prx = append(prx, e.ProxyNorm)
			ln = append(ln, e.Tokens)
		}
		label := r.Reward
		ctlKL.Series = append(ctlKL.Series, report.Series{Label: label, X: kl, Y: ctl, Err: se})
		ctlStep.Series = append(ctlStep.Series, report.Series{Label: label, X: steps, Y: ctl, Err: se})
		prxStep.Series = append(prxStep.Series, report.Series{Label: label, X: steps, Y: prx})
		lenStep.Series = append(lenStep.Series, report.Series{Label: label, X: steps, Y: ln})
	}
	return []report.Figure{ctlKL, ctlStep, prxStep, lenStep}
}

// runLabel names a run in sentences: its reward and, when several runs
// share the reward, its directory.
func runLabel(runs []*RLResult, r *RLResult) string {
	n := 0
	for _, o := range runs {
		if o.Reward == r.Reward {
			n++
		}
	}
	if n > 1 {
		return fmt.Sprintf("%s (%s)", r.Reward, r.Run)
	}
	return r.Reward
}

// RLVerdict returns the sentences an RL report opens on, computed from the
// runs' evaluations: which proxy reward's policy reaches the highest
// control reward, whether any run is hacked (its control reward falls
// beyond 2 standard errors from the peak while its proxy reward rises),
// and where each run ended.
func RLVerdict(runs []*RLResult) []string {
	var ev []*RLResult
	for _, r := range runs {
		if len(r.Evals) > 0 {
			ev = append(ev, r)
		}
	}
	if len(ev) == 0 {
		return []string{"No RL run has been evaluated yet."}
	}
	control := ev[0].Control
	type peak struct {
		r *RLResult
		p *RLEval
		h *RLHacked
	}
	ps := make([]peak, len(ev))
	top := 0
	for i, r := range ev {
		p, h := analyseEvals(r.Evals)
		ps[i] = peak{r, p, h}
		if p.Control > ps[top].p.Control {
			top = i
		}
	}
	t := ps[top]
	first := fmt.Sprintf("The policy trained against `%s` reaches the highest %s reward: %.4f ± %.4f at step %d (KL %.3f), from %.4f for the SFT policy",
		runLabel(runs, t.r), control, t.p.Control, t.p.ControlSE, t.p.Step, t.p.KL, t.r.Evals[0].Control)
	if t.p.Step == 0 {
		first = fmt.Sprintf("No RL policy improves on the SFT policy's %s reward, %.4f ± %.4f (every run peaks at step 0)", control, t.p.Control, t.p.ControlSE)
	}
	var others []string
	for i, p := range ps {
		if i != top {
			others = append(others, fmt.Sprintf("`%s` peaks at %.4f ± %.4f (step %d)", runLabel(runs, p.r), p.p.Control, p.p.ControlSE, p.p.Step))
		}
	}
	if len(others) > 0 {
		first += "; " + strings.Join(others, ", ")
	}
	first += "."
	var hacked, finals []string
	for _, p := range ps {
		if p.h.Hacked {
			hacked = append(hacked, fmt.Sprintf("`%s` (after step %d %s falls by %.4f while the proxy rises %+.2f SFT std devs)", runLabel(runs, p.r), p.h.PeakStep, control, p.h.FinalDrop, p.h.ProxyGain))
		}
		last := p.r.Evals[len(p.r.Evals)-1]
		finals = append(finals, fmt.Sprintf("`%s` at step %d: %s %.4f ± %.4f, proxy %+.2f SFT std devs, KL %.3f, %.1f tokens",
			runLabel(runs, p.r), last.Step, control, last.Control, last.ControlSE, last.ProxyNorm, last.KL, last.Tokens))
	}
	second := fmt.Sprintf("No run is hacked: no %s reward falls beyond 2 standard errors from its peak while the proxy reward rises.", control)
	if len(hacked) > 0 {
		second = "Hacked: " + strings.Join(hacked, "; ") + "."
	}
	return []string{first, second, "Last evaluation: " + strings.Join(finals, "; ") + "."}
}

// rlDoc lays out the report of RL runs: the verdict, control reward
// against KL, then each run's summary and evaluations.
func rlDoc(runs []*RLResult) *report.Doc {
	figs := RLFigures(runs)
	sum := report.Table{Head: []string{"run", "reward", "peak control (step, KL)", "final control (KL)", "final proxy (norm)", "hacked after peak"}}
	for _, r := range runs {
		if len(r.Evals) == 0 {
			continue
		}
		last := r.Evals[len(r.Evals)-1]
		pk, h := analyseEvals(r.Evals)
		hk := "no"
		if h.Hacked {
			hk = fmt.Sprintf("yes: -%.3f control, +%.2f proxy", h.FinalDrop, h.ProxyGain)
		}
		sum.Rows = append(sum.Rows, []string{r.Run, r.Reward, fmt.Sprintf("%.4f ± %.4f (%d, %.2f)", pk.Control, pk.ControlSE, pk.Step, pk.KL),
			fmt.Sprintf("%.4f ± %.4f (%.2f)", last.Control, last.ControlSE, last.KL), fmt.Sprintf("%+.2f", last.ProxyNorm), hk})
	}
	evals := report.Section{Title: "Evaluations"}
	for _, r := range runs {
		t := report.Table{Caption: fmt.Sprintf("%s (reward %s, α=%g, lr %g, %d prompts × %d samples a step, %.2f steps/s):",
			r.Run, r.Reward, r.Config.KLCoef, r.Config.Train.LR, r.Config.PromptsPerStep, r.Config.SamplesPerPrompt, r.StepsPerSec),
			Head: []string{"step", "control ± SE", "proxy (norm)", "KL", "entropy/token", "tokens", "stopped", "repetition (words / stems)", "what it writes (first evaluation prompt)"}}
		for _, e := range r.Evals {
			t.Rows = append(t.Rows, []string{fmt.Sprint(e.Step), fmt.Sprintf("%.4f ± %.4f", e.Control, e.ControlSE), fmt.Sprintf("%+.2f", e.ProxyNorm),
				fmt.Sprintf("%.3f", e.KL), fmt.Sprintf("%.3f", e.Entropy), fmt.Sprintf("%.1f", e.Tokens), fmt.Sprintf("%.2f", e.Stopped), repetitionCell(e.Repetition, e.StemRepetition), sampleCell(e.Example)})
		}
		evals.Tables = append(evals.Tables, t)
	}
	return &report.Doc{Title: "RL against " + rlControl(runs), Verdict: RLVerdict(runs), Headline: &figs[0],
		Sections: []report.Section{{Title: "Runs", Tables: []report.Table{sum}}, evals, {Title: "Figures", Figures: figs[1:]}},
		Footer:   "All numbers are in each run's `rl.json`."}
}

// sampleCell is a policy sample for a table cell: one line, at most 200
// characters (an ellipsis marks the cut).
func sampleCell(text string) string {
	text = strings.Join(strings.Fields(text), " ")
	if r := []rune(text); len(r) > 200 {
		return string(r[:200]) + "…"
	}
	return text
}

// rlControl names the control reward of runs ("" when there are none).
func rlControl(runs []*RLResult) string {
	if len(runs) == 0 {
		return ""
	}
	return runs[0].Control
}

// RLMarkdown renders RL runs side by side: the verdict, the headline
// figure, each run's peak and whether its control reward fell from the
// peak while its proxy reward rose (hacking), and its evaluations.
func RLMarkdown(runs []*RLResult) string { return rlDoc(runs).Markdown() }

// rlReportFiles renders the report of runs: rl.md, rl.html and the figures.
func rlReportFiles(runs []*RLResult) (map[string][]byte, error) {
	files, err := rlDoc(runs).Files("rl")
	if err != nil {
		return nil, fmt.Errorf("rl report: %w", err)
	}
	return files, nil
}

// WriteRLReport writes dir atomically (replacing it when replace is set)
// with the report of several RL runs together: rl.md, rl.html and the
// figures as PNG and SVG.
func WriteRLReport(dir string, runs []*RLResult, replace bool) error {
	files, err := rlReportFiles(runs)
	if err != nil {
		return err
	}
	if err := atomicdir.Write(dir, replace, func(tmp string) error { return report.WriteFiles(tmp, files) }); err != nil {
		return fmt.Errorf("rl report: writing %s: %w", dir, err)
	}
	return nil
}

// repetitionCell shows an evaluation's repetition shares by words and by
// stems ("–" for either in runs written before it was measured).
func repetitionCell(words, stems *float64) string {
	cell := func(r *float64) string {
		if r == nil {
			return "–"
		}
		return fmt.Sprintf("%.3f", *r)
	}
	return cell(words) + " / " + cell(stems)
}
