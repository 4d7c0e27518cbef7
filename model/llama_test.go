package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model/llama"
)

// tinyLlamaConfigs are small configurations covering every code path of
// the Llama family: GQA, explicit head_dim, biases, q/k norms, windows,
// Gemma's norms and soft-caps, the three RoPE types.
var tinyLlamaConfigs = map[string]string{
	"llama": `{"model_type":"llama","architectures":["Llama%s"],"num_labels":1,"vocab_size":50,"hidden_size":32,"intermediate_size":48,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":40,"rms_norm_eps":1e-5,
		"rope_theta":500000,"rope_scaling":{"rope_type":"llama3","factor":8,"low_freq_factor":1,"high_freq_factor":4,"original_max_position_embeddings":8},
		"attention_bias":true,"mlp_bias":true,"pad_token_id":0,"tie_word_embeddings":false}`,
	"llama-linear": `{"model_type":"llama","architectures":["Llama%s"],"num_labels":1,"vocab_size":50,"hidden_size":32,"intermediate_size":48,
		"num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":40,"rope_scaling":{"type":"linear","factor":2},
		"pad_token_id":0,"tie_word_embeddings":true}`,
	"mistral": `{"model_type":"mistral","architectures":["Mistral%s"],"num_labels":1,"vocab_size":50,"hidden_size":32,"intermediate_size":48,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":1,"max_position_embeddings":40,"sliding_window":3,"pad_token_id":0}`,
	"qwen2": `{"model_type":"qwen2","architectures":["Qwen2%s"],"num_labels":1,"vocab_size":50,"hidden_size":32,"intermediate_size":48,
		"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":40,"rope_theta":1000000,
		"use_sliding_window":true,"sliding_window":4,"max_window_layers":1,"pad_token_id":0,"tie_word_embeddings":false}`,
	"qwen3": `{"model_type":"qwen3","architectures":["Qwen3%s"],"num_labels":1,"vocab_size":50,"hidden_size":32,"intermediate_size":48,"head_dim":12,
		"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":40,"pad_token_id":0,"tie_word_embeddings":true}`,
	"gemma2": `{"model_type":"gemma2","architectures":["Gemma2%s"],"num_labels":1,"vocab_size":50,"hidden_size":32,"intermediate_size":48,"head_dim":16,
		"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,"max_position_embeddings":40,"sliding_window":3,
		"query_pre_attn_scalar":12,"attn_logit_softcapping":1.5,"final_logit_softcapping":2.0,"pad_token_id":0}`,
}

func tinyLlamaConfig(t testing.TB, name string, head llama.Head) *llama.Config {
	t.Helper()
	js := fmt.Sprintf(tinyLlamaConfigs[name], head)
	cfg, err := llama.ParseConfig([]byte(js), name+".json")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// randomLlama draws O(1) weights for cfg from seed; half, when not 0,
// stores the matrices in that 16-bit format.
func randomLlama(t testing.TB, cfg *llama.Config, seed uint64, half kernels.Half) *Llama {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	vec := func(n int, mean, std float64) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(mean + std*rng.NormFloat64())
		}
		return v
	}
	mat := func(rows, cols int) Matrix {
		v := vec(rows*cols, 0, 1/math.Sqrt(float64(cols)))
		if half == 0 {
			return Matrix{Rows: rows, Cols: cols, F32: v}
		}
		h := make([]uint16, len(v))
		for i, f := range v {
			h[i] = uint16(math.Float32bits(f) >> 16)
		}
		return Matrix{Rows: rows, Cols: cols, Half: half, H: h}
	}
	opt := func(on bool, n int) []float32 {
		if !on {
			return nil
		}
		return vec(n, 0, 0.2)
	}
	normMean := 1.0
	if cfg.Gemma {
		normMean = 0 // applied as 1 + w
	}
	c := cfg
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	w := LlamaWeights{Embed: mat(c.VocabSize, c.Hidden), Norm: vec(c.Hidden, normMean, 0.2)}
	for range c.Layers {
		w.Layers = append(w.Layers, LlamaLayer{
			InputNorm: vec(c.Hidden, normMean, 0.2), PostAttnNorm: vec(c.Hidden, normMean, 0.2),
			PreFFNorm: opt(c.Gemma, c.Hidden), PostFFNorm: opt(c.Gemma, c.Hidden),
			Q: mat(q, c.Hidden), K: mat(kv, c.Hidden), V: mat(kv, c.Hidden), O: mat(c.Hidden, q),
			QB: opt(c.QKVBias, q), KB: opt(c.QKVBias, kv), VB: opt(c.QKVBias, kv), OB: opt(c.OBias, c.Hidden),
			QNorm: opt(c.QKNorm, c.HeadDim), KNorm: opt(c.QKNorm, c.HeadDim),
			Gate: mat(c.Intermediate, c.Hidden), Up: mat(c.Intermediate, c.Hidden), Down: mat(c.Hidden, c.Intermediate),
			GateB: opt(c.MLPBias, c.Intermediate), UpB: opt(c.MLPBias, c.Intermediate), DownB: opt(c.MLPBias, c.Hidden),
		})
	}
	if c.Head == llama.SequenceClassification {
		s := mat(1, c.Hidden)
		w.Score = &s
	} else if c.TieEmbeddings {
		w.LMHead = &w.Embed
	} else {
		lm := mat(c.VocabSize, c.Hidden)
		w.LMHead = &lm
	}
	m, err := NewLlama(cfg, w)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// refLlama is a direct float64 transcription of Hugging Face's modeling
// code for one sequence: the hidden states after the final norm, [T][H].
func refLlama(m *Llama, seq []int32) [][]float64 {
	c := m.Config
	H, hd := c.Hidden, c.HeadDim
	w := &m.W
	get := func(mt *Matrix, r, col int) float64 {
		if mt.H != nil {
			return float64(mt.Half.Widen(mt.H[r*mt.Cols+col]))
		}
		return float64(mt.F32[r*mt.Cols+col])
	}
	linear := func(x []float64, mt *Matrix, b []float32) []float64 {
		out := make([]float64, mt.Rows)
		for r := range out {
			s := 0.0
			for j, v := range x {
				s += v * get(mt, r, j)
			}
			if b != nil {
				s += float64(b[r])
			}
			out[r] = s
		}
		return out
	}
	norm := func(x []float64, wt []float32, onePlus bool) []float64 {
		ss := 0.0
		for _, v := range x {
			ss += v * v
		}
		rs := 1 / math.Sqrt(ss/float64(len(x))+c.RMSNormEps)
		out := make([]float64, len(x))
		for j, v := range x {
			g := float64(wt[j])
			if onePlus {
				g = 1 + g
			}
			out[j] = v * rs * g
		}
		return out
	}
	inv := c.InvFreq()
	rope := func(x []float64, pos int) {
		half := hd / 2
		for h := 0; h < len(x)/hd; h++ {
			for i := range half {
				a, b := x[h*hd+i], x[h*hd+half+i]
				th := float64(float32(pos) * inv[i])
				x[h*hd+i] = a*math.Cos(th) - b*math.Sin(th)
				x[h*hd+half+i] = b*math.Cos(th) + a*math.Sin(th)
			}
		}
	}
	T := len(seq)
	xs := make([][]float64, T)
	for t, tok := range seq {
		xs[t] = make([]float64, H)
		for j := range H {
			xs[t][j] = get(&w.Embed, int(tok), j) * float64(float32(c.EmbeddingScale))
		}
	}
	for l := range c.Layers {
		L := &w.Layers[l]
		qs, ks, vs := make([][]float64, T), make([][]float64, T), make([][]float64, T)
		for t := range T {
			h := norm(xs[t], L.InputNorm, c.Gemma)
			qs[t], ks[t], vs[t] = linear(h, &L.Q, L.QB), linear(h, &L.K, L.KB), linear(h, &L.V, L.VB)
			if c.QKNorm {
				for hh := range c.Heads {
					copy(qs[t][hh*hd:], norm(qs[t][hh*hd:(hh+1)*hd], L.QNorm, false))
				}
				for hh := range c.KVHeads {
					copy(ks[t][hh*hd:], norm(ks[t][hh*hd:(hh+1)*hd], L.KNorm, false))
				}
			}
			rope(qs[t], t)
			rope(ks[t], t)
		}
		for t := range T {
			att := make([]float64, c.Heads*hd)
			for hh := range c.Heads {
				kh := hh / c.KVGroups()
				lo := 0
				if win := c.Window(l); win > 0 {
					lo = max(0, t-win+1)
				}
				sc := make([]float64, t+1)
				mx := math.Inf(-1)
				for j := lo; j <= t; j++ {
					s := 0.0
					for i := range hd {
						s += qs[t][hh*hd+i] * ks[j][kh*hd+i]
					}
					s *= c.AttentionScale
					if c.AttnLogitSoftcap > 0 {
						s = math.Tanh(s/c.AttnLogitSoftcap) * c.AttnLogitSoftcap
					}
					sc[j] = s
					mx = math.Max(mx, s)
				}
				z := 0.0
				for j := lo; j <= t; j++ {
					sc[j] = math.Exp(sc[j] - mx)
					z += sc[j]
				}
				for j := lo; j <= t; j++ {
					for i := range hd {
						att[hh*hd+i] += sc[j] / z * vs[j][kh*hd+i]
					}
				}
			}
			o := linear(att, &L.O, L.OB)
			if c.Gemma {
				o = norm(o, L.PostAttnNorm, true)
			}
			res := make([]float64, H)
			for j := range res {
				res[j] = xs[t][j] + o[j]
			}
			var h []float64
			if c.Gemma {
				h = norm(res, L.PreFFNorm, true)
			} else {
				h = norm(res, L.PostAttnNorm, false)
			}
			g, u := linear(h, &L.Gate, L.GateB), linear(h, &L.Up, L.UpB)
			for j, x := range g {
				if c.Activation == "gelu_pytorch_tanh" {
					g[j] = 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x))) * u[j]
				} else {
					g[j] = x / (1 + math.Exp(-x)) * u[j]
				}
			}
			d := linear(g, &L.Down, L.DownB)
			if c.Gemma {
				d = norm(d, L.PostFFNorm, true)
			}
			xs[t] = res // keys of later positions were computed above
			for j := range res {
				xs[t][j] += d[j]
			}
		}
	}
	for t := range T {
		xs[t] = norm(xs[t], w.Norm, c.Gemma)
	}
	return xs
}

func refLogits(m *Llama, h []float64) []float64 {
	c := m.Config
	out := make([]float64, c.VocabSize)
	for v := range out {
		s := 0.0
		for j, x := range h {
			s += x * float64(m.W.LMHead.get(v, j))
		}
		if c.FinalLogitSoftcap > 0 {
			s = math.Tanh(s/c.FinalLogitSoftcap) * c.FinalLogitSoftcap
		}
		out[v] = s
	}
	return out
}

func (w *Matrix) get(r, c int) float32 {
	if w.H != nil {
		return w.Half.Widen(w.H[r*w.Cols+c])
	}
	return w.F32[r*w.Cols+c]
}

func randSeqs(rng *rand.Rand, lens []int, V int) [][]int32 {
	seqs := make([][]int32, len(lens))
	for b, n := range lens {
		for range n {
			seqs[b] = append(seqs[b], int32(1+rng.IntN(V-1)))
		}
	}
	return seqs
}

func closeRel(got float32, want, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol*math.Max(1, math.Abs(want))
}

// TestLlamaMatchesReference compares rewards and logits with the float64
// transcription of Hugging Face's code, for every family, F32 and BF16.
func TestLlamaMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lens := []int{1, 7, 13, 20}
	for name := range tinyLlamaConfigs {
		for _, half := range []kernels.Half{0, kernels.BF16} {
			t.Run(fmt.Sprintf("%s/%v", name, half), func(t *testing.T) {
				seqs := randSeqs(rng, lens, 50)
				rm := randomLlama(t, tinyLlamaConfig(t, name, llama.SequenceClassification), 11, half)
				r, err := rm.Rewards(seqs)
				if err != nil {
					t.Fatal(err)
				}
				for b, s := range seqs {
					h := refLlama(rm, s)
					want := 0.0
					for j, x := range h[len(s)-1] {
						want += x * float64(rm.W.Score.get(0, j))
					}
					if !closeRel(r[b], want, 1e-4) {
						t.Errorf("reward %d: %v, reference %v", b, r[b], want)
					}
				}
				lm := randomLlama(t, tinyLlamaConfig(t, name, llama.CausalLM), 12, half)
				logits, err := lm.Logits(seqs)
				if err != nil {
					t.Fatal(err)
				}
				V, row := 50, 0
				for _, s := range seqs {
					h := refLlama(lm, s)
					for tt := range s {
						want := refLogits(lm, h[tt])
						for v := range V {
							if !closeRel(logits[row*V+v], want[v], 1e-4) {
								t.Fatalf("logit (row %d, token %d): %v, reference %v", row, v, logits[row*V+v], want[v])
							}
						}
						row++
					}
				}
			})
		}
	}
}

// TestLlamaKVCacheMatchesLogits decodes ragged prompts token by token and
// checks every step's logits against the full forward pass.
func TestLlamaKVCacheMatchesLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for name := range tinyLlamaConfigs {
		t.Run(name, func(t *testing.T) {
			m := randomLlama(t, tinyLlamaConfig(t, name, llama.CausalLM), 13, 0)
			full := randSeqs(rng, []int{12, 15, 9}, 50)
			prompt := [][]int32{full[0][:3], full[1][:6], full[2][:1]}
			kv, err := m.NewLlamaKVCache(3, 16)
			if err != nil {
				t.Fatal(err)
			}
			got, err := kv.Prefill(prompt)
			if err != nil {
				t.Fatal(err)
			}
			V := 50
			for step := 0; ; step++ {
				for b := range full {
					n := len(prompt[b]) + step
					if n > len(full[b]) {
						continue
					}
					want, err := m.Logits([][]int32{full[b][:n]})
					if err != nil {
						t.Fatal(err)
					}
					want = want[(n-1)*V:]
					for v := range V {
						if !closeRel(got[b*V+v], float64(want[v]), 1e-5) {
							t.Fatalf("step %d sequence %d token %d: cache %v, full pass %v", step, b, v, got[b*V+v], want[v])
						}
					}
				}
				if step == 8 {
					break
				}
				next := make([]int32, 3)
				for b := range next {
					if n := len(prompt[b]) + step; n < len(full[b]) {
						next[b] = full[b][n]
					}
				}
				// Re-read the cache's logits: Logits above used the workspace.
				if got, err = kv.Step(next); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestLlamaThreadsBitIdentical checks that rewards do not depend on the
// thread count.
func TestLlamaThreadsBitIdentical(t *testing.T) {
	defer kernels.SetThreads(kernels.Threads())
	rng := rand.New(rand.NewPCG(8, 9))
	m := randomLlama(t, tinyLlamaConfig(t, "gemma2", llama.SequenceClassification), 14, kernels.BF16)
	seqs := randSeqs(rng, []int{30, 17, 40, 2, 33}, 50)
	var first []float32
	for _, th := range []int{1, 2, 4} {
		kernels.SetThreads(th)
		r, err := m.Rewards(seqs)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = r
			continue
		}
		for b := range r {
			if math.Float32bits(r[b]) != math.Float32bits(first[b]) {
				t.Fatalf("threads %d: reward %d = %v, with 1 thread %v", th, b, r[b], first[b])
			}
		}
	}
}

// TestLlamaRewardIndex checks the reward position rule and the bad-input
// errors.
func TestLlamaRewardIndex(t *testing.T) {
	m := randomLlama(t, tinyLlamaConfig(t, "qwen2", llama.SequenceClassification), 15, 0)
	for _, c := range []struct {
		seq  []int32
		want int
	}{{[]int32{5, 6, 7}, 2}, {[]int32{5, 6, 0, 0}, 1}, {[]int32{5, 0, 6, 0}, 2}, {[]int32{0, 0}, 0}} {
		if got := m.RewardIndex(c.seq); got != c.want {
			t.Errorf("RewardIndex(%v) = %d, want %d", c.seq, got, c.want)
		}
	}
	// A trailing pad changes nothing: the reward is read before it.
	r, err := m.Rewards([][]int32{{5, 6, 7}, {5, 6, 7, 0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if r[0] != r[1] {
		t.Errorf("trailing pads changed the reward: %v vs %v", r[0], r[1])
	}
	for _, bad := range [][][]int32{{{}}, {{1, 50}}, {{-1}}, {make([]int32, 41)}} {
		if _, err := m.Rewards(bad); err == nil {
			t.Errorf("Rewards(%v) succeeded", bad)
		}
	}
	if _, err := m.Logits([][]int32{{1}}); err == nil {
		t.Error("Logits on a reward model succeeded")
	}
}

// TestLlamaCompactLastLayer checks that Rewards, whose last layer runs
// only at the reward rows, gives the rewards of the full pass (every layer
// at every row, the reward read at the last row), for every family, F32
// and BF16, ragged and with sliding windows: bit for bit with F32 weights;
// with BF16 ones within float32 rounding, since a product of at most
// kernels.HalfDirectRows rows (here the 5 reward rows) takes the direct
// row kernel, which sums in another order than the packed GEMM.
func TestLlamaCompactLastLayer(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for name := range tinyLlamaConfigs {
		for _, half := range []kernels.Half{0, kernels.BF16} {
			t.Run(fmt.Sprintf("%s/%v", name, half), func(t *testing.T) {
				m := randomLlama(t, tinyLlamaConfig(t, name, llama.SequenceClassification), 23, half)
				seqs := randSeqs(rng, []int{1, 9, 33, 20, 2}, 50)
				got, err := m.Rewards(seqs)
				if err != nil {
					t.Fatal(err)
				}
				N := m.setupPass(seqs)
				m.trunk(N, nil, false)
				H := m.Config.Hidden
				last := make([]float32, len(seqs)*H)
				for b, sp := range m.ws.spans {
					copy(last[b*H:(b+1)*H], m.ws.x[(sp.qrow+sp.n-1)*H:][:H])
				}
				m.finalNorm(last, len(seqs))
				want := make([]float32, len(seqs))
				m.W.Score.mul(want, last, len(seqs))
				for b := range want {
					same := math.Float32bits(got[b]) == math.Float32bits(want[b])
					if half != 0 {
						same = closeRel(got[b], float64(want[b]), 1e-5)
					}
					if !same {
						t.Errorf("sequence %d (%d tokens): compact last layer %v, full pass %v", b, len(seqs[b]), got[b], want[b])
					}
				}
			})
		}
	}
}
