package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/warm-rm/warm/experiment"
	"github.com/warm-rm/warm/internal/report"
	"github.com/warm-rm/warm/policy"
)

// Row is one model of the demo's table: accuracy (ties count as wrong) on
// the in-distribution and out-of-distribution test sets, and agreement
// with the flipped labels of the corrupted training pairs (memorisation:
// lower is better).
type Row struct {
	Name                 string
	ID, OOD, Flipped     float64
	IDSE, OODSE, FlipSE  float64
	MsPer1000, CostRatio float64 // scoring cost, and its ratio to WA's
}

// Table returns the rows: the members in rank order, then WA(M), ENS(M).
func (r *Result) Table() []Row {
	res := r.Experiment
	wa, ens := r.names()
	names := make([]string, len(res.Members))
	for _, m := range res.Members {
		if m.Rank >= 0 && m.Rank < len(names) {
			names[m.Rank] = m.Name
		}
	}
	var rows []Row
	cost := r.costs()
	for _, n := range append(names, wa, ens) {
		e := res.Entry(n)
		if n == "" || e == nil {
			continue
		}
		row := Row{Name: n, MsPer1000: cost(n)}
		if x, ok := e.Result(experiment.SetIDTest); ok {
			row.ID, row.IDSE = x.Accuracy, x.StdErr
		}
		if x, ok := e.Result(experiment.SetOODTest); ok {
			row.OOD, row.OODSE = x.Accuracy, x.StdErr
		}
		if x, ok := e.Result(experiment.SetTrainFlipped); ok {
			row.Flipped, row.FlipSE = x.Accuracy, x.StdErr
		}
		if cost(wa) > 0 {
			row.CostRatio = cost(n) / cost(wa)
		}
		rows = append(rows, row)
	}
	return rows
}

// costs returns the scoring cost of a model by name: the evaluation times
// ENS(M) and one model ("WA"), which is also what a member costs.
func (r *Result) costs() func(name string) float64 {
	by := map[string]float64{}
	for _, c := range r.Experiment.Costs {
		by[c.Name] = c.MsPer1000Pairs
	}
	return func(name string) float64 {
		if ms, ok := by[name]; ok {
			return ms
		}
		return by["WA"]
	}
}

// Verdict says, from the numbers, what the demo showed: WA(M) against the
// best member and ENS(M) out of distribution, memorisation of flipped
// labels, cost, and best-of-N under the gold reward.
func (r *Result) Verdict() []string {
	res := r.Experiment
	wa, ens := r.names()
	best := res.BestMember()
	cmp := func(a, b, set string) string {
		c, ok := res.Comparison(a, b, set)
		if !ok {
			return "not evaluated"
		}
		return fmt.Sprintf("%s %s (%+.3f ± %.3f)", c.Relation(), b, c.Diff, c.StdErr)
	}
	out := []string{
		fmt.Sprintf("Out of distribution, %s is %s and %s.", wa, cmp(wa, best, experiment.SetOODTest), cmp(wa, ens, experiment.SetOODTest)),
		fmt.Sprintf("In distribution, %s is %s and %s.", wa, cmp(wa, best, experiment.SetIDTest), cmp(wa, ens, experiment.SetIDTest)),
	}
	if c, ok := res.Comparison(wa, ens, experiment.SetTrainFlipped); ok {
		// Agreeing more with flipped labels is memorising more.
		what := "memorises the flipped training labels " + map[string]string{
			"better than": "more than", "worse than": "less than", "level with": "about as much as"}[c.Relation()]
		out = append(out, fmt.Sprintf("%s %s %s (agreement with the flipped label %+.3f ± %.3f; the paper's Obs. 3: less).", wa, what, ens, c.Diff, c.StdErr))
	}
	for _, e := range res.ErrorCorrelation {
		if e.Set == experiment.SetOODTest {
			out = append(out, fmt.Sprintf("The members' errors on %s correlate %.2f on average (over %d member pairs): averaging removes only the errors they do not share.", e.Set, e.Mean, e.Pairs))
		}
	}
	cost := r.costs()
	cwa, cens := cost(wa), cost(ens)
	if cwa > 0 && cens > 0 {
		out = append(out, fmt.Sprintf("Scoring 1,000 pairs took %.0f ms with %s and %.0f ms with %s (%.1f×): one model's cost, not %d.", cwa, wa, cens, ens, cens/cwa, r.M))
	}
	if r.BoN != nil {
		n := len(r.BoN.Ns) - 1
		line := fmt.Sprintf("Best-of-%d from the SFT policy, judged by the gold reward:", r.BoN.Ns[n])
		for _, c := range r.BoN.Curves {
			line += fmt.Sprintf(" %s %.2f ± %.2f;", c.Reward, c.Control[n], c.ControlCI[n])
		}
		out = append(out, line+fmt.Sprintf(" (one SFT sample: %.2f).", r.BoN.Curves[0].Control[0]))
		if me := r.BoN.MemberErrors; me != nil {
			out = append(out, fmt.Sprintf("On the SFT policy's own samples the members agree with gold on %s of sample pairs and their errors correlate %.2f.", agreeRange(me.Agreement), me.Correlation))
		}
		var hacked, gaining []string
		for _, c := range r.BoN.Curves {
			if c.Control[n] < c.Control[0] {
				hacked = append(hacked, c.Reward)
			} else {
				gaining = append(gaining, c.Reward)
			}
		}
		switch {
		case len(gaining) == 0:
			out = append(out, "Every proxy is hacked on the SFT policy's samples: the gold reward of the pick falls as N grows, WARM's included (see bon/bon.html for each proxy's correlation with gold and with length).")
		case len(hacked) > 0:
			out = append(out, fmt.Sprintf("Hacked (the gold reward of the pick falls as N grows): %s; not: %s.", strings.Join(hacked, ", "), strings.Join(gaining, ", ")))
		}
	}
	return out
}

// writeReport writes DIR/demo (demo.html, demo.md, figures).
func writeReport(r *Result) error {
	rows := r.Table()
	acc := report.Table{
		Caption: "Accuracy on pairs (± binomial standard error; ties count as wrong). Flipped: agreement with the corrupted label on the training pairs whose label was flipped, i.e. memorisation (lower is better). Cost: wall time to score 1,000 pairs.",
		Head:    []string{"model", "ID test", "OOD test", "train flipped", "ms / 1,000 pairs"},
	}
	for _, x := range rows {
		acc.Rows = append(acc.Rows, []string{x.Name, fmt.Sprintf("%.3f ± %.3f", x.ID, x.IDSE), fmt.Sprintf("%.3f ± %.3f", x.OOD, x.OODSE),
			fmt.Sprintf("%.3f ± %.3f", x.Flipped, x.FlipSE), fmt.Sprintf("%.0f (%.1f× WA)", x.MsPer1000, x.CostRatio)})
	}
	var stages []string
	for _, s := range r.Stages {
		stages = append(stages, fmt.Sprintf("%s %s", s.Name, s.Wall.Round(time.Second)))
	}
	intro := []string{fmt.Sprintf("Produced by `warm demo` in %s (%s). The full experiment report is `report/report.html`, best-of-N's `bon/bon.html`.", r.Wall.Round(time.Second), strings.Join(stages, "; "))}
	d := &report.Doc{
		Title:    fmt.Sprintf("warm demo: WARM(%d) on the synthetic task", r.M),
		Verdict:  r.Verdict(),
		Headline: experiment.HeadlineFigure(r.Experiment),
		Intro:    append(intro, r.Notes...),
		Sections: []report.Section{
			{Title: "Members, WA and ENS", Tables: []report.Table{acc}},
			{Title: "Best-of-N against the gold reward", Text: []string{"The gold reward of the pick under each proxy reward as N grows (95% intervals over prompts); a proxy that is hacked makes the curve fall."}, Figures: policy.BoNFigures(r.BoN)},
		},
		Footer: "Numbers: `report/results.json` and `bon/bon.json`.",
	}
	files, err := d.Files("demo")
	if err != nil {
		return err
	}
	dir := filepath.Dir(r.HTML)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return report.WriteFiles(dir, files)
}

// agreeRange formats the smallest and largest of xs.
func agreeRange(xs []float64) string {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = min(lo, x), max(hi, x)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}
