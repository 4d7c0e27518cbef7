package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gradConfig is the tiny model of the whole-model gradient checks.
func gradConfig(dropout bool) Config {
	c := Config{VocabSize: 24, NPositions: 12, NEmbd: 8, NLayer: 2, NHead: 2, PadID: 1, RewardHead: true}
	if dropout {
		c.EmbdPdrop, c.AttnPdrop, c.ResidPdrop = 0.1, 0.2, 0.15
	}
	return c
}

// newTestModel returns an initialised model with non-trivial LayerNorm
// parameters and biases (GPT-2's init sets them to 1 and 0, which would
// hide wrong terms).
func newTestModel(t testing.TB, c Config, seed uint64) *Model {
	t.Helper()
	m, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	for _, p := range m.Params() {
		if p.Decay {
			for i := range p.Data { // larger weights: gradients well above float32 noise
				p.Data[i] *= 10
			}
			continue
		}
		for i := range p.Data {
			p.Data[i] += float32(rng.NormFloat64() * 0.2)
		}
	}
	return m
}

// paddedBatch returns B right-padded sequences of length T with the given
// lengths (pad = c.PadID after each length).
func paddedBatch(c Config, rng *rand.Rand, lengths []int, T int) []int32 {
	tokens := make([]int32, len(lengths)*T)
	for b, n := range lengths {
		for t := range T {
			if t < n {
				tok := int32(rng.IntN(c.VocabSize))
				for tok == int32(c.PadID) {
					tok = int32(rng.IntN(c.VocabSize))
				}
				tokens[b*T+t] = tok
			} else {
				tokens[b*T+t] = int32(c.PadID)
			}
		}
	}
	return tokens
}

// wholeModelTol bounds max|analytic − numeric| / max|gradient| per tensor
// for the whole model (float32 backward against float64 finite
// differences). Observed errors are around 1e-6; a wrong term gives 1e-2
// or more.
const wholeModelTol = 1e-4

func checkModelGrads(t *testing.T, m *Model, ref *refModel, loss func() float64) {
	t.Helper()
	errs, worst := modelGradErrors(m, ref, loss)
	for _, err := range errs {
		t.Error(err)
	}
	t.Logf("worst per-tensor gradient error %.3g", worst)
}

// modelGradErrors checks every parameter gradient of m against the finite
// differences of loss, a function of ref's parameters.
func modelGradErrors(m *Model, ref *refModel, loss func() float64) ([]error, float64) {
	var errs []error
	worst := 0.0
	// Tensors whose exact gradient is zero (ln_f.bias under the
	// Bradley–Terry loss: Σ dr = 0) are measured against 1% of the largest
	// gradient of the model instead of their own scale.
	var global float64
	for _, g := range m.GradFlat {
		global = math.Max(global, math.Abs(float64(g)))
	}
	for _, p := range m.Params() {
		x := ref.flat[p.Offset : p.Offset+len(p.Data)]
		n := fdGrad(loss, x, 1e-6)
		e := gradErrFloor(p.Grad, n, 0.01*global)
		worst = math.Max(worst, e)
		if e > wholeModelTol || math.IsNaN(e) {
			errs = append(errs, fmt.Errorf("%s: gradient error %.3g > %.3g", p.Name, e, wholeModelTol))
		}
	}
	return errs, worst
}

func TestGradWholeModelLM(t *testing.T) {
	for _, drop := range []bool{false, true} {
		c := gradConfig(drop)
		m := newTestModel(t, c, 21)
		rng := rand.New(rand.NewPCG(22, 23))
		B, T := 3, 9
		tokens := paddedBatch(c, rng, []int{9, 6, 4}, T)
		targets := make([]int32, B*T)
		mask := make([]float32, B*T)
		for b := range B {
			for t := range T {
				targets[b*T+t] = int32(rng.IntN(c.VocabSize))
			}
		}
		// Sequence 0: loss on positions 2..8; sequence 1: 1..4 with a gap
		// and a weight of 0.5; sequence 2: positions 0..2, one negative.
		for _, i := range []int{2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 18, 19, 20} {
			mask[i] = 1
		}
		mask[11], mask[19] = 0.5, -0.3
		seed := uint64(77)
		loss, err := m.LMForward(tokens, B, T, targets, mask, true, seed)
		if err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		if err := m.LMBackward(); err != nil {
			t.Fatal(err)
		}
		ref := newRef(m)
		f := func() float64 { return ref.lmLoss(tokens, targets, mask, B, T, true, seed) }
		want := f()
		if math.Abs(float64(loss)-want) > 1e-5*math.Abs(want) {
			t.Fatalf("dropout=%v: loss %g, reference %g", drop, loss, want)
		}
		t.Logf("dropout=%v: loss %.6f (reference %.6f)", drop, loss, want)
		checkModelGrads(t, m, ref, f)
	}
}

func TestGradWholeModelBradleyTerry(t *testing.T) {
	for _, drop := range []bool{false, true} {
		c := gradConfig(drop)
		m := newTestModel(t, c, 31)
		rng := rand.New(rand.NewPCG(32, 33))
		T := 10
		lengths := []int{10, 4, 7, 1, 9, 5} // pairs (0,3), (1,4), (2,5)
		B := len(lengths)
		tokens := paddedBatch(c, rng, lengths, T)
		seed := uint64(5)
		r, err := m.RewardForward(tokens, B, T, lengths, true, seed)
		if err != nil {
			t.Fatal(err)
		}
		P := B / 2
		dr := make([]float32, B)
		loss, err := BradleyTerry(r[:P], r[P:], dr[:P], dr[P:])
		if err != nil {
			t.Fatal(err)
		}
		m.ZeroGrad()
		if err := m.RewardBackward(dr); err != nil {
			t.Fatal(err)
		}
		ref := newRef(m)
		rw := ref.rewards(tokens, B, T, lengths, true, seed)
		if e := forwardErr(r, rw); e > 1e-5 {
			t.Fatalf("dropout=%v: rewards %v, reference %v", drop, r, rw)
		}
		if want := refBT(rw); math.Abs(float64(loss)-want) > 1e-5*want {
			t.Fatalf("dropout=%v: BT loss %g, reference %g", drop, loss, want)
		}
		checkModelGrads(t, m, ref, func() float64 { return refBT(ref.rewards(tokens, B, T, lengths, true, seed)) })
	}
}

// TestWholeModelCheckCatchesError shows that the whole-model check rejects
// a gradient with a single wrong term: the backward pass without the
// attention-probability dropout mask on dP (the masks are still applied in
// the forward pass), and a 1% error in one tensor.
func TestWholeModelCheckCatchesError(t *testing.T) {
	c := gradConfig(false)
	c.AttnPdrop = 0.3
	m := newTestModel(t, c, 41)
	rng := rand.New(rand.NewPCG(42, 43))
	T := 8
	lengths := []int{8, 3, 6, 5}
	tokens := paddedBatch(c, rng, lengths, T)
	r, err := m.RewardForward(tokens, 4, T, lengths, true, 3)
	if err != nil {
		t.Fatal(err)
	}
	dr := make([]float32, 4)
	if _, err := BradleyTerry(r[:2], r[2:], dr[:2], dr[2:]); err != nil {
		t.Fatal(err)
	}
	ref := newRef(m)
	loss := func() float64 { return refBT(ref.rewards(tokens, 4, T, lengths, true, 3)) }

	// The same backward with the wrong dropout seed: the forward's masks
	// are not the backward's.
	m.ZeroGrad()
	m.ws.seed = 4
	if err := m.RewardBackward(dr); err != nil {
		t.Fatal(err)
	}
	if errs, worst := modelGradErrors(m, ref, loss); len(errs) == 0 {
		t.Fatalf("a backward with other dropout masks passed the check (worst %g)", worst)
	} else {
		t.Logf("backward with other dropout masks rejected: %v", errs[0])
	}

	m.ws.seed = 3
	m.ZeroGrad()
	if err := m.RewardBackward(dr); err != nil {
		t.Fatal(err)
	}
	if errs, _ := modelGradErrors(m, ref, loss); len(errs) != 0 {
		t.Fatalf("correct backward rejected: %v", errs)
	}
	p, _ := m.Param("transformer.h.0.mlp.c_fc.weight")
	for i := range p.Grad {
		p.Grad[i] *= 1.01
	}
	if errs, _ := modelGradErrors(m, ref, loss); len(errs) != 1 {
		t.Fatalf("a 1%% error in one tensor gave %d failures, want 1", len(errs))
	} else {
		t.Logf("1%% error rejected: %v", errs[0])
	}
}

func TestBradleyTerryLengthMismatchIsAnError(t *testing.T) {
	if _, err := BradleyTerry(make([]float32, 2), make([]float32, 3), make([]float32, 2), make([]float32, 2)); err == nil {
		t.Fatal("slices of different lengths accepted")
	}
}
