package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/warm-rm/warm/kernels"
)

// packedConfig has a width that is not a multiple of any kernel's panel
// width (edge panels in every product) and an MLP c_proj of 4·132 = 528
// rows, more than one k block of the GEMM (512).
func packedConfig() Config {
	return Config{VocabSize: 61, NPositions: 24, NEmbd: 132, NLayer: 2, NHead: 4, PadID: 0,
		RewardHead: true, EmbdPdrop: 0.1, AttnPdrop: 0.1, ResidPdrop: 0.1}
}

// passOutputs runs every forward pass of m on the same batch and returns
// their outputs, concatenated: rewards (compact last block, with and
// without dropout, and with every sequence one token long: every row a
// query), Rewards, Features, the LM loss and per-token losses (compact),
// Logits (every row), and the logits of a KV cache's prefill and steps.
func passOutputs(t *testing.T, m *Model, tokens []int32, B, T int, lengths []int) []float32 {
	t.Helper()
	var out []float32
	add := func(x []float32, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x...)
	}
	if m.Config.RewardHead {
		add(m.RewardForward(tokens, B, T, lengths, false, 0))
		add(m.RewardForward(tokens, B, T, lengths, true, 7))
		ones := make([]int, B)
		for b := range ones {
			ones[b] = 1
		}
		add(m.RewardForward(tokens, B, T, ones, false, 0))
		seqs := make([][]int32, B)
		for b, n := range lengths {
			seqs[b] = tokens[b*T : b*T+n]
		}
		add(m.Rewards(seqs))
		add(m.Features(tokens, B, T, lengths))
	}
	targets := make([]int32, B*T)
	mask := make([]float32, B*T)
	for i := range targets {
		targets[i] = int32((7*i + 3) % m.Config.VocabSize)
		if i%T >= 2 && i%T < lengths[i/T] {
			mask[i] = 1
		}
	}
	loss, err := m.LMForward(tokens, B, T, targets, mask, false, 0)
	add([]float32{loss}, err)
	add(m.TokenLosses(), nil)
	add(m.Logits(tokens, B, T))
	kv, err := m.NewKVCache(B, T+3)
	if err != nil {
		t.Fatal(err)
	}
	add(kv.Prefill(tokens, T, lengths))
	for s := range 3 {
		next := make([]int32, B)
		for b := range next {
			next[b] = int32(1 + (b+s)%(m.Config.VocabSize-1))
		}
		add(kv.Step(next))
	}
	return out
}

// packedBatch is a ragged batch for packedConfig.
func packedBatch(c Config) ([]int32, int, int, []int) {
	rng := rand.New(rand.NewPCG(201, 202))
	lengths := []int{7, 1, 16, 11, 3}
	T := 16
	return paddedBatch(c, rng, lengths, T), len(lengths), T, lengths
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestPackedForwardBitIdentical checks that every forward pass of a model
// packed for inference gives the unpacked model's bits, for every GEMM
// kernel and for one and two threads, for a reward model and for a
// language model (whose tied LM head is packed too).
func TestPackedForwardBitIdentical(t *testing.T) {
	defer kernels.SetKernel("")
	for _, reward := range []bool{true, false} {
		c := packedConfig()
		c.RewardHead = reward
		tokens, B, T, lengths := packedBatch(c)
		for _, kern := range kernels.Kernels() {
			if err := kernels.SetKernel(kern); err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{1, 2} {
				func() {
					defer kernels.SetThreads(kernels.SetThreads(threads))
					m := newTestModel(t, c, 203)
					want := passOutputs(t, m, tokens, B, T, lengths)
					m.PackForInference()
					if !m.Packed() {
						t.Fatal("PackForInference: not packed")
					}
					if (m.packed.head != nil) == reward {
						t.Fatalf("reward head %v: packed LM head %v", reward, m.packed.head != nil)
					}
					if got := passOutputs(t, m, tokens, B, T, lengths); !bitsEqual(got, want) {
						t.Errorf("%s, %d threads, reward head %v: a packed model's passes differ from the unpacked model's", kern, threads, reward)
					}
					if !m.Packed() {
						t.Error("the passes dropped the packed weights")
					}
				}()
			}
		}
	}
}

// TestPackedHeadInvalidation checks that a language model whose token
// embeddings (its tied LM head) change under the packed copy refuses the
// next pass and drops the panels.
func TestPackedHeadInvalidation(t *testing.T) {
	c := packedConfig()
	c.RewardHead = false
	tokens, B, T, _ := packedBatch(c)
	m := newTestModel(t, c, 209)
	m.PackForInference()
	p := m.params[m.index["transformer.wte.weight"]]
	for i := range p.Data {
		p.Data[i] = -p.Data[i]
	}
	_, err := m.Logits(tokens, B, T)
	if err == nil || !strings.Contains(err.Error(), "wte") {
		t.Fatalf("a pass with the LM head changed under the packed copy: %v, want a refusal naming wte", err)
	}
	if m.Packed() {
		t.Fatal("the refused pass left the stale panels")
	}
}

// TestPackedKernelChanged checks that a model packed for one kernel still
// gives the unpacked model's bits after SetKernel selects another.
func TestPackedKernelChanged(t *testing.T) {
	ks := kernels.Kernels()
	if len(ks) < 2 {
		t.Skip("one GEMM kernel here")
	}
	c := packedConfig()
	tokens, B, T, lengths := packedBatch(c)
	defer kernels.SetKernel("")
	m := newTestModel(t, c, 204)
	m.PackForInference() // for the default kernel
	for _, kern := range ks[1:] {
		if err := kernels.SetKernel(kern); err != nil {
			t.Fatal(err)
		}
		want := passOutputs(t, newTestModel(t, c, 204), tokens, B, T, lengths)
		if got := passOutputs(t, m, tokens, B, T, lengths); !bitsEqual(got, want) {
			t.Errorf("packed for %s, run with %s: differs from the unpacked model", ks[0], kern)
		}
	}
}

// TestPackedInvalidation changes the weights of a packed model through
// each way the model hands them out, and checks that its rewards are then
// those of an unpacked model given the same change: the packed copy was
// dropped, or the pass refused and dropped it.
func TestPackedInvalidation(t *testing.T) {
	c := packedConfig()
	tokens, B, T, lengths := packedBatch(c)
	rewards := func(m *Model) ([]float32, error) {
		r, err := m.RewardForward(tokens, B, T, lengths, false, 0)
		return append([]float32(nil), r...), err
	}
	const w = "transformer.h.1.mlp.c_proj.weight"
	for _, tc := range []struct {
		name   string
		change func(m *Model)
		// refused: the change bypasses the model (Flat written directly),
		// so the first pass refuses it.
		refused bool
	}{
		{name: "Params", change: func(m *Model) {
			for _, p := range m.Params() {
				for i := range p.Data {
					p.Data[i] *= 0.75
				}
			}
		}},
		{name: "Param", change: func(m *Model) {
			p, _ := m.Param(w)
			p.Data[len(p.Data)-1] += 3 // one element, in the second k block
		}},
		{name: "InitWeights", change: func(m *Model) { m.InitWeights(9) }},
		{name: "Flat", refused: true, change: func(m *Model) {
			src := newTestModel(t, c, 206)
			copy(m.Flat, src.Flat)
		}},
		{name: "Flat, one matrix", refused: true, change: func(m *Model) {
			p := m.params[m.index["transformer.h.0.attn.c_attn.weight"]]
			for i := range p.Data {
				p.Data[i] = -p.Data[i]
			}
		}},
		{name: "Unpack then Flat", change: func(m *Model) {
			m.Unpack()
			for i := range m.Flat {
				m.Flat[i] *= 1.5
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref, m := newTestModel(t, c, 205), newTestModel(t, c, 205)
			before, err := rewards(m)
			if err != nil {
				t.Fatal(err)
			}
			m.PackForInference()
			tc.change(ref)
			tc.change(m)
			want, err := rewards(ref)
			if err != nil {
				t.Fatal(err)
			}
			if bitsEqual(want, before) {
				t.Fatal("the change does not change the rewards: the test shows nothing")
			}
			got, err := rewards(m)
			switch {
			case tc.refused && err == nil:
				t.Fatal("a pass with weights changed under the packed copy was not refused")
			case tc.refused:
				if !strings.Contains(err.Error(), "PackForInference") {
					t.Errorf("refusal does not say why: %v", err)
				}
				if m.Packed() {
					t.Fatal("refused pass left the stale packed weights")
				}
				if got, err = rewards(m); err != nil {
					t.Fatal(err)
				}
			case err != nil:
				t.Fatal(err)
			}
			if m.Packed() {
				t.Error("still packed after the change")
			}
			if !bitsEqual(got, want) {
				t.Errorf("rewards after the change differ from an unpacked model's: %v, want %v", got, want)
			}
		})
	}
}

// TestPackedRefusesBackward checks that the backward passes, which
// training follows with an update of the weights, refuse a packed model
// and run again once it is unpacked.
func TestPackedRefusesBackward(t *testing.T) {
	c := packedConfig()
	tokens, B, T, lengths := packedBatch(c)
	m := newTestModel(t, c, 207)
	m.PackForInference()
	dr := make([]float32, B)
	for b := range dr {
		dr[b] = 1
	}
	backward := map[string]func() error{
		"RewardBackward": func() error {
			if _, err := m.RewardForward(tokens, B, T, lengths, true, 1); err != nil {
				return err
			}
			return m.RewardBackward(dr)
		},
		"RewardHeadBackward": func() error {
			if _, err := m.RewardForward(tokens, B, T, lengths, false, 0); err != nil {
				return err
			}
			return m.RewardHeadBackward(dr)
		},
		"LMBackward": func() error {
			if _, err := m.LMForward(tokens, B, T, tokens, nil, true, 1); err != nil {
				return err
			}
			return m.LMBackward()
		},
	}
	for name, f := range backward {
		if err := f(); err == nil || !strings.Contains(err.Error(), "Unpack") {
			t.Errorf("%s on a packed model: %v, want a refusal", name, err)
		}
	}
	m.Unpack()
	for name, f := range backward {
		if err := f(); err != nil {
			t.Errorf("%s after Unpack: %v", name, err)
		}
	}
}

// TestPackedBytes checks the memory accounting: at least the four matrices
// of every block (12·d² floats), at most their columns padded to a panel,
// and nothing once unpacked.
func TestPackedBytes(t *testing.T) {
	c := packedConfig()
	m := newTestModel(t, c, 208)
	if m.PackedBytes() != 0 {
		t.Fatal("an unpacked model reports packed bytes")
	}
	m.PackForInference()
	C, L := c.NEmbd, c.NLayer
	lo := 4 * 12 * C * C * L
	hi := 4 * L * (C*(3*C+2*32) + C*(C+32) + C*(4*C+32) + 4*C*(C+32))
	if n := m.PackedBytes(); n < lo || n > hi {
		t.Errorf("PackedBytes = %d, want %d..%d", n, lo, hi)
	}
	if err := m.CheckFinite(); err != nil || !m.Packed() {
		t.Errorf("CheckFinite: %v, packed %v (reading the weights must keep them packed)", err, m.Packed())
	}
	m.Unpack()
	if m.PackedBytes() != 0 || m.Packed() {
		t.Error("Unpack kept the packed weights")
	}
}

// TestLeanWorkspace checks the workspace of a model packed before its first
// pass: its blocks share two sets of activations (five blocks here, so
// that sharing matters and the last block uses set 0), every pass gives the
// bits of an unpacked model, a backward pass after such a forward pass is
// refused even once unpacked, and a model that has trained keeps its full
// workspace when packed.
func TestLeanWorkspace(t *testing.T) {
	c := packedConfig()
	c.NLayer = 5
	for _, reward := range []bool{true, false} {
		c.RewardHead = reward
		tokens, B, T, lengths := packedBatch(c)
		want := passOutputs(t, newTestModel(t, c, 211), tokens, B, T, lengths)
		m := newTestModel(t, c, 211)
		m.PackForInference()
		got := passOutputs(t, m, tokens, B, T, lengths)
		if !m.ws.lean || &m.ws.layers[0].qkv[0] != &m.ws.layers[2].qkv[0] || &m.ws.layers[1].qkv[0] == &m.ws.layers[2].qkv[0] {
			t.Fatalf("reward head %v: a model packed before its first pass has no lean workspace", reward)
		}
		if m.ws.dA != nil {
			t.Errorf("reward head %v: the lean workspace holds backward scratch", reward)
		}
		if !bitsEqual(got, want) {
			t.Errorf("reward head %v: passes on a lean workspace differ from the unpacked model's", reward)
		}
	}
	c.RewardHead = true
	tokens, B, T, lengths := packedBatch(c)
	m := newTestModel(t, c, 212)
	m.PackForInference()
	if _, err := m.RewardForward(tokens, B, T, lengths, true, 1); err != nil {
		t.Fatal(err)
	}
	m.Unpack()
	dr := make([]float32, B)
	for b := range dr {
		dr[b] = 1
	}
	if err := m.RewardBackward(dr); err == nil || !strings.Contains(err.Error(), "forward pass again") {
		t.Fatalf("RewardBackward after a lean forward pass: %v, want a refusal", err)
	}
	if _, err := m.RewardForward(tokens, B, T, lengths, true, 1); err != nil {
		t.Fatal(err)
	}
	if m.ws.lean {
		t.Fatal("an unpacked model's pass kept the lean workspace")
	}
	if err := m.RewardBackward(dr); err != nil {
		t.Fatalf("RewardBackward after an unpacked forward pass: %v", err)
	}
	m.PackForInference()
	if _, err := m.RewardForward(tokens, B, T, lengths, false, 0); err != nil {
		t.Fatal(err)
	}
	if m.ws.lean {
		t.Error("packing a model that trained made its workspace lean (it would reallocate every step)")
	}
}
