package model

// The operations of the network, each a forward/backward pair over flat
// row-major float32 buffers (llm.c style). N is a number of rows (tokens),
// C a number of channels. Every operation is parallel over rows through
// kernels.ParallelFor, and every reduction over rows (bias, LayerNorm and
// embedding gradients) is deterministic: rows are cut into fixed chunks of
// rowChunk rows whose partial sums are added in chunk order, or the work is
// split over columns so that each column is summed over rows in row order.

import (
	"math"

	"github.com/warm-rm/warm/kernels"
)

// rowChunk is the fixed row partition of the reductions. It must not depend
// on the thread count.
const rowChunk = 32

func nChunks(n int) int { return (n + rowChunk - 1) / rowChunk }

// parallelRows runs fn over row ranges of [0, n), with chunks of at least
// about 8K elements of work.
func parallelRows(n, cols int, fn func(lo, hi int)) {
	kernels.ParallelFor(n, max(1, 8192/max(cols, 1)), fn)
}

// forChunks calls fn(c, lo, hi) for every fixed chunk c of rowChunk rows of
// [0, n), in parallel.
func forChunks(n int, fn func(c, lo, hi int)) {
	kernels.ParallelFor(nChunks(n), 1, func(clo, chi int) {
		for c := clo; c < chi; c++ {
			fn(c, c*rowChunk, min((c+1)*rowChunk, n))
		}
	})
}

// reducePartials adds the per-chunk partial sums partials[c*C+j], c in
// order, into dst[j].
func reducePartials(dst, partials []float32, nch, C int) {
	kernels.ParallelFor(C, 256, func(lo, hi int) {
		d := dst[lo:hi]
		for c := 0; c < nch; c++ {
			p := partials[c*C+lo : c*C+hi]
			for j := range d {
				d[j] += p[j]
			}
		}
	})
}

// rowIDs names the rows of a pass for dropout: row r is position pos[r] of
// sequence seq[r].
type rowIDs struct{ seq, pos []int32 }

// ---------------------------------------------------------------------------
// Embeddings: out[r] = dropout(wte[tok[r]] + wpe[pos[r]]).

func encoderForward(out []float32, tok []int32, ids rowIDs, wte, wpe []float32, N, C int, drop dropout) {
	parallelRows(N, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			o := out[r*C : r*C+C]
			te := wte[int(tok[r])*C:][:C]
			pe := wpe[int(ids.pos[r])*C:][:C]
			for j := range o {
				o[j] = te[j] + pe[j]
			}
			if drop.active {
				drop.apply(o, drop.rowKey(int(ids.seq[r]), int(ids.pos[r])))
			}
		}
	})
}

// encoderBackward adds the embedding gradients. dout is overwritten (the
// dropout mask is applied to it in place).
func encoderBackward(dwte, dwpe, dout []float32, tok []int32, ids rowIDs, N, C int, drop dropout) {
	if drop.active {
		parallelRows(N, C, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				drop.apply(dout[r*C:r*C+C], drop.rowKey(int(ids.seq[r]), int(ids.pos[r])))
			}
		})
	}
	// Split over columns: every column is accumulated in row order by one
	// goroutine, so repeated tokens and positions add deterministically.
	kernels.ParallelFor(C, 16, func(lo, hi int) {
		for r := 0; r < N; r++ {
			d := dout[r*C+lo : r*C+hi]
			te := dwte[int(tok[r])*C+lo : int(tok[r])*C+hi]
			pe := dwpe[int(ids.pos[r])*C+lo : int(ids.pos[r])*C+hi]
			for j, v := range d {
				te[j] += v
				pe[j] += v
			}
		}
	})
}

// ---------------------------------------------------------------------------
// LayerNorm over the last dimension.

func layernormForward(out, mean, rstd, inp, w, b []float32, N, C int, eps float32) {
	parallelRows(N, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			x := inp[r*C : r*C+C]
			m := rowSum(x) / float32(C)
			v2 := rowSqDev(x, m)
			rs := float32(1 / math.Sqrt(float64(v2/float32(C)+eps)))
			o := out[r*C : r*C+C]
			for j, v := range x {
				o[j] = (v-m)*rs*w[j] + b[j]
			}
			mean[r], rstd[r] = m, rs
		}
	})
}

// rowSum returns Σ x with four accumulators (no add latency chain).
func rowSum(x []float32) float32 {
	var s0, s1, s2, s3 float32
	for len(x) >= 4 {
		v := x[:4:4]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		x = x[4:]
	}
	for _, v := range x {
		s0 += v
	}
	return (s0 + s1) + (s2 + s3)
}

// rowSqDev returns Σ (x−m)² with four accumulators.
func rowSqDev(x []float32, m float32) float32 {
	var s0, s1, s2, s3 float32
	for len(x) >= 4 {
		v := x[:4:4]
		d0, d1, d2, d3 := v[0]-m, v[1]-m, v[2]-m, v[3]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		x = x[4:]
	}
	for _, v := range x {
		s0 += (v - m) * (v - m)
	}
	return (s0 + s1) + (s2 + s3)
}

// layernormBackward computes dinp (overwritten, or added to when
// accumulate) and adds the weight and bias gradients into dw and db.
// partials must hold 2*nChunks(N)*C floats.
func layernormBackward(dinp, dw, db, dout, inp, w, mean, rstd []float32, N, C int, accumulate bool, partials []float32) {
	nch := nChunks(N)
	pw := partials[:nch*C]
	pb := partials[nch*C : 2*nch*C]
	forChunks(N, func(c, lo, hi int) {
		sw := pw[c*C : c*C+C]
		sb := pb[c*C : c*C+C]
		clear(sw)
		clear(sb)
		for r := lo; r < hi; r++ {
			x := inp[r*C : r*C+C]
			dy := dout[r*C : r*C+C]
			m, rs := mean[r], rstd[r]
			// Two accumulators per sum break the add latency chain.
			var dmean, dnormMean, dmean1, dnormMean1 float32
			j := 0
			for ; j+2 <= C; j += 2 {
				xh0 := (x[j] - m) * rs
				xh1 := (x[j+1] - m) * rs
				dn0 := dy[j] * w[j]
				dn1 := dy[j+1] * w[j+1]
				dmean += dn0
				dmean1 += dn1
				dnormMean += dn0 * xh0
				dnormMean1 += dn1 * xh1
				sw[j] += dy[j] * xh0
				sw[j+1] += dy[j+1] * xh1
				sb[j] += dy[j]
				sb[j+1] += dy[j+1]
			}
			for ; j < C; j++ {
				xh := (x[j] - m) * rs
				dn := dy[j] * w[j]
				dmean += dn
				dnormMean += dn * xh
				sw[j] += dy[j] * xh
				sb[j] += dy[j]
			}
			dmean += dmean1
			dnormMean += dnormMean1
			dmean /= float32(C)
			dnormMean /= float32(C)
			dx := dinp[r*C : r*C+C]
			for j, v := range x {
				xh := (v - m) * rs
				g := (dy[j]*w[j] - dmean - xh*dnormMean) * rs
				if accumulate {
					dx[j] += g
				} else {
					dx[j] = g
				}
			}
		}
	})
	reducePartials(dw, pw, nch, C)
	reducePartials(db, pb, nch, C)
}

// ---------------------------------------------------------------------------
// Matmul with bias, Conv1D layout: out[N,OC] = inp[N,IC] · w[IC,OC] + bias.
// A nil bias leaves it out, for the products whose bias a fused op that
// follows adds (biasGeluForward, residualForward; their backward passes
// then sum the bias gradient and matmulBackward takes a nil db). Each
// product is one kernels.Gemm, deterministic whatever the thread count, and
// the bias gradient is a fixed-chunk colSum. A model packed for inference
// (PackForInference) passes w's packed panels pw as well, and the product is
// kernels.GemmPacked, which gives Gemm's bits: the forward's outputs do not
// depend on whether the model is packed.

func matmulForward(out, inp, w []float32, pw *kernels.PackedB, bias []float32, N, IC, OC int) {
	matmulForwardLd(out, OC, inp, w, OC, pw, bias, N, IC, OC)
}

// matmulForwardLd is matmulForward with the weight's and the output's rows
// ldw and ldo apart (a column block of a wider matrix). With a bias, the
// output rows are first filled with it and the GEMM adds to them (cheaper
// than a separate pass over the output after the GEMM). pw, when not nil,
// is w packed (IC×OC).
func matmulForwardLd(out []float32, ldo int, inp, w []float32, ldw int, pw *kernels.PackedB, bias []float32, N, IC, OC int) {
	beta := float32(0)
	if bias != nil {
		parallelRows(N, OC, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				copy(out[r*ldo:r*ldo+OC], bias[:OC])
			}
		})
		beta = 1
	}
	if pw != nil {
		kernels.GemmPacked(N, 1, inp, IC, pw, beta, out, ldo)
		return
	}
	kernels.Gemm(false, false, N, OC, IC, 1, inp, IC, w, ldw, beta, out, ldo)
}

// matmulBackward sets dinp = dout · wᵀ (when dinp is not nil) and adds
// dw += inpᵀ · dout and db += Σ_rows dout (when db is not nil).
func matmulBackward(dinp, dw, db, dout, inp, w []float32, N, IC, OC int, partials []float32) {
	matmulBackwardLd(dinp, dw, db, dout, OC, inp, w, OC, N, IC, OC, partials)
}

// matmulBackwardLd is the backward pass of matmulForwardLd: dout's rows are
// ldo apart and those of w and dw ldw apart (dinp and inp are dense, IC
// wide).
func matmulBackwardLd(dinp, dw, db, dout []float32, ldo int, inp, w []float32, ldw int, N, IC, OC int, partials []float32) {
	if dinp != nil {
		kernels.Gemm(false, true, N, IC, OC, 1, dout, ldo, w, ldw, 0, dinp, IC)
	}
	kernels.Gemm(true, false, IC, OC, N, 1, inp, IC, dout, ldo, 1, dw, ldw)
	if db != nil {
		colSumLd(db, dout, N, OC, ldo, partials)
	}
}

// colSum adds Σ_rows src into dst deterministically. partials must hold
// nChunks(N)*C floats.
func colSum(dst, src []float32, N, C int, partials []float32) {
	colSumLd(dst, src, N, C, C, partials)
}

// colSumLd is colSum over the first C columns of rows ld apart.
func colSumLd(dst, src []float32, N, C, ld int, partials []float32) {
	nch := nChunks(N)
	forChunks(N, func(c, lo, hi int) {
		s := partials[c*C : c*C+C]
		clear(s)
		for r := lo; r < hi; r++ {
			for j, v := range src[r*ld : r*ld+C] {
				s[j] += v
			}
		}
	})
	reducePartials(dst, partials, nch, C)
}

// ---------------------------------------------------------------------------
// Bias + GELU (tanh approximation, Hugging Face "gelu_new"):
// y = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).

const (
	geluS = 0.7978845608028654 // √(2/π)
	geluC = 0.044715
)

// biasGeluForward adds bias to x in place (x keeps the pre-activation), and
// writes th = tanh(…) and out = gelu(x).
func biasGeluForward(out, th, x, bias []float32, N, C int) {
	parallelRows(N, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			geluRow(out[r*C:r*C+C], th[r*C:r*C+C], x[r*C:r*C+C], bias)
		}
	})
}

// geluRowGeneric is biasGeluForward on one row in portable Go (geluRow
// dispatches to an AVX2 kernel where there is one). tanh is Eigen's float
// rational approximation (odd degree 13 over even degree 6, input clamped
// to ±7.9053, accurate to a few ulp; TestGeluTanh checks it), with the
// polynomials evaluated in Estrin's scheme for a shorter dependency chain.
func geluRowGeneric(out, th, x, bias []float32) {
	out, th, bias = out[:len(x)], th[:len(x)], bias[:len(x)]
	for j, v := range x {
		v += bias[j]
		x[j] = v
		u := geluS * (v + geluC*v*v*v)
		u = min(max(u, -7.90531110763549805), 7.90531110763549805)
		w := u * u
		w2 := w * w
		p01 := 4.89352455891786e-03 + 6.37261928875436e-04*w
		p23 := 1.48572235717979e-05 + 5.12229709037114e-08*w
		p45 := -8.60467152213735e-11 + 2.00018790482477e-13*w
		p := (p01 + p23*w2) + (p45-2.76076847742355e-16*w2)*(w2*w2)
		q := (4.89352518554385e-03 + 2.26843463243900e-03*w) + (1.18534705686654e-04+1.19825839466702e-06*w)*w2
		t := u * p / q
		th[j] = t
		out[j] = 0.5 * v * (1 + t)
	}
}

// geluBackward turns d (the gradient of the GELU output) in place into the
// gradient of its input x, and adds Σ_rows of it into db.
func geluBackward(d, x, th, db []float32, N, C int, partials []float32) {
	nch := nChunks(N)
	forChunks(N, func(c, lo, hi int) {
		s := partials[c*C : c*C+C]
		clear(s)
		for r := lo; r < hi; r++ {
			dr := d[r*C : r*C+C]
			xr := x[r*C : r*C+C]
			tr := th[r*C : r*C+C]
			for j, v := range xr {
				t := tr[j]
				g := 0.5*(1+t) + 0.5*v*(1-t*t)*geluS*(1+3*geluC*v*v)
				g *= dr[j]
				dr[j] = g
				s[j] += g
			}
		}
	})
	reducePartials(db, partials[:nch*C], nch, C)
}

// ---------------------------------------------------------------------------
// Residual branch output: out = res + dropout(h + bias). out may alias h.

func residualForward(out, res, h, bias []float32, N, C int, ids rowIDs, drop dropout) {
	parallelRows(N, C, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			hr := h[r*C : r*C+C]
			or := out[r*C : r*C+C]
			rr := res[r*C : r*C+C]
			if !drop.active {
				for j := range or {
					or[j] = rr[j] + hr[j] + bias[j]
				}
				continue
			}
			for j := range hr {
				hr[j] += bias[j]
			}
			drop.apply(hr, drop.rowKey(int(ids.seq[r]), int(ids.pos[r])))
			for j := range or {
				or[j] = rr[j] + hr[j]
			}
		}
	})
}

// residualBackward returns dh = dropout(dout), the gradient of h, and adds
// Σ_rows dh into db. Without dropout dh is dout itself (no copy); with it,
// dh is written into buf. The gradient of res is dout.
func residualBackward(buf, db, dout []float32, N, C int, ids rowIDs, drop dropout, partials []float32) []float32 {
	if !drop.active {
		colSum(db, dout, N, C, partials)
		return dout
	}
	nch := nChunks(N)
	forChunks(N, func(c, lo, hi int) {
		s := partials[c*C : c*C+C]
		clear(s)
		for r := lo; r < hi; r++ {
			d := buf[r*C : r*C+C]
			copy(d, dout[r*C:r*C+C])
			drop.apply(d, drop.rowKey(int(ids.seq[r]), int(ids.pos[r])))
			for j, v := range d {
				s[j] += v
			}
		}
	})
	reducePartials(db, partials[:nch*C], nch, C)
	return buf
}

// ---------------------------------------------------------------------------
// Causal multi-head self-attention over packed sequences.

// span places sequence b of a batch in packed buffers: its len rows start
// at packed row off of the input (qkv); its query rows are the positions
// [qlo, len), written from output row qoff on.
type span struct{ off, len, qlo, qoff int }

// attnBlock is the number of query rows per attention GEMM block: blocks
// skip the keys after their last row (the causal upper triangle).
const attnBlock = 16

// attentionForward computes, for every sequence, head and query row, the
// softmax over the causal keys of q·k/√hd (stored in att: T×T per
// (sequence, head), query row i at att[i*T:]) and out = dropout(att)·v.
// kv holds the packed rows of width 3C ([q | k | v], head h at columns h*hd
// within each third; only k and v are read). The query rows [qlo, len) of
// sequence b are rows qoff, qoff+1, … of q, ldq apart (q = kv and ldq = 3C
// when every row is a query: then qoff = off). scratch (B*NH*T*T floats)
// holds the dropped probabilities when drop is active.
func attentionForward(out, att, scratch, q []float32, ldq int, kv []float32, spans []span, T, NH, C int, drop dropout) {
	hd := C / NH
	C3 := 3 * C
	scale := float32(1 / math.Sqrt(float64(hd)))
	TT := T * T
	kernels.ParallelFor(len(spans)*NH, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/NH, bh%NH
			sp := spans[b]
			if sp.len == 0 {
				continue
			}
			nq := sp.len - sp.qlo
			qb := q[sp.qoff*ldq+h*hd:]
			k := kv[sp.off*C3+C+h*hd:]
			v := kv[sp.off*C3+2*C+h*hd:]
			P := att[bh*TT : (bh+1)*TT]
			y := out[sp.qoff*C+h*hd:]
			for i0 := 0; i0 < nq; i0 += attnBlock {
				i1 := min(i0+attnBlock, nq)
				nk := sp.qlo + i1
				kernels.GemmSerial(false, true, i1-i0, nk, hd, scale, qb[i0*ldq:], ldq, k, C3, 0, P[i0*T:], T)
				for i := i0; i < i1; i++ {
					t := sp.qlo + i
					softmaxCausal(P[i*T:i*T+nk], t+1)
				}
				pv := P
				if drop.active {
					pv = scratch[bh*TT : (bh+1)*TT]
					for i := i0; i < i1; i++ {
						t := sp.qlo + i
						row := pv[i*T : i*T+nk]
						copy(row, P[i*T:i*T+nk])
						drop.apply(row[:t+1], drop.rowKey(b, h<<32|t))
					}
				}
				kernels.GemmSerial(false, false, i1-i0, hd, nk, 1, pv[i0*T:], T, v, C3, 0, y[i0*C:], C)
			}
		}
	})
}

// softmaxCausal replaces row[:n] by its softmax and zeroes row[n:].
func softmaxCausal(row []float32, n int) {
	mx := rowMax(row[:n])
	scaleRow(row[:n], 1/expShift(row[:n], mx))
	clear(row[n:])
}

// attentionBackward writes the gradients of the queries into dq (rows as
// in q, ldq apart) and of the keys and values into dkv (every packed row,
// columns C..3C) from dout, the gradient of the attention output rows. When
// dq aliases dkv (ldq = 3C, every row a query), the query columns of every
// packed row are written. scratch must hold 2*B*NH*T*T floats.
func attentionBackward(dq []float32, ldq int, dkv, scratch, dout, q, kv, att []float32, spans []span, T, NH, C int, drop dropout) {
	hd := C / NH
	C3 := 3 * C
	scale := float32(1 / math.Sqrt(float64(hd)))
	TT := T * T
	kernels.ParallelFor(len(spans)*NH, 1, func(lo, hi int) {
		for bh := lo; bh < hi; bh++ {
			b, h := bh/NH, bh%NH
			sp := spans[b]
			if sp.len == 0 {
				continue
			}
			// This task owns head h's columns of k and v in the rows of
			// sequence b (and of q in its query rows): zero those that are
			// accumulated.
			for t := 0; t < sp.len; t++ {
				row := dkv[(sp.off+t)*C3:]
				clear(row[C+h*hd : C+h*hd+hd])
				clear(row[2*C+h*hd : 2*C+h*hd+hd])
			}
			nq := sp.len - sp.qlo
			qb := q[sp.qoff*ldq+h*hd:]
			dqb := dq[sp.qoff*ldq+h*hd:]
			k := kv[sp.off*C3+C+h*hd:]
			v := kv[sp.off*C3+2*C+h*hd:]
			dk := dkv[sp.off*C3+C+h*hd:]
			dv := dkv[sp.off*C3+2*C+h*hd:]
			P := att[bh*TT : (bh+1)*TT]
			dP := scratch[2*bh*TT : (2*bh+1)*TT]
			Pd := scratch[(2*bh+1)*TT : (2*bh+2)*TT]
			dy := dout[sp.qoff*C+h*hd:]
			for i0 := 0; i0 < nq; i0 += attnBlock {
				i1 := min(i0+attnBlock, nq)
				nb := i1 - i0
				nk := sp.qlo + i1
				// dP' = dy · vᵀ; dv += P'ᵀ · dy.
				kernels.GemmSerial(false, true, nb, nk, hd, 1, dy[i0*C:], C, v, C3, 0, dP[i0*T:], T)
				pv := P
				if drop.active {
					pv = Pd
					for i := i0; i < i1; i++ {
						t := sp.qlo + i
						row := pv[i*T : i*T+nk]
						copy(row, P[i*T:i*T+nk])
						drop.apply(row[:t+1], drop.rowKey(b, h<<32|t))
					}
				}
				kernels.GemmSerial(true, false, nk, hd, nb, 1, pv[i0*T:], T, dy[i0*C:], C, 1, dv, C3)
				// Softmax backward: dS = P ⊙ (dP - Σ P·dP), causal part only.
				for i := i0; i < i1; i++ {
					t := sp.qlo + i
					d := dP[i*T : i*T+nk]
					if drop.active {
						drop.apply(d[:t+1], drop.rowKey(b, h<<32|t))
					}
					p := P[i*T : i*T+t+1]
					var s float32
					for j, pj := range p {
						s += pj * d[j]
					}
					for j, pj := range p {
						d[j] = pj * (d[j] - s)
					}
					clear(d[t+1:])
				}
				// dq = scale·dS·k; dk += scale·dSᵀ·q.
				kernels.GemmSerial(false, false, nb, hd, nk, scale, dP[i0*T:], T, k, C3, 0, dqb[i0*ldq:], ldq)
				kernels.GemmSerial(true, false, nk, hd, nb, scale, dP[i0*T:], T, qb[i0*ldq:], ldq, 1, dk, C3)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Softmax cross-entropy, fused forward and backward (as llm.c's classifier).

// crossEntropy reads the logits [NL, V] and overwrites them with the
// gradient of the loss Σ_r w[r]·CE_r / norm; it writes each row's
// (unweighted) cross-entropy into losses[r].
func crossEntropy(logits, losses []float32, targets []int32, w []float32, NL, V int, norm float32) {
	kernels.ParallelFor(NL, 4, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			l := logits[r*V : r*V+V]
			mx := rowMax(l)
			tgt := int(targets[r])
			lt := l[tgt]
			s := expShift(l, mx)
			losses[r] = float32(math.Log(float64(s)) + float64(mx) - float64(lt))
			g := w[r] / norm
			scaleRow(l, g/s)
			l[tgt] -= g
		}
	})
}

// ---------------------------------------------------------------------------
// Reward head: r[b] = score · x[rows[b]] (x is the final LayerNorm output).

func rewardForward(r, x []float32, rows []int, score []float32, C int) {
	for b, row := range rows {
		var s float32
		for j, v := range x[row*C : row*C+C] {
			s += v * score[j]
		}
		r[b] = s
	}
}

// rewardBackward sets dx[rows[b]] = dr[b]·score (other rows untouched) and,
// unless dx is nil, adds dscore += Σ_b dr[b]·x[rows[b]].
func rewardBackward(dx, dscore, dr, x []float32, rows []int, score []float32, C int) {
	for b, row := range rows {
		g := dr[b]
		for j, v := range x[row*C : row*C+C] {
			dscore[j] += g * v
		}
		if dx != nil {
			d := dx[row*C : row*C+C]
			for j := range d {
				d[j] = g * score[j]
			}
		}
	}
}
