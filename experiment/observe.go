package experiment

import (
	"fmt"
	"math"
	"strings"
)

// Observation is one of the paper's claims checked against the results.
type Observation struct {
	ID       string `json:"id"`
	Claim    string `json:"claim"`
	Verdict  string `json:"verdict"` // "holds", "holds within noise", "does not hold", "not measured"
	Evidence string `json:"evidence"`
}

const (
	holds      = "holds"
	withinNois = "holds within noise"
	notHold    = "does not hold"
	notMeas    = "not measured"
)

// Observe checks the paper's observations on r. Differences are judged
// against two standard errors of the paired per-example differences.
func Observe(r *Results) []Observation {
	var out []Observation
	// Obs. 1: WA >= Diag along LMC curves (interior points).
	o1 := Observation{ID: "Obs.1", Claim: "WA ≥ Diag along the LMC curves (weight interpolation does at least as well as the line between the endpoints)"}
	if len(r.LMC) == 0 {
		o1.Verdict, o1.Evidence = notMeas, "no LMC curves (the sweep was planned without the LMC members)"
	} else {
		var ev []string
		allPos, anyNeg := true, false
		for _, c := range r.LMC {
			var sum, minGap float64
			minGap = math.Inf(1)
			n := 0
			for i := 1; i+1 < len(c.Lambdas); i++ {
				g := c.WA[i] - c.Diag[i]
				sum += g
				minGap = math.Min(minGap, g)
				n++
			}
			if n == 0 {
				continue
			}
			mean := sum / float64(n)
			if mean < 0 {
				allPos = false
			}
			if minGap < -0.02 {
				anyNeg = true
			}
			ev = append(ev, fmt.Sprintf("%s on %s: mean WA−Diag %+.3f (min %+.3f)", c.Kind, c.Set, mean, minGap))
		}
		switch {
		case allPos && !anyNeg:
			o1.Verdict = holds
		case allPos:
			o1.Verdict = withinNois
		default:
			o1.Verdict = notHold
		}
		o1.Evidence = strings.Join(ev, "; ")
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
	// Obs. 2: WA ≈ ENS.
	o2 := Observation{ID: "Obs.2", Claim: fmt.Sprintf("WA ≈ ENS (%s against %s)", wa, ens)}
	if M == 0 {
		o2.Verdict, o2.Evidence = notMeas, "fewer than two members"
	} else {
		var ev []string
		close := true
		for _, s := range r.Sets {
			if c, ok := cmp(wa, ens, s.Name); ok {
				ev = append(ev, fmtC(c))
				if math.Abs(c.Diff) > 2*c.StdErr && math.Abs(c.Diff) > 0.01 {
					close = false
				}
			}
		}
		o2.Verdict = map[bool]string{true: holds, false: notHold}[close]
		o2.Evidence = strings.Join(ev, "; ") + " (≈: within 2 standard errors or 1 point)"
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
			o.Verdict, o.Evidence = notMeas, "set "+c.set+" not evaluated"
		} else {
			o.Verdict = verdict(cc, c.sign, c.strict)
			o.Evidence = fmtC(cc)
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
		o4.Verdict, o4.Evidence = notMeas, "no WA(6) or no ood_test set"
	}
	out = append(out, o4)
	// More members help or plateau.
	o5 := Observation{ID: "Obs.5", Claim: "More members help or plateau (WA(M) out of distribution, M increasing)"}
	var xs []string
	var accs, ses []float64
	for _, e := range r.Entries {
		if e.Kind == "wa" {
			if res, ok := e.Result("ood_test"); ok {
				xs = append(xs, fmt.Sprintf("M=%d %.4f±%.4f", e.M, res.Accuracy, res.StdErr))
				accs = append(accs, res.Accuracy)
				ses = append(ses, res.StdErr)
			}
		}
	}
	if len(accs) < 2 {
		o5.Verdict, o5.Evidence = notMeas, "fewer than two ensemble sizes"
	} else {
		o5.Verdict = holds
		for i := 1; i < len(accs); i++ {
			switch {
			case accs[i] < accs[i-1]-2*math.Max(ses[i], ses[i-1]):
				o5.Verdict = notHold
			case accs[i] < accs[i-1] && o5.Verdict == holds:
				o5.Verdict = withinNois
			}
		}
		o5.Evidence = strings.Join(xs, ", ")
	}
	out = append(out, o5)
	return out
}

// verdict judges a paired difference whose expected sign is sign: strict
// claims (A better/worse) need the difference beyond 2 standard errors.
func verdict(c Comparison, sign float64, strict bool) string {
	d := c.Diff * sign
	switch {
	case d > 2*c.StdErr:
		return holds
	case d >= 0 && !strict:
		return holds
	case d > -2*c.StdErr:
		if strict && d <= 0 {
			return notHold + " (no significant difference)"
		}
		return withinNois
	default:
		return notHold
	}
}

func largestM(r *Results) int {
	M := 0
	for _, e := range r.Entries {
		if e.Kind == "wa" && e.M > M {
			M = e.M
		}
	}
	return M
}
