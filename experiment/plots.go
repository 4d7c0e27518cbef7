package experiment

import (
	"fmt"

	"github.com/warm-rm/warm/internal/report"
	"github.com/warm-rm/warm/sweep"
)

// Colours of the report's recurring lines (1-based indices into
// report.Palette): WA, ENS, the best member, Diag.
const (
	colorWA   = 1
	colorENS  = 2
	colorBest = 3
	colorDiag = 6
)

// lmcFigures draws the LMC curves.
func lmcFigures(r *Results) []report.Figure {
	var out []report.Figure
	for _, c := range r.LMC {
		out = append(out, report.Figure{Name: fmt.Sprintf("lmc_%s_%s", c.Kind, c.Set),
			Title: fmt.Sprintf("LMC (%s): %s → %s on %s", c.Kind, c.A, c.B, c.Set), XLabel: "λ", YLabel: "accuracy",
			Series: []report.Series{
				{Label: "WA (weights)", X: c.Lambdas, Y: c.WA, Color: colorWA},
				{Label: "ENS (predictions)", X: c.Lambdas, Y: c.ENS, Color: colorENS},
				{Label: "Diag", X: c.Lambdas, Y: c.Diag, Dashed: true, Color: colorDiag}}})
	}
	return out
}

// accuracyByM returns, on set, the M of every WA(M) and the accuracies of
// WA(M) and ENS(M).
func accuracyByM(r *Results, set string) (xs, wa, ens []float64) {
	for _, e := range r.Entries {
		res, ok := e.Result(set)
		if !ok {
			continue
		}
		switch e.Kind {
		case sweep.KindWA:
			xs = append(xs, float64(e.M))
			wa = append(wa, res.Accuracy)
		case sweep.KindENS:
			ens = append(ens, res.Accuracy)
		}
	}
	return xs, wa, ens
}

// mSeries returns the series of WA(M), ENS(M) and the best member against M
// on set, labelled with suffix ("" for none), dashed when dashed; false when
// the set has no WA(M).
func mSeries(r *Results, set, suffix string, dashed bool) ([]report.Series, bool) {
	xs, wa, ens := accuracyByM(r, set)
	if len(xs) == 0 || len(ens) != len(xs) {
		return nil, false
	}
	best := report.Constant("best member (rank set)"+suffix, xs, bestMember(r, set), colorBest)
	best.Dashed = true
	return []report.Series{
		{Label: "WA(M)" + suffix, X: xs, Y: wa, Dashed: dashed, Color: colorWA},
		{Label: "ENS(M)" + suffix, X: xs, Y: ens, Dashed: dashed, Color: colorENS},
		best,
	}, true
}

// headline is the report's first figure: accuracy against M of WA, ENS and
// the best member, in distribution (dashed) and out of it (solid); nil
// without WA(M) on either set.
func headline(r *Results) *report.Figure {
	f := report.Figure{Name: "headline", Title: fmt.Sprintf("accuracy against M: %s (solid) and %s (dashed)", SetOODTest, SetIDTest),
		XLabel: "M (members)", YLabel: "accuracy"}
	ood, okO := mSeries(r, SetOODTest, " "+SetOODTest, false)
	id, okI := mSeries(r, SetIDTest, " "+SetIDTest, true)
	if !okO && !okI {
		return nil
	}
	if okO {
		ood[2].Dashed = false
	}
	f.Series = append(ood, id...)
	return &f
}

// figures draws the LMC curves and the accuracy of WA and ENS against M.
func figures(r *Results) []report.Figure {
	out := lmcFigures(r)
	for _, s := range r.Sets {
		ss, ok := mSeries(r, s.Name, "", false)
		if !ok {
			continue
		}
		out = append(out, report.Figure{Name: "m_" + s.Name, Title: "accuracy against M on " + s.Name,
			XLabel: "M (members)", YLabel: "accuracy", Series: ss})
	}
	return out
}

// bestMember returns the accuracy on set of the member ranked first.
func bestMember(r *Results, set string) float64 {
	res, _ := entryResult(r, bestMemberName(r), set)
	return res.Accuracy
}
