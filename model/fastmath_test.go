package model

import (
	"math"
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
