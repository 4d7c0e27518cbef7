package policy

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/sample"
)

// benchModel is the demo's policy shape (d=128, 2 layers, 4 heads) with a
// context long enough for 128 new tokens after a 16-token prompt.
func benchModel(b *testing.B) *model.Model {
	m, err := model.New(model.Config{VocabSize: 1024, NPositions: 160, NEmbd: 128, NLayer: 2, NHead: 4, PadID: 1})
	if err != nil {
		b.Fatal(err)
	}
	m.InitWeights(1)
	return m
}

func benchRequests(n int) []sample.Request {
	reqs := make([]sample.Request, n)
	for i := range reqs {
		p := make([]int32, 16)
		for j := range p {
			p[j] = int32((i*31 + j*7) % 1000)
		}
		reqs[i] = sample.Request{Prompt: p, N: 1}
	}
	return reqs
}

// generate draws 32 samples of exactly tokens tokens (no EOS can stop them).
func generate(b *testing.B, m *model.Model, tokens int, noCache bool) {
	generateWith(b, m, sample.Config{Temperature: 1, MaxTokens: tokens, Seed: 1, BatchSize: 32, NoCache: noCache})
}

// generateWith draws one sample for each of cfg.BatchSize prompts.
func generateWith(b *testing.B, m *model.Model, cfg sample.Config) {
	if _, err := sample.Generate(context.Background(), m, benchRequests(cfg.BatchSize), -1, cfg); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGenerate measures sampling 32 sequences of 64 and 128 new tokens
// with the KV cache and by recomputing every position (samples/s).
func BenchmarkGenerate(b *testing.B) {
	m := benchModel(b)
	for _, tokens := range []int{64, 128} {
		for _, noCache := range []bool{false, true} {
			name := fmt.Sprintf("tokens=%d/cache", tokens)
			if noCache {
				name = fmt.Sprintf("tokens=%d/nocache", tokens)
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					generate(b, m, tokens, noCache)
				}
				b.ReportMetric(32*float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// BenchmarkKVCacheSpeedup times both ways in the same iteration and reports
// their ratio (no-cache time / cache time), so machine load affects both
// alike.
func BenchmarkKVCacheSpeedup(b *testing.B) {
	m := benchModel(b)
	for _, tokens := range []int{64, 128} {
		b.Run(fmt.Sprintf("tokens=%d", tokens), func(b *testing.B) {
			var cache, full time.Duration
			for b.Loop() {
				t0 := time.Now()
				generate(b, m, tokens, false)
				t1 := time.Now()
				generate(b, m, tokens, true)
				cache += t1.Sub(t0)
				full += time.Since(t1)
			}
			b.ReportMetric(full.Seconds()/cache.Seconds(), "x-speedup")
			b.ReportMetric(32*float64(b.N)/cache.Seconds(), "cache-samples/s")
			b.ReportMetric(32*float64(b.N)/full.Seconds(), "nocache-samples/s")
		})
	}
}

// BenchmarkPackedGenerate times sampling with the weights packed once for
// the generation (sample.Generate's default) and packed again by every
// product (NoPack) in the same iteration, and reports the ratio (unpacked
// time / packed time), for the demo's policy shape and for the ETHICS
// members' (d=128, 4 layers, vocabulary 4096, 40 new tokens).
func BenchmarkPackedGenerate(b *testing.B) {
	ethics, err := model.New(model.Config{VocabSize: 4096, NPositions: 64, NEmbd: 128, NLayer: 4, NHead: 4, PadID: 1})
	if err != nil {
		b.Fatal(err)
	}
	ethics.InitWeights(1)
	for _, c := range []struct {
		name   string
		m      *model.Model
		tokens int
	}{{"demo-64", benchModel(b), 64}, {"ethics-40", ethics, 40}} {
		b.Run(c.name, func(b *testing.B) {
			var packed, unpacked time.Duration
			cfg := sample.Config{Temperature: 1, MaxTokens: c.tokens, Seed: 1, BatchSize: 64}
			for b.Loop() {
				t0 := time.Now()
				generateWith(b, c.m, cfg)
				t1 := time.Now()
				cfg.NoPack = true
				generateWith(b, c.m, cfg)
				cfg.NoPack = false
				packed += t1.Sub(t0)
				unpacked += time.Since(t1)
			}
			b.ReportMetric(unpacked.Seconds()/packed.Seconds(), "x-speedup")
		})
	}
}

// BenchmarkRLStep measures one RL step on the demo shape: 16 prompts × 4
// samples of up to 40 tokens, a reward model scoring them, log-probabilities
// under the policy and the SFT policy, the policy-gradient backward pass and
// AdamW (steps/s).
func BenchmarkRLStep(b *testing.B) {
	f := getFixture(b)
	mk := func(reward bool, seed uint64) *model.Model {
		m, err := model.New(model.Config{VocabSize: f.tok.VocabSize(), NPositions: 96, NEmbd: 128, NLayer: 2, NHead: 4, PadID: f.tok.Pad(), RewardHead: reward})
		if err != nil {
			b.Fatal(err)
		}
		m.InitWeights(seed)
		return m
	}
	rm, err := NewRM("rm", mk(true, 2), f.tok)
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultRLConfig()
	cfg.Train.Steps = 1 << 30
	cfg.SaveEvery = 1 << 30
	prompts := append(append([]string(nil), f.prompts...), f.prompts...)
	o := RLOptions{Out: b.TempDir(), Config: cfg, Policy: &Policy{Name: "bench", Model: mk(false, 1), Tok: f.tok},
		Reward: rm, Control: Gold{}, TrainPrompts: prompts, EvalPrompts: f.prompts[:2]}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	steps := 0
	o.Progress = func(RLStep) {
		steps++
		if steps == b.N {
			cancel()
		}
	}
	b.ResetTimer()
	if _, err := RL(ctx, o); err != nil && ctx.Err() == nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
}
