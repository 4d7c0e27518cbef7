package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model/llama"
)

// BenchmarkLlamaRewards times a reward forward of 8 × 256 tokens through
// layers of Qwen2-0.5B's shape (hidden 896, 14 heads, 2 KV heads, FFN 4864;
// 4 layers, and its 24, with a 1,000-token vocabulary), BF16 weights, two
// ways in each iteration: Rewards ("compact": the last layer only at the
// reward rows) and the same pass with every layer at every row ("full");
// x-speedup is full time over compact time. The saving is nearly one layer
// in Layers: about a quarter at 4, a twenty-fourth at 24.
func BenchmarkLlamaRewards(b *testing.B) {
	for _, layers := range []int{4, 24} {
		b.Run(fmt.Sprintf("layers=%d", layers), func(b *testing.B) { benchLlamaRewards(b, layers) })
	}
}

func benchLlamaRewards(b *testing.B, layers int) {
	js := fmt.Sprintf(`{"model_type":"qwen2","architectures":["Qwen2ForSequenceClassification"],"num_labels":1,"vocab_size":1000,
		"hidden_size":896,"intermediate_size":4864,"num_hidden_layers":%d,"num_attention_heads":14,"num_key_value_heads":2,
		"max_position_embeddings":512,"rope_theta":1000000,"pad_token_id":0,"tie_word_embeddings":true}`, layers)
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
	compact := func() {
		if _, err := m.Rewards(seqs); err != nil {
			b.Fatal(err)
		}
	}
	compact()
	full()
	var tc, tf time.Duration
	for b.Loop() {
		t0 := time.Now()
		compact()
		t1 := time.Now()
		full()
		tc += t1.Sub(t0)
		tf += time.Since(t1)
	}
	tokens := float64(b.N * 8 * 256)
	b.ReportMetric(tf.Seconds()/tc.Seconds(), "x-speedup")
	b.ReportMetric(tokens/tc.Seconds(), "compact-tokens/s")
	b.ReportMetric(tokens/tf.Seconds(), "full-tokens/s")
}
