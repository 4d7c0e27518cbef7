package model

// The operations of the Llama family (Llama, Mistral, Qwen2, Qwen3,
// Gemma2), beside GPT-2's in ops.go and in the same style: flat row-major
// float32 buffers, parallel over rows (or over sequence × head) through
// kernels.ParallelFor, every output element computed by the same sequence
// of operations whatever the thread count, so results are bit-identical
// across thread counts. Each forward op keeps the layout its backward pass
// will need (RMSNorm returns its 1/rms per row; attention works over the
// same spans GPT-2's does) so that the fine-tuning issue can add the
// backward functions beside these.

import (
	"math"

	"github.com/warm-rm/warm/kernels"
)

// ---------------------------------------------------------------------------
// RMSNorm over the last dimension: out = x / rms(x) · w, rms(x) =
// √(mean(x²) + eps), or · (1 + w) for Gemma (onePlus). Hugging Face computes
// both in float32 (LlamaRMSNorm, Gemma2RMSNorm); so does this. rstd[r]
// keeps 1/rms of row r for the backward pass (may be nil).

func rmsnormForward(out, rstd, inp, w []float32, N, C int, eps float32, onePlus bool) {
	parallelRows(N, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x := inp[r*C : r*C+C]
			rs := float32(1 / math.Sqrt(float64(rowSqDev(x, 0)/float32(C)+eps)))
			o := out[r*C : r*C+C]
			if onePlus {
				for j, v := range x {
					o[j] = v * rs * (1 + w[j])
				}
			} else {
				for j, v := range x {
					o[j] = w[j] * (v * rs)
				}
			}
			if rstd != nil {
				rstd[r] = rs
			}
		}
	})
}

// headRMSNormForward applies RMSNorm (weight w, width hd) to every head of
// every row of x in place: Qwen3's q_norm and k_norm. x is [N, nh*hd].
func headRMSNormForward(x, w []float32, N, nh, hd int, eps float32) {
	rmsnormForward(x, nil, x, w, N*nh, hd, eps, false)
}

// ---------------------------------------------------------------------------
// Rotary position embedding, Hugging Face's rotate_half convention: within
// each head, channel i < hd/2 pairs with channel i + hd/2, and the pair
// (a, b) at position p becomes (a·cos θ − b·sin θ, b·cos θ + a·sin θ),
// θ = p · invFreq[i].

// ropeTable holds cos θ and sin θ for every position and frequency:
// cos[p*half+i], sin[p*half+i].
type ropeTable struct {
	half     int
	cos, sin []float32
}

// newRopeTable tabulates positions [0, positions) for the inverse
// frequencies invFreq. The angle is rounded to float32 as Hugging Face's
// float32 product of positions and inverse frequencies is; cos and sin are
// then evaluated in float64 and rounded.
func newRopeTable(invFreq []float32, positions int) ropeTable {
	half := len(invFreq)
	t := ropeTable{half: half, cos: make([]float32, positions*half), sin: make([]float32, positions*half)}
	for p := range positions {
		for i, f := range invFreq {
			a := float64(float32(p) * f)
			t.cos[p*half+i] = float32(math.Cos(a))
			t.sin[p*half+i] = float32(math.Sin(a))
		}
	}
	return t
}

// ropeForward rotates every head (nh heads of width hd = 2·half) of every
// row r of x ([N, nh*hd]) by position pos[r], in place.
func ropeForward(x []float32, pos []int32, t *ropeTable, N, nh int) {
	half := t.half
	hd := 2 * half
	W := nh * hd
	parallelRows(N, W, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			p := int(pos[r])
			cs, sn := t.cos[p*half:(p+1)*half], t.sin[p*half:(p+1)*half]
			for h := range nh {
				a := x[r*W+h*hd : r*W+h*hd+half]
				b := x[r*W+h*hd+half : r*W+(h+1)*hd]
				for i, c := range cs {
					s := sn[i]
					ai, bi := a[i], b[i]
					a[i] = ai*c - bi*s
					b[i] = bi*c + ai*s
				}
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Causal grouped-query attention with an optional sliding window and tanh
// soft-cap of the scores, over sequences whose keys and values are rows of
// a buffer (packed rows of the pass, or a KV cache).

// attnShape is the geometry and arithmetic of a layer's attention.
type attnShape struct {
	H, KVH, hd int
	// scale multiplies q·k (1/√hd, or Gemma2's 1/√query_pre_attn_scalar).
	scale float32
	// softcap, when > 0, maps a scaled score s to softcap·tanh(s/softcap)
	// before the mask (Gemma2's attn_logit_softcapping).
	softcap float32
	// window, when > 0, lets position t see keys t−window+1 … t only.
	window int
}

// kvSpan places the queries of one sequence: n query rows from row qrow of
// q (and of the output) are the positions p0, p0+1, …; the key and value of
// position j are row kbase+j of K and V.
type kvSpan struct{ qrow, n, p0, kbase int }

// keyRange is the half-open range of keys query position t reads.
func (a *attnShape) keyRange(t int) (int, int) {
	if a.window > 0 {
		return max(0, t-a.window+1), t + 1
	}
	return 0, t + 1
}

// gqaScratch is the score buffer gqaAttentionForward needs: attnBlock rows
// of maxKeys scores for every (span, head) task.
func gqaScratch(spans []kvSpan, H int) int {
	maxKeys := 0
	for _, s := range spans {
		maxKeys = max(maxKeys, s.p0+s.n)
	}
	return len(spans) * H * attnBlock * maxKeys
}

// gqaAttentionForward computes out = softmax(mask(cap(scale·q·kᵀ)))·v for
// every span, head and query row. q and out are [rows, H*hd], K and V are
// [rows, KVH*hd]; query head h reads key/value head h / (H/KVH). Queries go
// in blocks of attnBlock rows, each block's GEMMs covering only the keys
// some row of the block can see (the causal triangle and the window).
// scratch holds gqaScratch(spans, H) floats.
func gqaAttentionForward(out, q, K, V []float32, spans []kvSpan, a attnShape, scratch []float32) {
	H, hd := a.H, a.hd
	group := H / a.KVH
	Wq, Wkv := H*hd, a.KVH*hd
	maxKeys := 0
	for _, s := range spans {
		maxKeys = max(maxKeys, s.p0+s.n)
	}
	per := attnBlock * maxKeys
	kernels.ParallelFor(len(spans)*H, 1, func(lo, hi int) {
		for task := lo; task < hi; task++ {
			sp, h := spans[task/H], task%H
			kvh := h / group
			P := scratch[task*per : (task+1)*per]
			for i0 := 0; i0 < sp.n; i0 += attnBlock {
				i1 := min(i0+attnBlock, sp.n)
				klo, _ := a.keyRange(sp.p0 + i0)
				_, khi := a.keyRange(sp.p0 + i1 - 1)
				nk := khi - klo
				kb := K[(sp.kbase+klo)*Wkv+kvh*hd:]
				vb := V[(sp.kbase+klo)*Wkv+kvh*hd:]
				qb := q[(sp.qrow+i0)*Wq+h*hd:]
				kernels.GemmSerial(false, true, i1-i0, nk, hd, a.scale, qb, Wq, kb, Wkv, 0, P, nk)
				for i := i0; i < i1; i++ {
					row := P[(i-i0)*nk : (i-i0+1)*nk]
					lo, hi := a.keyRange(sp.p0 + i)
					lo, hi = lo-klo, hi-klo
					if a.softcap > 0 {
						softcapRow(row[lo:hi], a.softcap)
					}
					mx := rowMax(row[lo:hi])
					scaleRow(row[lo:hi], 1/expShift(row[lo:hi], mx))
					clear(row[:lo])
					clear(row[hi:])
				}
				kernels.GemmSerial(false, false, i1-i0, hd, nk, 1, P, nk, vb, Wkv, 0, out[(sp.qrow+i0)*Wq+h*hd:], Wq)
			}
		}
	})
}

// softcapRow maps x to c·tanh(x/c) in place, computed as Hugging Face does
// (divide, tanh, multiply).
func softcapRow(x []float32, c float32) {
	for i, v := range x {
		x[i] = float32(math.Tanh(float64(v/c))) * c
	}
}

// ---------------------------------------------------------------------------
// Gated MLP: h = act(gate) ⊙ up, act SiLU (SwiGLU) or GELU with the tanh
// approximation (GeGLU). gate is overwritten by h; up is kept for the
// backward pass.

func gluForward(gate, up []float32, N, C int, gelu bool) {
	parallelRows(N, C, func(lo, hi int) {
		g, u := gate[lo*C:hi*C], up[lo*C:hi*C]
		if gelu {
			for j, x := range g {
				// 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))), PyTorch's
				// gelu(approximate="tanh").
				t := math.Tanh(0.7978845608028654 * (float64(x) + 0.044715*float64(x)*float64(x)*float64(x)))
				g[j] = float32(0.5*float64(x)*(1+t)) * u[j]
			}
			return
		}
		// SiLU(x) = x·σ(x), σ from e^(−|x|) (never overflows) through
		// the vectorised exponential the softmax uses: σ(x) = 1/(1+e) for
		// x ≥ 0, e/(1+e) below. One row of scratch per chunk.
		e := make([]float32, C)
		for r := 0; r < hi-lo; r++ {
			gr, ur := g[r*C:(r+1)*C], u[r*C:(r+1)*C]
			// Branch-free (the sign of x is random): −|x| by setting
			// the sign bit, and σ = t/(1+e) with t = 1, or e when x < 0.
			for j, x := range gr {
				e[j] = math.Float32frombits(math.Float32bits(x) | 1<<31)
			}
			expShift(e, 0)
			ur = ur[:len(gr)]
			e = e[:len(gr)]
			for j, x := range gr {
				neg := float32(math.Float32bits(x) >> 31)
				ej := e[j]
				gr[j] = x * ((1 + neg*(ej-1)) / (1 + ej)) * ur[j]
			}
		}
	})
}

// addBias adds bias to every row of x ([N, C]).
func addBias(x, bias []float32, N, C int) {
	if bias == nil {
		return
	}
	parallelRows(N, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*C : r*C+C]
			for j, b := range bias {
				row[j] += b
			}
		}
	})
}
