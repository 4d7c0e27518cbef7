package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpShift(t *testing.T) {
	var xs []float32
	for x := float32(-87); x <= 0; x += 0.00731 {
		xs = append(xs, x+3)
	}
	ys := append([]float32(nil), xs...)
	sum := expShift(ys, 3)
	var worst, want float64
	for i, x := range xs {
		e := math.Exp(float64(x - 3))
		want += e
		if rel := math.Abs(float64(ys[i])-e) / e; rel > worst {
			worst = rel
		}
	}
	if worst > 2e-7 || math.Abs(float64(sum)-want) > 1e-5*want {
		t.Fatalf("expShift: max relative error %g, sum %g want %g", worst, sum, want)
	}
}

func TestGeluTanh(t *testing.T) {
	var xs []float32
	for x := float32(-12); x <= 12; x += 0.000373 {
		xs = append(xs, x)
	}
	n := len(xs)
	pre := append([]float32(nil), xs...)
	th, out := make([]float32, n), make([]float32, n)
	biasGeluForward(out, th, pre, []float32{0}, n, 1)
	var worst float64
	for i, x := range xs {
		want := math.Tanh(geluS * (float64(x) + geluC*float64(x)*float64(x)*float64(x)))
		if rel := math.Abs(float64(th[i])-want) / math.Max(math.Abs(want), 1e-3); rel > worst {
			worst = rel
		}
	}
	if worst > 1e-6 {
		t.Fatalf("GELU tanh: max relative error %g", worst)
	}
	t.Logf("GELU tanh: max relative error %g", worst)
}

// TestGeluRowMatchesGeneric compares the dispatching geluRow (the AVX2
// kernel where available) with the portable code, on every tail length.
func TestGeluRowMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 100, 1029} {
		x := randF32(rng, n, 3)
		for i := range x[:n/3] {
			x[i] *= 5 // some beyond the clamp
		}
		bias := randF32(rng, n, 0.5)
		x1, x2 := append([]float32(nil), x...), append([]float32(nil), x...)
		th1, th2 := make([]float32, n), make([]float32, n)
		o1, o2 := make([]float32, n), make([]float32, n)
		geluRow(o1, th1, x1, bias)
		geluRowGeneric(o2, th2, x2, bias)
		for i := range n {
			if x1[i] != x2[i] {
				t.Fatalf("n=%d: pre-activation %d differs", n, i)
			}
			if math.Abs(float64(th1[i]-th2[i])) > 4e-7 || math.Abs(float64(o1[i]-o2[i])) > 4e-7*math.Max(1, math.Abs(float64(x2[i]))) {
				t.Fatalf("n=%d, x=%g: tanh %g vs %g, gelu %g vs %g", n, x2[i], th1[i], th2[i], o1[i], o2[i])
			}
		}
	}
}

// TestExpShiftMatchesGeneric compares the dispatching expShift (the AVX2
// kernel where available) with the portable code, on every tail length.
func TestExpShiftMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{1, 7, 8, 9, 23, 64, 4096, 4099} {
		x := randF32(rng, n, 20)
		mx := x[0]
		for _, v := range x {
			mx = max(mx, v)
		}
		x1, x2 := append([]float32(nil), x...), append([]float32(nil), x...)
		s1, s2 := expShift(x1, mx), expShiftGeneric(x2, mx)
		for i := range n {
			if math.Abs(float64(x1[i]-x2[i])) > 3e-7*float64(x2[i]) {
				t.Fatalf("n=%d: exp(%g) = %g vs %g", n, x[i]-mx, x1[i], x2[i])
			}
		}
		if math.Abs(float64(s1-s2)) > 1e-6*float64(s2) {
			t.Fatalf("n=%d: sum %g vs %g", n, s1, s2)
		}
	}
}

// TestRowKernelsMatchGeneric compares rowMax and scaleRow (AVX2 where
// available) with the portable code.
func TestRowKernelsMatchGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{1, 5, 8, 13, 64, 4096, 4101} {
		x := randF32(rng, n, 1)
		x[rng.IntN(n)] = 9 // the maximum anywhere, tails included
		if rowMax(x) != rowMaxGeneric(x) || rowMax(x) != 9 {
			t.Fatalf("n=%d: max %g vs %g", n, rowMax(x), rowMaxGeneric(x))
		}
		y, z := append([]float32(nil), x...), append([]float32(nil), x...)
		scaleRow(y, 0.37)
		scaleRowGeneric(z, 0.37)
		for i := range y {
			if y[i] != z[i] {
				t.Fatalf("n=%d: scale differs at %d", n, i)
			}
		}
	}
}
