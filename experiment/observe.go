package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/warm-rm/warm/sweep"
)

// Observation is one of the paper's claims checked against the results.
type Observation struct {
	ID       string  `json:"id"`
	Claim    string  `json:"claim"`
	Verdict  Verdict `json:"verdict"`
	Evidence string  `json:"evidence"`
}

// Verdict is how an observation fared; its values are the strings stored in
// results.json.
type Verdict string

// The verdicts. A strict claim (A better or worse than B) whose difference
// is within two standard errors of zero gets NoSignificantDifference.
const (
	Holds                   Verdict = "holds"
	HoldsWithinNoise        Verdict = "holds within noise"
	DoesNotHold             Verdict = "does not hold"
	NoSignificantDifference Verdict = "does not hold (no significant difference)"
	NotMeasured             Verdict = "not measured"
)

// Observe checks the paper's observations on r. Differences are judged
// against two standard errors of the paired per-example differences.
func Observe(r *Results) []Observation {
	var out []Observation
	// Obs. 1: WA >= Diag along the LMC curves, on every set but the
	// flipped training pairs: there the paper expects (and Obs.3a wants)
	// WA below Diag, less memorisation, so those curves are Obs.3a's.
	o1 := Observation{ID: "Obs.1", Claim: "WA ≥ Diag along the LMC curves (weight interpolation does at least as well as the line between the endpoints; flipped training pairs excluded: see Obs.3a)"}
	var ev1, evFlip []string
	judged, below, negMean := 0, false, false
	for _, c := range r.LMC {
		g, ok := lmcGap(c)
		if !ok {
			continue
		}
		if c.Set == SetTrainFlipped {
			evFlip = append(evFlip, g.String(c))
			continue
		}
		judged++
		ev1 = append(ev1, g.String(c))
		below = below || g.below
		negMean = negMean || g.mean < 0
	}
	switch {
	case judged == 0:
		o1.Verdict, o1.Evidence = NotMeasured, "no LMC curves (the sweep was planned without the LMC members)"
	case below:
		o1.Verdict = DoesNotHold
	case negMean:
		o1.Verdict = HoldsWithinNoise
	default:
		o1.Verdict = Holds
	}
	if judged > 0 {
		o1.Evidence = strings.Join(ev1, "; ") + " (a curve fails where WA is below Diag by more than 2 standard errors and 1 point)"
	}
	out = append(out, o1)

	M := largestM(r)
	wa, ens := fmt.Sprintf("WA(%d)", M), fmt.Sprintf("ENS(%d)", M)
	cmp := func(a, b, set string) (Comparison, bool) {
		for _, c := range r.Comparisons {
			if c.A == a && c.B == b && c.Set == set {
				return c, true
			}
		}
		return Comparison{}, false
	}
	fmtC := func(c Comparison) string {
		return fmt.Sprintf("%s − %s on %s: %+.4f ± %.4f", c.A, c.B, c.Set, c.Diff, c.StdErr)
	}
	// Obs. 2: WA ≈ ENS, judged in distribution (the training sets are
	// Obs.3a/b's, out of distribution Obs.3c's); the other sets are listed.
	o2 := Observation{ID: "Obs.2", Claim: fmt.Sprintf("WA ≈ ENS in distribution (%s against %s on the ID test set)", wa, ens)}
	if c, ok := cmp(wa, ens, SetIDTest); M == 0 || !ok {
		o2.Verdict, o2.Evidence = NotMeasured, "fewer than two members, or no ID test set"
	} else {
		close := math.Abs(c.Diff) <= 2*c.StdErr || math.Abs(c.Diff) <= 0.01
		o2.Verdict = map[bool]Verdict{true: Holds, false: DoesNotHold}[close]
		ev := []string{fmtC(c) + " (≈: within 2 standard errors or 1 point)"}
		for _, s := range r.Sets {
			if s.Name == SetIDTest {
				continue
			}
			if c, ok := cmp(wa, ens, s.Name); ok {
				ev = append(ev, fmtC(c))
			}
		}
		o2.Evidence = strings.Join(ev, "; ")
	}
	out = append(out, o2)

	// Obs. 3: less memorisation, no better fit of clean labels, better OOD.
	type claim struct {
		id, set, text string
		sign          float64 // expected sign of WA − ENS
		strict        bool
	}
	for _, c := range []claim{
		{"Obs.3a", SetTrainFlipped, "WA < ENS on corrupted training pairs scored against the flipped label (WA memorises less)", -1, true},
		{"Obs.3b", SetTrainClean, "WA ≤ ENS on clean training pairs", -1, false},
		{"Obs.3c", "ood_test", "WA ≥ ENS out of distribution", +1, false},
	} {
		o := Observation{ID: c.id, Claim: c.text}
		cc, ok := cmp(wa, ens, c.set)
		if !ok {
			o.Verdict, o.Evidence = NotMeasured, "set "+c.set+" not evaluated"
		} else {
			o.Verdict = verdict(cc, c.sign, c.strict)
			o.Evidence = fmtC(cc)
			if c.set == SetTrainFlipped && len(evFlip) > 0 {
				o.Evidence += "; along the LMC curves on the flipped pairs (WA below Diag is less memorisation): " + strings.Join(evFlip, "; ")
			}
		}
		out = append(out, o)
	}
	// WARM M=6 beats the best individual OOD.
	m6 := min(6, M)
	best := ""
	for _, m := range r.Members {
		if m.Rank == 0 {
			best = m.Name
		}
	}
	o4 := Observation{ID: "Obs.4", Claim: fmt.Sprintf("WARM (WA(%d)) beats the best individual member (%s, ranked on %s) out of distribution", m6, best, r.RankSet)}
	if cc, ok := cmp(fmt.Sprintf("WA(%d)", m6), best, "ood_test"); ok {
		o4.Verdict, o4.Evidence = verdict(cc, +1, true), fmtC(cc)
	} else {
		o4.Verdict, o4.Evidence = NotMeasured, "no WA(6) or no ood_test set"
	}
	out = append(out, o4)
	// More members help or plateau.
	o5 := Observation{ID: "Obs.5", Claim: "More members help or plateau (WA(M) out of distribution, M increasing)"}
	var xs []string
	var accs, ses []float64
	for _, e := range r.Entries {
		if e.Kind == sweep.KindWA {
			if res, ok := e.Result("ood_test"); ok {
				xs = append(xs, fmt.Sprintf("M=%d %.4f±%.4f", e.M, res.Accuracy, res.StdErr))
				accs = append(accs, res.Accuracy)
				ses = append(ses, res.StdErr)
			}
		}
	}
	if len(accs) < 2 {
		o5.Verdict, o5.Evidence = NotMeasured, "fewer than two ensemble sizes"
	} else {
		o5.Verdict = Holds
		for i := 1; i < len(accs); i++ {
			switch {
			case accs[i] < accs[i-1]-2*math.Max(ses[i], ses[i-1]):
				o5.Verdict = DoesNotHold
			case accs[i] < accs[i-1] && o5.Verdict == Holds:
				o5.Verdict = HoldsWithinNoise
			}
		}
		o5.Evidence = strings.Join(xs, ", ")
	}
	out = append(out, o5)
	return out
}

// gap summarises WA − Diag over the interior points of an LMC curve.
type gap struct {
	mean, min float64
	// below: some point has WA under Diag by more than 2 standard errors
	// (when measured) and more than 1 point.
	below bool
}

func lmcGap(c Curve) (gap, bool) {
	g := gap{min: math.Inf(1)}
	n := 0
	for i := 1; i+1 < len(c.Lambdas) && i < len(c.WA) && i < len(c.Diag); i++ {
		d := c.WA[i] - c.Diag[i]
		se := 0.0
		if i < len(c.WADiagSE) {
			se = c.WADiagSE[i]
		}
		g.mean += d
		g.min = math.Min(g.min, d)
		if d < -2*se && d < -0.01 {
			g.below = true
		}
		n++
	}
	if n == 0 {
		return gap{}, false
	}
	g.mean /= float64(n)
	return g, true
}

func (g gap) String(c Curve) string {
	return fmt.Sprintf("%s on %s: mean WA−Diag %+.3f (min %+.3f)", c.Kind, c.Set, g.mean, g.min)
}

// verdict judges a paired difference whose expected sign is sign: strict
// claims (A better/worse) need the difference beyond 2 standard errors.
func verdict(c Comparison, sign float64, strict bool) Verdict {
	d := c.Diff * sign
	switch {
	case d > 2*c.StdErr:
		return Holds
	case d >= 0 && !strict:
		return Holds
	case d > -2*c.StdErr:
		if strict && d <= 0 {
			return NoSignificantDifference
		}
		return HoldsWithinNoise
	default:
		return DoesNotHold
	}
}

func largestM(r *Results) int {
	M := 0
	for _, e := range r.Entries {
		if e.Kind == sweep.KindWA && e.M > M {
			M = e.M
		}
	}
	return M
}
