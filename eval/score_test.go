package eval

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	s := Summarize([]float32{1, 2, 3, 0}, []float32{0, 2, 4, -1})
	if s.N != 4 || s.Correct != 2 || s.Ties != 1 || s.Accuracy != 0.5 {
		t.Fatalf("%+v", s)
	}
	if math.Abs(s.MeanMargin-0.25) > 1e-12 {
		t.Errorf("margin %v", s.MeanMargin)
	}
	if s.Chosen.Mean != 1.5 || s.Chosen.Min != 0 || s.Chosen.Max != 3 {
		t.Errorf("chosen stats %+v", s.Chosen)
	}
	if math.Abs(s.StdErr-0.25) > 1e-12 {
		t.Errorf("stderr %v", s.StdErr)
	}
}

func TestPairedDiff(t *testing.T) {
	a := []bool{true, true, false, true}
	b := []bool{true, false, false, false}
	m, se := PairedDiff(a, b)
	// differences 0,1,0,1: mean .5, sample sd sqrt(1/3), se sqrt(1/3)/2
	if m != 0.5 || math.Abs(se-math.Sqrt(1.0/3)/2) > 1e-12 {
		t.Errorf("mean %v se %v", m, se)
	}
}

func TestMeanCorrelation(t *testing.T) {
	m, n := MeanCorrelation([][]float64{{1, 0, 1, 0}, {1, 0, 1, 0}, {0, 1, 0, 1}, {1, 1, 1, 1}})
	// pairs: (0,1) +1, (0,2) -1, (1,2) -1; the constant series is left out.
	if n != 3 || math.Abs(m-(-1.0/3)) > 1e-12 {
		t.Errorf("mean %v over %d pairs", m, n)
	}
	if _, n := MeanCorrelation([][]float64{{1, 0}}); n != 0 {
		t.Error("one series gave a pair")
	}
}

func TestAgreement(t *testing.T) {
	a := []bool{true, true, false, false}
	b := []bool{true, false, false, true}
	if got := Agreement(a, b); got != 0.5 {
		t.Fatalf("Agreement = %v, want 0.5", got)
	}
	if got := Agreement(a, a); got != 1 {
		t.Fatalf("Agreement with itself = %v, want 1", got)
	}
	if got := Agreement(a, b[:3]); !math.IsNaN(got) {
		t.Fatalf("Agreement of unequal lengths = %v, want NaN", got)
	}
}
