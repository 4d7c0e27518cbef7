package model

// A float64 reference implementation of every operation and of the whole
// model, written for clarity (one sequence at a time, every position, no
// packing), used to check the float32 engine: its forward against the
// engine's, and its central finite differences (accurate in float64)
// against the engine's backward.

import (
	"math"
	"math/rand/v2"
)

func f64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

// randF32 returns n values N(0, std) rounded to float32.
func randF32(rng *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * std)
	}
	return x
}

// maskOf returns the multipliers (0 or 1/(1-p)) that d applies to a row of
// n elements with the given key.
func maskOf(d dropout, key uint64, n int) []float64 {
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	if d.active {
		d.apply(ones, key)
	}
	return f64(ones)
}

func refLayerNorm(x, w, b []float64, N, C int, eps float64) []float64 {
	out := make([]float64, N*C)
	for r := range N {
		row := x[r*C : r*C+C]
		var m, v float64
		for _, e := range row {
			m += e
		}
		m /= float64(C)
		for _, e := range row {
			v += (e - m) * (e - m)
		}
		v /= float64(C)
		rs := 1 / math.Sqrt(v+eps)
		for j, e := range row {
			out[r*C+j] = (e-m)*rs*w[j] + b[j]
		}
	}
	return out
}

func refMatmul(x, W, b []float64, N, IC, OC int) []float64 {
	out := make([]float64, N*OC)
	for r := range N {
		for o := range OC {
			s := 0.0
			if b != nil {
				s = b[o]
			}
			for i := range IC {
				s += x[r*IC+i] * W[i*OC+o]
			}
			out[r*OC+o] = s
		}
	}
	return out
}

func refGelu(x []float64) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
	}
	return out
}

// refAttention computes the attention output rows [qlo, n) of one sequence
// from its qkv rows [n, 3C]; mask(h, t, n) gives the dropout multipliers of
// the probabilities of query t of head h.
func refAttention(qkv []float64, n, qlo, NH, C int, mask func(h, t, n int) []float64) []float64 {
	hd := C / NH
	scale := 1 / math.Sqrt(float64(hd))
	out := make([]float64, (n-qlo)*C)
	for h := range NH {
		for t := qlo; t < n; t++ {
			s := make([]float64, t+1)
			mx := math.Inf(-1)
			for j := 0; j <= t; j++ {
				var d float64
				for i := range hd {
					d += qkv[t*3*C+h*hd+i] * qkv[j*3*C+C+h*hd+i]
				}
				s[j] = d * scale
				mx = math.Max(mx, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			mk := mask(h, t, t+1)
			for j := range s {
				p := s[j] / sum * mk[j]
				for i := range hd {
					out[(t-qlo)*C+h*hd+i] += p * qkv[j*3*C+2*C+h*hd+i]
				}
			}
		}
	}
	return out
}

// refCE returns Σ_r w[r]·CE(logits[r], targets[r]) / norm.
func refCE(logits []float64, targets []int32, w []float64, N, V int, norm float64) float64 {
	var loss float64
	for r := range N {
		l := logits[r*V : r*V+V]
		mx := math.Inf(-1)
		for _, v := range l {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range l {
			s += math.Exp(v - mx)
		}
		loss += w[r] * (math.Log(s) + mx - l[targets[r]])
	}
	return loss / norm
}

// refModel is the whole GPT-2 in float64 over a copy of a Model's
// parameters.
type refModel struct {
	cfg  Config
	flat []float64
	off  map[string]int
	m    *Model // for the dropout masks
}

func newRef(m *Model) *refModel {
	r := &refModel{cfg: m.Config, flat: f64(m.Flat), off: map[string]int{}, m: m}
	for _, p := range m.Params() {
		r.off[p.Name] = p.Offset
	}
	return r
}

func (r *refModel) p(name string, n int) []float64 {
	o, ok := r.off[name]
	if !ok {
		panic("no parameter " + name)
	}
	return r.flat[o : o+n]
}

// sequence runs sequence b (tokens of its row, all n positions) and returns
// the final LayerNorm output [n, C]. Dropout (train) uses the engine's
// masks for (seed, layer, site, row).
func (r *refModel) sequence(tokens []int32, b, n int, train bool, seed uint64) []float64 {
	c := r.cfg
	C, NH := c.NEmbd, c.NHead
	eps := float64(c.Eps())
	drop := func(p float32, l, site int) dropout { return newDropout(p, train, seed, l, site) }
	wte := r.p("transformer.wte.weight", c.VocabSize*C)
	wpe := r.p("transformer.wpe.weight", c.NPositions*C)
	x := make([]float64, n*C)
	de := drop(c.EmbdPdrop, 0, siteEmbd)
	for t := range n {
		mk := maskOf(de, de.rowKey(b, t), C)
		for j := range C {
			x[t*C+j] = (wte[int(tokens[t])*C+j] + wpe[t*C+j]) * mk[j]
		}
	}
	for l := range c.NLayer {
		pre := "transformer.h." + itoa(l) + "."
		h := refLayerNorm(x, r.p(pre+"ln_1.weight", C), r.p(pre+"ln_1.bias", C), n, C, eps)
		qkv := refMatmul(h, r.p(pre+"attn.c_attn.weight", 3*C*C), r.p(pre+"attn.c_attn.bias", 3*C), n, C, 3*C)
		da := drop(c.AttnPdrop, l, siteAttnProbs)
		y := refAttention(qkv, n, 0, NH, C, func(hh, t, k int) []float64 { return maskOf(da, da.rowKey(b, hh<<32|t), k) })
		a := refMatmul(y, r.p(pre+"attn.c_proj.weight", C*C), r.p(pre+"attn.c_proj.bias", C), n, C, C)
		dr := drop(c.ResidPdrop, l, siteAttnResid)
		for t := range n {
			mk := maskOf(dr, dr.rowKey(b, t), C)
			for j := range C {
				x[t*C+j] += a[t*C+j] * mk[j]
			}
		}
		h2 := refLayerNorm(x, r.p(pre+"ln_2.weight", C), r.p(pre+"ln_2.bias", C), n, C, eps)
		f := refGelu(refMatmul(h2, r.p(pre+"mlp.c_fc.weight", 4*C*C), r.p(pre+"mlp.c_fc.bias", 4*C), n, C, 4*C))
		o := refMatmul(f, r.p(pre+"mlp.c_proj.weight", 4*C*C), r.p(pre+"mlp.c_proj.bias", C), n, 4*C, C)
		dm := drop(c.ResidPdrop, l, siteMLPResid)
		for t := range n {
			mk := maskOf(dm, dm.rowKey(b, t), C)
			for j := range C {
				x[t*C+j] += o[t*C+j] * mk[j]
			}
		}
	}
	return refLayerNorm(x, r.p("transformer.ln_f.weight", C), r.p("transformer.ln_f.bias", C), n, C, eps)
}

// rewards computes every sequence's reward on its full padded row of T
// tokens (pads included, as Hugging Face does), read at lengths[b]-1.
func (r *refModel) rewards(tokens []int32, B, T int, lengths []int, train bool, seed uint64) []float64 {
	C := r.cfg.NEmbd
	score := r.p("score.weight", C)
	out := make([]float64, B)
	for b := range B {
		lnf := r.sequence(tokens[b*T:b*T+T], b, T, train, seed)
		last := lnf[(lengths[b]-1)*C : lengths[b]*C]
		for j := range C {
			out[b] += last[j] * score[j]
		}
	}
	return out
}

// lmLoss is Σ w·CE / (number of non-zero weights) over the full padded
// batch.
func (r *refModel) lmLoss(tokens, targets []int32, w []float32, B, T int, train bool, seed uint64) float64 {
	C, V := r.cfg.NEmbd, r.cfg.VocabSize
	wte := r.p("transformer.wte.weight", V*C)
	var loss float64
	nnz := 0
	for b := range B {
		lnf := r.sequence(tokens[b*T:b*T+T], b, T, train, seed)
		logits := refMatmulT(lnf, wte, T, C, V)
		for t := range T {
			wt := float64(w[b*T+t])
			if wt == 0 {
				continue
			}
			nnz++
			loss += refCE(logits[t*V:t*V+V], targets[b*T+t:b*T+t+1], []float64{wt}, 1, V, 1)
		}
	}
	return loss / float64(nnz)
}

// refMatmulT returns x[N,C] · wᵀ for w [V, C].
func refMatmulT(x, w []float64, N, C, V int) []float64 {
	out := make([]float64, N*V)
	for r := range N {
		for v := range V {
			var s float64
			for j := range C {
				s += x[r*C+j] * w[v*C+j]
			}
			out[r*V+v] = s
		}
	}
	return out
}

func refBT(rw []float64) float64 {
	P := len(rw) / 2
	var loss float64
	for i := range P {
		d := rw[i] - rw[P+i]
		loss += math.Log1p(math.Exp(-d))
	}
	return loss / float64(P)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
