package model_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/optim"
)

// benchConfigs are the configurations of bench/torch_compare.sh: the
// reference d=128, 2 layers, 4 heads, vocabulary 4096 (T = 64), and a
// wider, deeper d=256, 4 layers.
var benchConfigs = []struct {
	name string
	cfg  model.Config
}{
	{"d128L2", model.Config{VocabSize: 4096, NPositions: 64, NEmbd: 128, NLayer: 2, NHead: 4, PadID: 0, RewardHead: true,
		EmbdPdrop: 0.1, AttnPdrop: 0.1, ResidPdrop: 0.1}},
	{"d256L4", model.Config{VocabSize: 4096, NPositions: 64, NEmbd: 256, NLayer: 4, NHead: 4, PadID: 0, RewardHead: true,
		EmbdPdrop: 0.1, AttnPdrop: 0.1, ResidPdrop: 0.1}},
}

const benchT = 64

func benchModel(b *testing.B, cfg model.Config) *model.Model {
	m, err := model.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	m.InitWeights(1)
	return m
}

// benchTokens returns B full-length sequences of random tokens (no
// padding: every position is computed, as in the PyTorch baseline).
func benchTokens(cfg model.Config, B int) ([]int32, []int) {
	rng := rand.New(rand.NewPCG(2, 3))
	tokens := make([]int32, B*benchT)
	for i := range tokens {
		tokens[i] = int32(1 + rng.IntN(cfg.VocabSize-1))
	}
	lengths := make([]int, B)
	for i := range lengths {
		lengths[i] = benchT
	}
	return tokens, lengths
}

// BenchmarkRewardForward: rewards of 32 sequences of 64 tokens, no dropout.
func BenchmarkRewardForward(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(bc.name, func(b *testing.B) {
			m := benchModel(b, bc.cfg)
			tokens, lengths := benchTokens(bc.cfg, 32)
			for b.Loop() {
				if _, err := m.RewardForward(tokens, 32, benchT, lengths, false, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLMForward: LM loss of 32 sequences of 64 tokens (every position
// has a target), no dropout.
func BenchmarkLMForward(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(bc.name, func(b *testing.B) {
			m := benchModel(b, bc.cfg)
			tokens, _ := benchTokens(bc.cfg, 32)
			targets := append(tokens[1:], 1)
			for b.Loop() {
				if _, err := m.LMForward(tokens, 32, benchT, targets, nil, false, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBTTrainStep: one Bradley–Terry training step on 32 pairs (64
// sequences of 64 tokens) with dropout 0.1: forward, loss, backward,
// global-norm clipping, AdamW.
func BenchmarkBTTrainStep(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(bc.name, func(b *testing.B) {
			m := benchModel(b, bc.cfg)
			opt, err := optim.NewAdamWForModel(m, optim.DefaultAdamW())
			if err != nil {
				b.Fatal(err)
			}
			const P = 32
			tokens, lengths := benchTokens(bc.cfg, 2*P)
			dr := make([]float32, 2*P)
			step := uint64(0)
			for b.Loop() {
				step++
				r, err := m.RewardForward(tokens, 2*P, benchT, lengths, true, step)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := model.BradleyTerry(r[:P], r[P:], dr[:P], dr[P:]); err != nil {
					b.Fatal(err)
				}
				m.ZeroGrad()
				if err := m.RewardBackward(dr); err != nil {
					b.Fatal(err)
				}
				optim.ClipGradNorm(m.GradFlat, 1)
				opt.Step(1e-4)
			}
		})
	}
}

// BenchmarkLMTrainStep: one LM training step on 32 sequences of 64 tokens.
func BenchmarkLMTrainStep(b *testing.B) {
	for _, bc := range benchConfigs {
		b.Run(bc.name, func(b *testing.B) {
			m := benchModel(b, bc.cfg)
			opt, err := optim.NewAdamWForModel(m, optim.DefaultAdamW())
			if err != nil {
				b.Fatal(err)
			}
			tokens, _ := benchTokens(bc.cfg, 32)
			targets := append(tokens[1:], 1)
			step := uint64(0)
			for b.Loop() {
				step++
				if _, err := m.LMForward(tokens, 32, benchT, targets, nil, true, step); err != nil {
					b.Fatal(err)
				}
				m.ZeroGrad()
				if err := m.LMBackward(); err != nil {
					b.Fatal(err)
				}
				optim.ClipGradNorm(m.GradFlat, 1)
				opt.Step(1e-4)
			}
		})
	}
}

// BenchmarkDecodeStep: one KV-cache step for 32 sequences after 32-token
// prompts.
func BenchmarkDecodeStep(b *testing.B) {
	for _, bc := range benchConfigs[:1] {
		b.Run(bc.name, func(b *testing.B) {
			m := benchModel(b, bc.cfg)
			tokens, _ := benchTokens(bc.cfg, 32)
			kv, err := m.NewKVCache(32, benchT)
			if err != nil {
				b.Fatal(err)
			}
			lengths := make([]int, 32)
			for i := range lengths {
				lengths[i] = 32
			}
			next := make([]int32, 32)
			for i := range next {
				next[i] = int32(i + 1)
			}
			for b.Loop() {
				if kv.Lengths()[0] == benchT {
					b.StopTimer()
					if _, err := kv.Prefill(tokens, benchT, lengths); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				if _, err := kv.Step(next); err != nil {
					b.Fatal(fmt.Errorf("step: %w", err))
				}
			}
		})
	}
}
