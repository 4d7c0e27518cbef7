package model

import (
	"math"
	"testing"
)

func TestExpf(t *testing.T) {
	var worst float64
	for x := float32(-87); x <= 80; x += 0.00731 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if rel := math.Abs(got-want) / want; rel > worst {
			worst = rel
		}
	}
	if worst > 4e-7 {
		t.Fatalf("expf max relative error %g", worst)
	}
	if expf(-100) != 0 || expf(0) != 1 {
		t.Fatalf("expf(-100)=%g expf(0)=%g", expf(-100), expf(0))
	}
	t.Logf("expf max relative error %g", worst)
}

func TestTanhf(t *testing.T) {
	var worst float64
	for x := float32(-12); x <= 12; x += 0.000373 {
		want := math.Tanh(float64(x))
		got := float64(tanhf(x))
		if rel := math.Abs(got-want) / math.Max(math.Abs(want), 1e-3); rel > worst {
			worst = rel
		}
	}
	if worst > 1e-6 {
		t.Fatalf("tanhf max relative error %g", worst)
	}
	t.Logf("tanhf max relative error %g", worst)
}
