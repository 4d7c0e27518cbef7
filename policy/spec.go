package policy

import (
	"fmt"
	"strings"
)

// splitSpec splits a reward spec (Rewards.Parse's grammar) into its kind
// and argument: "warm:6" is ("warm", "6"), "best" is ("best", "").
func splitSpec(spec string) (kind, arg string) {
	kind, arg, _ = strings.Cut(spec, ":")
	return kind, arg
}

// DefaultComparisons returns best-of-N's default comparisons among the
// reward specs given, as "A=B" specs: every reward against best, and
// WARM(M) (warm:M) against ENS(M) (ens:M).
func DefaultComparisons(specs []string) []string {
	var out []string
	has := map[string]bool{}
	for _, s := range specs {
		has[s] = true
	}
	for _, s := range specs {
		if s != "best" && has["best"] {
			out = append(out, s+"=best")
		}
		if kind, m := splitSpec(s); kind == "warm" && has["ens:"+m] {
			out = append(out, s+"=ens:"+m)
		}
	}
	return out
}

// ParseComparisons resolves comparisons "A=B" between reward specs into
// pairs of reward names (BoNOptions.Compare); names maps each spec given
// as a proxy reward to its reward's name.
func ParseComparisons(compare []string, names map[string]string) ([][2]string, error) {
	var out [][2]string
	for _, c := range compare {
		a, b, ok := strings.Cut(c, "=")
		if !ok {
			return nil, fmt.Errorf("comparison %q: want A=B (reward specs)", c)
		}
		na, oka := names[a]
		nb, okb := names[b]
		if !oka || !okb {
			return nil, fmt.Errorf("comparison %q: both sides must be among the rewards", c)
		}
		out = append(out, [2]string{na, nb})
	}
	return out, nil
}
