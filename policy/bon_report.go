package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/warm-rm/warm/internal/atomicdir"
	"github.com/warm-rm/warm/internal/report"
)

// bonKL is the x axis of every best-of-N figure.
const bonKL = "KL_BoN = log N − (N−1)/N"

// BoNFigures draws control reward and proxy reward (in SFT standard
// deviations) against KL_BoN for every proxy, the control reward first (the
// headline), and the win rates of the comparisons.
func BoNFigures(r *BoNResult) []report.Figure {
	ctl := report.Figure{Name: "bon_control", Title: fmt.Sprintf("best-of-N: %s reward of the pick (%d prompts, 95%% CI)", r.Control, r.Prompts),
		XLabel: bonKL, YLabel: r.Control + " reward"}
	prx := report.Figure{Name: "bon_proxy", Title: "best-of-N: proxy reward of the pick",
		XLabel: bonKL, YLabel: "proxy reward (SFT std devs above SFT mean)"}
	vs := report.Figure{Name: "bon_vs_random", Title: "best-of-N: win rate of the pick against a random SFT sample",
		XLabel: bonKL, YLabel: "win rate (" + r.Control + ")"}
	for _, c := range r.Curves {
		ctl.Series = append(ctl.Series, report.Series{Label: c.Reward, X: r.KL, Y: c.Control, Err: c.ControlCI})
		prx.Series = append(prx.Series, report.Series{Label: c.Reward, X: r.KL, Y: c.ProxyZ})
		vs.Series = append(vs.Series, report.Series{Label: c.Reward, X: r.KL, Y: c.VsRandom})
	}
	figs := []report.Figure{ctl, prx, vs}
	if len(r.Comparisons) > 0 {
		wr := report.Figure{Name: "bon_winrate", Title: "best-of-N: win rate of one reward's pick against another's",
			XLabel: bonKL, YLabel: "win rate (" + r.Control + ", ties split)"}
		for _, c := range r.Comparisons {
			se := make([]float64, len(c.WinRateSE))
			for i, v := range c.WinRateSE {
				se[i] = z95 * v
			}
			wr.Series = append(wr.Series, report.Series{Label: c.A + " vs " + c.B, X: r.KL, Y: c.WinRate, Err: se})
		}
		wr.Series = append(wr.Series, report.Constant("even", r.KL, 0.5, len(wr.Series)+1))
		figs = append(figs, wr)
	}
	return figs
}

// BoNHacking is what a best-of-N curve says about reward hacking: the N at
// which the pick's control reward peaks, and whether it then falls (beyond
// 2 standard errors) while the proxy reward of the pick rises.
type BoNHacking struct {
	Reward string
	// PeakN is the N of the highest control reward and Drop the control
	// reward lost from there to the largest N; ProxyGain the proxy reward
	// (SFT standard deviations) gained meanwhile.
	PeakN           int
	Drop, ProxyGain float64
	Hacked          bool
}

// bonHacking analyses curve c of r.
func bonHacking(r *BoNResult, c BoNCurve) BoNHacking {
	h := BoNHacking{Reward: c.Reward}
	last := len(c.Control) - 1
	if last < 0 || len(r.Ns) <= last {
		return h
	}
	var pk int
	pk, h.Drop, h.ProxyGain, h.Hacked = fallFromPeak(c.Control, c.ProxyZ, func(pk, last int) float64 {
		if len(c.ControlCI) <= last {
			return 0
		}
		return math.Hypot(c.ControlCI[pk], c.ControlCI[last]) / z95
	})
	h.PeakN = r.Ns[pk]
	return h
}

// BoNVerdict returns the sentences the best-of-N report opens on, computed
// from r: which proxy's pick gets the highest control reward at the largest
// N, whether any proxy is hacked (the control reward of its pick falls
// while its proxy reward rises), and the paired comparisons at that N.
// Proxies named like the control reward are not ranked (they are the
// control itself).
func BoNVerdict(r *BoNResult) []string {
	if len(r.Ns) == 0 || len(r.Curves) == 0 {
		return []string{"No best-of-N curve was measured."}
	}
	last := len(r.Ns) - 1
	N := r.Ns[last]
	var ranked []BoNCurve
	for _, c := range r.Curves {
		if c.Reward != r.Control && len(c.Control) > last {
			ranked = append(ranked, c)
		}
	}
	if len(ranked) == 0 {
		ranked = r.Curves
	}
	top := 0
	for i, c := range ranked {
		if c.Control[last] > ranked[top].Control[last] {
			top = i
		}
	}
	var others []string
	for i, c := range ranked {
		if i != top {
			others = append(others, fmt.Sprintf("`%s` %.4f", c.Reward, c.Control[last]))
		}
	}
	t := ranked[top]
	first := fmt.Sprintf("At N = %d (the largest) the pick of `%s` has the highest %s reward, %.4f ± %.4f (95%% CI over %d prompts)",
		N, t.Reward, r.Control, t.Control[last], t.ControlCI[last], r.Prompts)
	if len(others) > 0 {
		first += ", against " + strings.Join(others, ", ")
	}
	first += fmt.Sprintf("; a single SFT sample scores %.4f.", r.SFTControl)

	var hacked []string
	for _, c := range r.Curves {
		if h := bonHacking(r, c); h.Hacked {
			hacked = append(hacked, fmt.Sprintf("`%s` (%s falls by %.4f from its peak at N = %d while the proxy rises %+.2f SFT std devs)", h.Reward, r.Control, h.Drop, h.PeakN, h.ProxyGain))
		}
	}
	second := fmt.Sprintf("No proxy is hacked: no pick's %s reward falls beyond 2 standard errors from its peak over N while its proxy reward rises.", r.Control)
	if len(hacked) > 0 {
		second = "Hacked: " + strings.Join(hacked, "; ") + "."
	}
	out := []string{first, second}
	var cmps []string
	for _, c := range r.Comparisons {
		if len(c.Diff) > last {
			cmps = append(cmps, fmt.Sprintf("`%s` − `%s` %+.4f ± %.4f (2 SE, paired over prompts), win rate %.3f ± %.3f", c.A, c.B, c.Diff[last], 2*c.DiffSE[last], c.WinRate[last], c.WinRateSE[last]))
		}
	}
	if len(cmps) > 0 {
		out = append(out, fmt.Sprintf("At N = %d, %s: %s.", N, r.Control, strings.Join(cmps, "; ")))
	}
	return out
}

// nTable returns a table with a row per N (and its KL_BoN when kl) and a
// column per reward, each cell from cell(curve, row).
func nTable(r *BoNResult, caption string, kl bool, cell func(c BoNCurve, j int) string) report.Table {
	t := report.Table{Caption: caption, Head: []string{"N"}}
	if kl {
		t.Head = append(t.Head, "KL_BoN")
	}
	for _, c := range r.Curves {
		t.Head = append(t.Head, c.Reward)
	}
	for j, N := range r.Ns {
		row := []string{fmt.Sprint(N)}
		if kl {
			row = append(row, fmt.Sprintf("%.3f", r.KL[j]))
		}
		for _, c := range r.Curves {
			row = append(row, cell(c, j))
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// bonDoc lays out the best-of-N report: verdict, the control-reward curve,
// the settings, then the tables and the other figures.
func bonDoc(r *BoNResult) *report.Doc {
	figs := BoNFigures(r)
	intro := fmt.Sprintf("Best-of-N from %s: %d prompts, %d samples each (+%d reference samples), control reward %s; ", r.Policy, r.Prompts, r.MaxN, r.RefSamples, r.Control) +
		fmt.Sprintf("sampling T=%g top-k %d top-p %g, max %d tokens, seed %d. A single SFT sample scores %.4f; %.1f%% of samples stopped with EOS. ", r.Sample.Temperature, r.Sample.TopK, r.Sample.TopP, r.Sample.MaxTokens, r.Sample.Seed, r.SFTControl, 100*r.StoppedFrac) +
		fmt.Sprintf("Generation: %d samples in %.1fs (%.1f samples/s).", r.Samples, r.GenerateSeconds, r.SamplesPerSec)
	corr := report.Table{Caption: "Within-prompt correlation of each proxy with the control reward and with length, over the SFT samples:",
		Head: []string{"reward", "corr(proxy, control)", "corr(proxy, length)"}}
	for _, c := range r.Curves {
		corr.Rows = append(corr.Rows, []string{c.Reward, fmtOpt(c.CorrControl), fmtOpt(c.CorrLength)})
	}
	curves := report.Section{Title: "Curves", Tables: []report.Table{
		nTable(r, "Control reward of the pick (mean over prompts ± 95% CI):", true, func(c BoNCurve, j int) string { return fmt.Sprintf("%.4f ± %.4f", c.Control[j], c.ControlCI[j]) }),
		nTable(r, "Proxy reward of the pick (SFT standard deviations above the SFT mean) / mean length in tokens:", false, func(c BoNCurve, j int) string { return fmt.Sprintf("%+.2f / %.1f", c.ProxyZ[j], c.Tokens[j]) }),
		corr,
		nTable(r, "Win rate of the pick against a random SFT sample (control reward, ties split):", false, func(c BoNCurve, j int) string { return fmt.Sprintf("%.3f ± %.3f", c.VsRandom[j], c.VsRandomSE[j]) }),
	}}
	d := &report.Doc{Title: "Best-of-N against " + r.Control, Verdict: BoNVerdict(r), Headline: &figs[0], Intro: []string{intro},
		Sections: []report.Section{curves}, Footer: "All numbers are in `bon.json`."}
	if len(r.Comparisons) > 0 {
		s := report.Section{Title: "Comparisons"}
		for _, c := range r.Comparisons {
			t := report.Table{Caption: fmt.Sprintf("%s against %s on the same samples: control difference (± 2 SE, paired over prompts), win rate of %s's pick (± SE), share of identical picks:", c.A, c.B, c.A),
				Head: []string{"N", "diff", "win rate", "same pick"}}
			for j, N := range r.Ns {
				t.Rows = append(t.Rows, []string{fmt.Sprint(N), fmt.Sprintf("%+.4f ± %.4f", c.Diff[j], 2*c.DiffSE[j]), fmt.Sprintf("%.3f ± %.3f", c.WinRate[j], c.WinRateSE[j]), fmt.Sprintf("%.2f", c.Same[j])})
			}
			s.Tables = append(s.Tables, t)
		}
		d.Sections = append(d.Sections, s)
	}
	if me := r.MemberErrors; me != nil {
		t := report.Table{Caption: fmt.Sprintf("Over the %d pairs of one prompt's samples whose control rewards differ: each member's agreement with the control's order; the members' errors correlate %.3f on average (averaging removes only the errors members do not share).", me.Pairs, me.Correlation),
			Head: []string{"member", "agreement with " + r.Control}}
		for i, m := range me.Members {
			t.Rows = append(t.Rows, []string{m, fmt.Sprintf("%.3f", me.Agreement[i])})
		}
		d.Sections = append(d.Sections, report.Section{Title: "The members on the policy's samples", Tables: []report.Table{t}})
	}
	d.Sections = append(d.Sections, report.Section{Title: "Figures", Figures: figs[1:]})
	return d
}

// BoNMarkdown renders a best-of-N result as Markdown: the verdict, the
// headline figure, then the tables.
func BoNMarkdown(r *BoNResult) string { return bonDoc(r).Markdown() }

// BoNFile is the name of best-of-N's results in its output directory.
const BoNFile = "bon.json"

// WriteBoN writes dir atomically (replacing it when replace is set) with
// bon.json, the report bon.md and bon.html, and the figures as PNG and SVG.
func WriteBoN(dir string, r *BoNResult, replace bool) error {
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bon: %w", err)
	}
	files, err := bonDoc(r).Files("bon")
	if err != nil {
		return fmt.Errorf("bon: %w", err)
	}
	files[BoNFile] = append(js, '\n')
	if err := atomicdir.Write(dir, replace, func(tmp string) error { return report.WriteFiles(tmp, files) }); err != nil {
		return fmt.Errorf("bon: writing %s: %w", dir, err)
	}
	return nil
}
