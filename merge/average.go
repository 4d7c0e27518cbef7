package merge

import (
	"fmt"
	"math"

	"github.com/warm-rm/warm/kernels"
)

// AverageFloat32 sets dst to the weighted average of srcs, element by
// element, for in-process use on model parameter buffers (LMC sweeps,
// greedy soups, ENS/WA comparisons). It uses the same arithmetic as the
// file merge with float64 accumulation, so it agrees with it bit for bit.
//
// weights nil means uniform; otherwise there is one finite weight per src
// and they are normalised by their sum, which must not be 0. Negative
// weights are allowed here (extrapolation beyond the members). A src with
// weight 0 does not contribute (so λ=0 and λ=1 give a member exactly) but is
// still checked for NaN and infinity. dst may be one of srcs (same slice),
// but must not partially overlap one. Work is split over kernels.Threads()
// goroutines for large buffers.
//
// It returns an error for mismatched lengths, bad weights, or a non-finite
// value in a src or in the result (naming the element); dst is then
// partially written.
func AverageFloat32(dst []float32, srcs [][]float32, weights []float64) error {
	if len(srcs) == 0 {
		return fmt.Errorf("average: no sources")
	}
	for i, s := range srcs {
		if len(s) != len(dst) {
			return fmt.Errorf("average: source %d has %d elements, dst %d", i, len(s), len(dst))
		}
	}
	var w []float64
	var contrib, zero [][]float32
	if weights == nil {
		for _, s := range srcs {
			w = append(w, 1/float64(len(srcs)))
			contrib = append(contrib, s)
		}
	} else {
		if len(weights) != len(srcs) {
			return fmt.Errorf("average: %d weights for %d sources", len(weights), len(srcs))
		}
		sum := 0.0
		for i, x := range weights {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("average: weight %d is %v", i, x)
			}
			sum += x
		}
		if sum == 0 || math.IsInf(sum, 0) {
			return fmt.Errorf("average: weights sum to %v", sum)
		}
		for i, x := range weights {
			if x == 0 {
				zero = append(zero, srcs[i])
				continue
			}
			w = append(w, x/sum)
			contrib = append(contrib, srcs[i])
		}
	}
	// Chunks are a multiple of 8 elements so the vector kernels see aligned
	// work; results do not depend on the split.
	const grain = 1 << 14
	n := len(dst)
	nChunks := (n + grain - 1) / grain
	bad := make([]bool, nChunks)
	kernels.ParallelFor(nChunks, 1, func(lo, hi int) {
		views := make([][]float32, len(contrib))
		for c := lo; c < hi; c++ {
			a, b := c*grain, min((c+1)*grain, n)
			for k, s := range contrib {
				views[k] = s[a:b]
			}
			bad[c] = wsum64(dst[a:b], views, w)
			for _, s := range zero {
				if nonFinite32(s[a:b]) >= 0 {
					bad[c] = true
				}
			}
		}
	})
	for c, b := range bad {
		if !b {
			continue
		}
		a, e := c*grain, min((c+1)*grain, n)
		for i := a; i < e; i++ {
			for k, s := range srcs {
				if v := s[i]; math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("average: source %d has %v at element %d", k, v, i)
				}
			}
			if v := dst[i]; math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("average: result overflows float32 at element %d", i)
			}
		}
	}
	return nil
}
