package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// corruptStream is the PCG stream used by Corrupt, so that corruption draws
// never coincide with other uses of the same seed.
const corruptStream = 0xc0441e47

// FlipCount returns how many of n pairs Corrupt flips at the given rate:
// round(rate*n), halves away from zero.
func FlipCount(rate float64, n int) int {
	return int(math.Round(rate * float64(n)))
}

// Corrupt returns a copy of pairs in which exactly FlipCount(rate, len(pairs))
// pairs, chosen uniformly at random, have their label flipped: Chosen and
// Rejected are swapped and Flipped is toggled (so corrupting an already
// flipped pair restores it; Flipped always means "differs from the original
// label"). The input is not modified.
//
// The choice depends only on seed and len(pairs): every member of a sweep
// that corrupts the same data with the same seed flips the same pairs. The
// flipped sets are nested: with one seed, the pairs flipped at a lower rate
// are a subset of those flipped at a higher rate (they are prefixes of one
// random permutation).
func Corrupt(pairs []Pair, rate float64, seed uint64) ([]Pair, error) {
	if math.IsNaN(rate) || rate < 0 || rate > 1 {
		return nil, fmt.Errorf("corrupt: rate %v outside [0, 1]", rate)
	}
	out := make([]Pair, len(pairs))
	copy(out, pairs)
	k := FlipCount(rate, len(pairs))
	if k == 0 {
		return out, nil
	}
	rng := rand.New(rand.NewPCG(seed, corruptStream))
	for _, i := range rng.Perm(len(pairs))[:k] {
		p := &out[i]
		p.Chosen, p.Rejected = p.Rejected, p.Chosen
		p.Flipped = !p.Flipped
	}
	return out, nil
}

// CountFlipped returns the number of pairs whose label is flipped.
func CountFlipped(pairs []Pair) int {
	n := 0
	for _, p := range pairs {
		if p.Flipped {
			n++
		}
	}
	return n
}
