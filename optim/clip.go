package optim

import (
	"math"

	"github.com/warm-rm/warm/kernels"
)

// normChunk is the fixed partition of the norm's sum (independent of the
// thread count, so the norm is bit-identical for any number of threads).
const normChunk = 1 << 13

// GlobalNorm returns the Euclidean norm of x, accumulated in float64 over
// fixed chunks summed in order.
func GlobalNorm(x []float32) float64 {
	nch := (len(x) + normChunk - 1) / normChunk
	partial := make([]float64, nch)
	kernels.ParallelFor(nch, 1, func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for _, v := range x[c*normChunk : min((c+1)*normChunk, len(x))] {
				s += float64(v) * float64(v)
			}
			partial[c] = s
		}
	})
	var s float64
	for _, p := range partial {
		s += p
	}
	return math.Sqrt(s)
}

// ClipGradNorm scales grads in place so that their global norm is at most
// maxNorm, as torch.nn.utils.clip_grad_norm_ does (factor
// maxNorm/(norm+1e-6) when below 1), and returns the norm before clipping.
// maxNorm <= 0 only measures. A NaN or infinite norm is returned as is and
// the gradients are left untouched: the caller should skip the step.
func ClipGradNorm(grads []float32, maxNorm float32) float32 {
	norm := GlobalNorm(grads)
	if maxNorm <= 0 || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return float32(norm)
	}
	coef := float32(float64(maxNorm) / (norm + 1e-6))
	if coef < 1 {
		kernels.ParallelFor(len(grads), grain, func(lo, hi int) {
			for i := range grads[lo:hi] {
				grads[lo+i] *= coef
			}
		})
	}
	return float32(norm)
}
