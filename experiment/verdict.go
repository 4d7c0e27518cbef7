package experiment

import (
	"fmt"
	"github.com/warm-rm/warm/internal/report"
	"strings"

	"github.com/warm-rm/warm/sweep"
)

// Relation names how the paired difference a − b compares a with b:
// "better than" or "worse than" beyond 2 standard errors, "level with"
// otherwise (the rule every verdict uses).
func (c Comparison) Relation() string { return relation(c) }

// relation is Comparison.Relation.
func relation(c Comparison) string {
	switch {
	case c.Diff > 2*c.StdErr:
		return "better than"
	case c.Diff < -2*c.StdErr:
		return "worse than"
	}
	return "level with"
}

// findComparison returns the paired comparison a − b on set.
func findComparison(r *Results, a, b, set string) (Comparison, bool) {
	for _, c := range r.Comparisons {
		if c.A == a && c.B == b && c.Set == set {
			return c, true
		}
	}
	return Comparison{}, false
}

// entryResult returns the result on set of the entry named name, if both
// exist.
func entryResult(r *Results, name, set string) (SetResult, bool) {
	e := r.Entry(name)
	if e == nil {
		return SetResult{}, false
	}
	return e.Result(set)
}

// bestMemberName returns the member ranked first ("" when none is).
func bestMemberName(r *Results) string {
	for _, m := range r.Members {
		if m.Rank == 0 {
			return m.Name
		}
	}
	return ""
}

// Summary returns the sentences a report opens on, computed from r: how
// WA(M) compares with ENS(M) and with the best member (M the largest
// evaluated), in distribution (SetIDTest) and out of it (SetOODTest), with
// the accuracies, the paired differences and their standard errors. A
// difference counts beyond 2 standard errors.
func Summary(r *Results) []string {
	M := largestM(r)
	best := bestMemberName(r)
	if M == 0 || best == "" {
		return []string{"No WA(M) or ENS(M) was evaluated (the sweep has fewer than two ranked members): nothing to compare."}
	}
	wa, ens := sweep.WAName(M), sweep.ENSName(M)
	var summary, details []string
	for _, set := range []struct{ name, where string }{{SetIDTest, "in distribution"}, {SetOODTest, "out of distribution"}} {
		cE, okE := findComparison(r, wa, ens, set.name)
		cB, okB := findComparison(r, wa, best, set.name)
		rw, okW := entryResult(r, wa, set.name)
		re, okEn := entryResult(r, ens, set.name)
		rb, okBe := entryResult(r, best, set.name)
		if !okE || !okB || !okW || !okEn || !okBe {
			summary = append(summary, fmt.Sprintf("%s (%s) not evaluated", set.where, set.name))
			details = append(details, fmt.Sprintf("%s: not evaluated.", set.name))
			continue
		}
		summary = append(summary, fmt.Sprintf("%s (%s) WA is %s ENS and %s the best member", set.where, set.name, relation(cE), relation(cB)))
		details = append(details, fmt.Sprintf("%s: %s %.4f ± %.4f, %s %.4f ± %.4f, %s %.4f ± %.4f; paired %s − %s %+.4f ± %.4f, %s − %s %+.4f ± %.4f.",
			set.name, wa, rw.Accuracy, rw.StdErr, ens, re.Accuracy, re.StdErr, best, rb.Accuracy, rb.StdErr,
			wa, ens, cE.Diff, cE.StdErr, wa, best, cB.Diff, cB.StdErr))
	}
	head := fmt.Sprintf("%s against %s and the best member (%s, ranked on %s): %s (better or worse: a paired difference beyond 2 standard errors).",
		wa, ens, best, r.RankSet, strings.Join(summary, "; "))
	return append([]string{head}, details...)
}

// HeadlineFigure is the figure a report opens on: accuracy against M, WA
// and ENS, out of and in distribution (nil when nothing was evaluated).
func HeadlineFigure(r *Results) *report.Figure { return headline(r) }

// Comparison returns the paired comparison a − b on set, if evaluated.
func (r *Results) Comparison(a, b, set string) (Comparison, bool) {
	return findComparison(r, a, b, set)
}

// BestMember returns the name of the member ranked first ("" if none).
func (r *Results) BestMember() string { return bestMemberName(r) }
