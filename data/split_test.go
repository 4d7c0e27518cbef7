package data

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func makePairs(n int) []Pair {
	ps := make([]Pair, n)
	for i := range ps {
		ps[i] = Pair{ID: i, Prompt: fmt.Sprintf("p%d", i/2), Chosen: fmt.Sprintf(" good %d", i), Rejected: fmt.Sprintf(" bad %d", i)}
	}
	return ps
}

func ids(ps []Pair) []int {
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestSplit(t *testing.T) {
	ps := makePairs(10000)
	tr, dv, te, err := Split(ps, 0.1, 0.2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr)+len(dv)+len(te) != len(ps) {
		t.Fatalf("split sizes %d+%d+%d != %d", len(tr), len(dv), len(te), len(ps))
	}
	seen := map[int]int{}
	for k, part := range [][]Pair{tr, dv, te} {
		for _, p := range part {
			if prev, ok := seen[p.ID]; ok {
				t.Fatalf("pair %d in parts %d and %d", p.ID, prev, k)
			}
			seen[p.ID] = k
		}
	}
	// Binomial sizes: 10000 * 0.1 = 1000 +- 3 sd (30).
	if len(dv) < 900 || len(dv) > 1100 || len(te) < 1870 || len(te) > 2130 {
		t.Errorf("sizes dev %d test %d far from 1000/2000", len(dv), len(te))
	}
	// Stable: independent of order, of other records and of corruption.
	shuffled := slices.Clone(ps)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	shuffled, _ = Corrupt(shuffled[:5000], 0.3, 9)
	tr2, dv2, te2, _ := Split(shuffled, 0.1, 0.2, 42)
	for k, part := range [][]Pair{tr2, dv2, te2} {
		for _, p := range part {
			if seen[p.ID] != k {
				t.Fatalf("pair %d moved from part %d to %d after shuffle/subset/corruption", p.ID, seen[p.ID], k)
			}
		}
	}
	// Deterministic; another seed gives another split.
	tr3, _, _, _ := Split(ps, 0.1, 0.2, 42)
	if !slices.Equal(ids(tr), ids(tr3)) {
		t.Error("same seed, different split")
	}
	tr4, _, _, _ := Split(ps, 0.1, 0.2, 43)
	if slices.Equal(ids(tr), ids(tr4)) {
		t.Error("different seed, same split")
	}
	for _, bad := range [][2]float64{{-0.1, 0}, {0.6, 0.5}} {
		if _, _, _, err := Split(ps, bad[0], bad[1], 1); err == nil {
			t.Errorf("fractions %v: want error", bad)
		}
	}
}

func TestCorrupt(t *testing.T) {
	ps := makePairs(1001)
	orig := slices.Clone(ps)
	for _, rate := range []float64{0, 0.1, 0.25, 0.5, 1} {
		c, err := Corrupt(ps, rate, 7)
		if err != nil {
			t.Fatal(err)
		}
		want := FlipCount(rate, len(ps))
		if got := CountFlipped(c); got != want {
			t.Errorf("rate %v: flipped %d, want %d", rate, got, want)
		}
		for i, p := range c {
			oc, or := p.Original()
			if oc != orig[i].Chosen || or != orig[i].Rejected {
				t.Fatalf("rate %v pair %d: Original() does not restore the clean label", rate, i)
			}
			if p.Flipped != (p.Chosen == orig[i].Rejected) {
				t.Fatalf("rate %v pair %d: Flipped flag disagrees with the swap", rate, i)
			}
		}
	}
	if !slices.Equal(ps, orig) {
		t.Error("Corrupt modified its input")
	}
	if FlipCount(0.25, 1001) != 250 || FlipCount(0.1, 1005) != 101 {
		t.Errorf("FlipCount rounding: %d %d", FlipCount(0.25, 1001), FlipCount(0.1, 1005))
	}
	a, _ := Corrupt(ps, 0.2, 7)
	b, _ := Corrupt(ps, 0.2, 7)
	if !slices.Equal(a, b) {
		t.Error("same seed, different corruption")
	}
	d, _ := Corrupt(ps, 0.2, 8)
	if slices.Equal(a, d) {
		t.Error("different seed, same corruption")
	}
	// Nested: pairs flipped at 10% are flipped at 20% too.
	lo, _ := Corrupt(ps, 0.1, 7)
	for i := range lo {
		if lo[i].Flipped && !a[i].Flipped {
			t.Fatalf("pair %d flipped at 10%% but not at 20%%", i)
		}
	}
	// Corrupting twice with the same seed and rate undoes it.
	back, _ := Corrupt(a, 0.2, 7)
	if !slices.Equal(back, ps) {
		t.Error("double corruption does not restore the data")
	}
	if _, err := Corrupt(ps, 1.5, 1); err == nil {
		t.Error("rate 1.5: want error")
	}
}
