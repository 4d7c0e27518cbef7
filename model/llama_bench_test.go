package model

import (
	"math/rand/v2"
	"testing"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model/llama"
)

// BenchmarkLlamaRewards times a reward forward of 8 × 256 tokens through
// layers of Qwen2-0.5B's shape (hidden 896, 14 heads, 2 KV heads, FFN 4864;
// 4 layers and a 1,000-token vocabulary to keep it short), BF16 weights:
// "compact" is Rewards (the last layer only at the reward rows), "full" the
// same pass with every layer at every row. The saving is nearly one layer
// in Layers, so with Qwen2-0.5B's 24 it is about a sixth of this one's.
func BenchmarkLlamaRewards(b *testing.B) {
	js := `{"model_type":"qwen2","architectures":["Qwen2ForSequenceClassification"],"num_labels":1,"vocab_size":1000,
		"hidden_size":896,"intermediate_size":4864,"num_hidden_layers":4,"num_attention_heads":14,"num_key_value_heads":2,
		"max_position_embeddings":512,"rope_theta":1000000,"pad_token_id":0,"tie_word_embeddings":true}`
	cfg, err := llama.ParseConfig([]byte(js), "bench.json")
	if err != nil {
		b.Fatal(err)
	}
	m := randomLlama(b, cfg, 1, kernels.BF16)
	rng := rand.New(rand.NewPCG(1, 2))
	seqs := randSeqs(rng, []int{256, 256, 256, 256, 256, 256, 256, 256}, 1000)
	full := func() {
		N := m.setupPass(seqs)
		m.trunk(N, nil, false)
		H := m.Config.Hidden
		last := growF32(m.ws.last, len(seqs)*H)
		for b, sp := range m.ws.spans {
			copy(last[b*H:(b+1)*H], m.ws.x[(sp.qrow+sp.n-1)*H:][:H])
		}
		m.finalNorm(last, len(seqs))
		r := make([]float32, len(seqs))
		m.W.Score.mul(r, last, len(seqs))
	}
	for _, v := range []struct {
		name string
		run  func()
	}{
		{"compact", func() {
			if _, err := m.Rewards(seqs); err != nil {
				b.Fatal(err)
			}
		}},
		{"full", full},
	} {
		b.Run(v.name, func(b *testing.B) {
			v.run()
			b.ResetTimer()
			for range b.N {
				v.run()
			}
			b.ReportMetric(float64(b.N*8*256)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
