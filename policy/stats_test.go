package policy

import (
	"fmt"
	"math"
	"testing"
)

// TestBonWeightsUnbiased checks the best-of-N estimator against the mean over
// every N-subset of a pool, enumerated.
func TestBonWeightsUnbiased(t *testing.T) {
	proxy := []float64{0.3, -1, 2, 0.3, 5, 1}
	value := []float64{1, 2, 3, 4, 5, 6}
	n := len(proxy)
	for N := 1; N <= n; N++ {
		var sum float64
		count := 0
		for mask := 0; mask < 1<<n; mask++ {
			var idx []int
			for i := 0; i < n; i++ {
				if mask&(1<<i) != 0 {
					idx = append(idx, i)
				}
			}
			if len(idx) != N {
				continue
			}
			sub := make([]float64, N)
			for k, i := range idx {
				sub[k] = proxy[i]
			}
			sum += value[idx[argmax(sub)]]
			count++
		}
		want := sum / float64(count)
		got := expectAt(proxy, value, bonWeights(n, N))
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("N=%d: estimator %v, enumeration %v", N, got, want)
		}
	}
}

func TestKLBoN(t *testing.T) {
	if KLBoN(1) != 0 {
		t.Errorf("KL_BoN(1) = %v", KLBoN(1))
	}
	if got, want := KLBoN(4), math.Log(4)-0.75; math.Abs(got-want) > 1e-15 {
		t.Errorf("KL_BoN(4) = %v, want %v", got, want)
	}
}

func TestMeanSE(t *testing.T) {
	m, se := meanSE([]float64{1, 2, 3, 4})
	if m != 2.5 || math.Abs(se-math.Sqrt(5.0/3)/2) > 1e-15 {
		t.Errorf("mean %v se %v", m, se)
	}
	if win(1, 1) != 0.5 || win(2, 1) != 1 || win(1, 2) != 0 {
		t.Error("win")
	}
}

func TestMeanCorr(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 5, 5, 5}
	ys := []float64{2, 4, 6, 8, 1, 2, 3, 4}
	if r := meanCorr(xs, ys, 4); r == nil || math.Abs(*r-1) > 1e-12 {
		t.Errorf("corr %v (the constant second group must be skipped)", r)
	}
	if r := meanCorr(xs, []float64{4, 3, 2, 1, 0, 0, 0, 0}, 4); r == nil || math.Abs(*r+1) > 1e-12 {
		t.Errorf("corr %v", r)
	}
	if meanCorr([]float64{1, 1}, []float64{1, 2}, 2) != nil {
		t.Error("all-constant groups give a number")
	}
}

// TestPairErrors: within-prompt pairs only, control ties skipped, a proxy
// tie or a reversed order is an error.
func TestPairErrors(t *testing.T) {
	control := []float64{1, 2, 3, 5, 5, 0}
	proxy := []float64{1, 2, 2, 9, 1, 3}
	// prompt 0 (samples 0-2): (0,1) right, (0,2) right, (1,2) proxy tie: error.
	// prompt 1 (samples 3-5): (3,4) control tie: skipped; (3,5) right; (4,5) wrong.
	got := pairErrors(proxy, control, 2, 3)
	want := []float64{0, 0, 1, 0, 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("pairErrors = %v, want %v", got, want)
	}
}
