package policy

import (
	"math"
	"sort"

	"github.com/warm-rm/warm/eval"
)

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// meanSE returns the mean of xs and the standard error of that mean
// (sample standard deviation / √n; 0 for fewer than two values).
func meanSE(xs []float64) (mean, se float64) { return eval.MeanStdErr(xs) }

// meanStd returns the mean and the population standard deviation of xs.
func meanStd(xs []float64) (mean, std float64) { return eval.MeanStd(xs) }

// KLBoN is the analytic KL divergence between the best-of-N policy and the
// base policy, log N − (N−1)/N (Stiennon et al. 2020; an upper bound,
// exact for distinct samples).
func KLBoN(n int) float64 {
	return math.Log(float64(n)) - float64(n-1)/float64(n)
}

// lchoose is log C(n, k).
func lchoose(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}

// bonWeights returns, for a pool of n samples sorted by proxy reward
// ascending, the probability that the sample of rank i (0-based) is the
// best of a uniformly random N-subset: C(i, N−1) / C(n, N). Averaging a
// quantity of the samples with these weights is the unbiased estimate of its
// expectation under best-of-N from the n samples (the U-statistic of
// Nakano et al. 2021), with far less variance than one draw of N.
func bonWeights(n, N int) []float64 {
	w := make([]float64, n)
	lt := lchoose(n, N)
	for i := N - 1; i < n; i++ {
		w[i] = math.Exp(lchoose(i, N-1) - lt)
	}
	return w
}

// ascending returns the indices of xs sorted by value ascending; among equal
// values the lower index ranks higher (so it wins an argmax), matching
// argmax's tie rule.
func ascending(xs []float64) []int {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		if xs[idx[a]] != xs[idx[b]] {
			return xs[idx[a]] < xs[idx[b]]
		}
		return idx[a] > idx[b]
	})
	return idx
}

// argmax returns the index of the largest value (the first on ties).
func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// win is 1 if a > b, 0.5 on a tie, else 0.
func win(a, b float64) float64 {
	switch {
	case a > b:
		return 1
	case a == b:
		return 0.5
	}
	return 0
}

// meanCorr averages the correlation of xs and ys within consecutive groups
// of n (one prompt's samples), skipping groups where either is constant
// (nil if every group is).
func meanCorr(xs, ys []float64, n int) *float64 {
	var sum float64
	k := 0
	for lo := 0; lo+n <= len(xs); lo += n {
		if r, ok := eval.Pearson(xs[lo:lo+n], ys[lo:lo+n]); ok {
			sum += r
			k++
		}
	}
	if k == 0 {
		return nil
	}
	r := sum / float64(k)
	return &r
}

// fallFromPeak is the reward-hacking test of best-of-N and RL: it finds the
// peak of the control reward (its first maximum) and compares the last point
// with it. drop is the control reward lost since the peak and gain the proxy
// reward gained (0 when proxy has no last point); hacked is a drop beyond two
// standard errors of the difference (seDiff(pk, last)) while the proxy rose.
// control must not be empty.
func fallFromPeak(control, proxy []float64, seDiff func(pk, last int) float64) (pk int, drop, gain float64, hacked bool) {
	for i, v := range control {
		if v > control[pk] {
			pk = i
		}
	}
	last := len(control) - 1
	drop = control[pk] - control[last]
	if len(proxy) > last {
		gain = proxy[last] - proxy[pk]
	}
	hacked = drop > 2*seDiff(pk, last) && gain > 0
	return pk, drop, gain, hacked
}
