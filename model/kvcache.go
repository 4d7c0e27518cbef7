package model

import (
	"fmt"
	"math"

	"github.com/warm-rm/warm/kernels"
)

// KVCache decodes a batch of sequences incrementally: it keeps each block's
// keys and values of every cached position, so that a Step costs one token
// per sequence. Sequences are ragged: each keeps its own length and
// positions (0, 1, … for its own tokens), so the logits equal those of
// running each sequence alone through Logits, whatever the lengths of the
// others. Prompts are given right-padded. A KVCache shares its Model's
// weights (not its workspace, except in Prefill) and is not safe for
// concurrent use; Step does not allocate buffers.
type KVCache struct {
	m         *Model
	B, MaxLen int
	k, v      [][]float32 // per block: [B, MaxLen, C]
	pos       []int       // cached tokens per sequence

	x, ln, atty, res2, ln2, out []float32 // [B, C]
	mean, rstd                  []float32 // [B]
	qkv                         []float32 // [B, 3C]
	fch, fchT, g                []float32 // [B, 4C]
	scores                      []float32 // [B, NH, MaxLen]
	logits                      []float32 // [B, V]
}

// NewKVCache returns an empty cache for batch sequences of up to maxLen
// tokens (prompt and generated together; at most NPositions).
func (m *Model) NewKVCache(batch, maxLen int) (*KVCache, error) {
	c := m.Config
	if batch < 1 || maxLen < 1 {
		return nil, fmt.Errorf("model: KV cache for batch %d, length %d", batch, maxLen)
	}
	if maxLen > c.NPositions {
		return nil, fmt.Errorf("model: KV cache length %d exceeds n_positions %d", maxLen, c.NPositions)
	}
	C, B := c.NEmbd, batch
	f := func(n int) []float32 { return make([]float32, n) }
	kv := &KVCache{m: m, B: B, MaxLen: maxLen, pos: make([]int, B)}
	for range c.NLayer {
		kv.k = append(kv.k, f(B*maxLen*C))
		kv.v = append(kv.v, f(B*maxLen*C))
	}
	kv.x, kv.ln, kv.atty, kv.res2, kv.ln2, kv.out = f(B*C), f(B*C), f(B*C), f(B*C), f(B*C), f(B*C)
	kv.mean, kv.rstd = f(B), f(B)
	kv.qkv = f(B * 3 * C)
	kv.fch, kv.fchT, kv.g = f(B*4*C), f(B*4*C), f(B*4*C)
	kv.scores = f(B * c.NHead * maxLen)
	kv.logits = f(B * c.VocabSize)
	return kv, nil
}

// Lengths returns the number of cached tokens of each sequence (a view).
func (kv *KVCache) Lengths() []int { return kv.pos }

// Reset empties the cache.
func (kv *KVCache) Reset() { clear(kv.pos) }

// Prefill replaces the cache contents by the prompts tokens ([B, T],
// right-padded; lengths as for RewardForward, nil for the first-pad rule)
// and returns the logits [B, V] of the next token after each prompt. It
// runs the model's forward pass (and so uses the Model's workspace). The
// slice is valid until the next Prefill or Step.
func (kv *KVCache) Prefill(tokens []int32, T int, lengths []int) ([]float32, error) {
	m := kv.m
	B := kv.B
	if T > kv.MaxLen {
		return nil, fmt.Errorf("model: prompts of %d tokens exceed the KV cache length %d", T, kv.MaxLen)
	}
	if err := m.lastTokenSetup(tokens, B, T, lengths, false, 0); err != nil {
		return nil, err
	}
	ws := &m.ws
	C := m.Config.NEmbd
	// Each block's keys and values are cached as the block ends (a lean
	// workspace reuses its buffers two blocks later).
	m.forward(func(l int) {
		qkv := ws.layers[l].qkv
		for b, sp := range ws.full {
			for t := range sp.len {
				src := qkv[(sp.off+t)*3*C:]
				dst := (b*kv.MaxLen + t) * C
				copy(kv.k[l][dst:dst+C], src[C:2*C])
				copy(kv.v[l][dst:dst+C], src[2*C:3*C])
			}
		}
	})
	for b, sp := range ws.full {
		kv.pos[b] = sp.len
	}
	// The tied head (packed with the model's weights when they are).
	m.lmHead(kv.logits, ws.lnf, B)
	return kv.logits, nil
}

// Step appends tokens[b] to sequence b, for every b, and returns the logits
// [B, V] of the token after it. Every sequence advances: feed finished ones
// any token (PadID) and ignore their logits. The slice is valid until the
// next Prefill or Step. Step allocates no buffers (only the small closures
// that kernels.ParallelFor takes).
func (kv *KVCache) Step(tokens []int32) ([]float32, error) {
	m := kv.m
	c := m.Config
	B, C, NH, V := kv.B, c.NEmbd, c.NHead, c.VocabSize
	if len(tokens) != B {
		return nil, fmt.Errorf("model: KV cache step with %d tokens for %d sequences", len(tokens), B)
	}
	for b, tok := range tokens {
		if tok < 0 || int(tok) >= V {
			return nil, fmt.Errorf("model: token %d of sequence %d outside the vocabulary [0, %d)", tok, b, V)
		}
		if kv.pos[b] >= kv.MaxLen {
			return nil, fmt.Errorf("model: sequence %d is full (KV cache length %d)", b, kv.MaxLen)
		}
	}
	if err := m.checkPacked(); err != nil {
		return nil, err
	}
	for b, tok := range tokens {
		te := m.w.wte[int(tok)*C:][:C]
		pe := m.w.wpe[kv.pos[b]*C:][:C]
		x := kv.x[b*C : b*C+C]
		for j := range x {
			x[j] = te[j] + pe[j]
		}
	}
	eps := c.Eps()
	hd := C / NH
	scale := float32(1 / math.Sqrt(float64(hd)))
	x := kv.x
	for l := range c.NLayer {
		bw, pk := &m.w.blocks[l], m.packedBlock(l)
		layernormForward(kv.ln, kv.mean, kv.rstd, x, bw.ln1w, bw.ln1b, B, C, eps)
		qkvForward(kv.qkv, kv.ln, bw, pk, B, C)
		K, Vc := kv.k[l], kv.v[l]
		for b := range B {
			dst := (b*kv.MaxLen + kv.pos[b]) * C
			copy(K[dst:dst+C], kv.qkv[b*3*C+C:b*3*C+2*C])
			copy(Vc[dst:dst+C], kv.qkv[b*3*C+2*C:b*3*C+3*C])
		}
		kernels.ParallelFor(B*NH, 1, func(lo, hi int) {
			for bh := lo; bh < hi; bh++ {
				b, h := bh/NH, bh%NH
				n := kv.pos[b] + 1
				s := kv.scores[bh*kv.MaxLen : bh*kv.MaxLen+n]
				base := b*kv.MaxLen*C + h*hd
				kernels.GemmSerial(false, true, 1, n, hd, scale, kv.qkv[b*3*C+h*hd:], hd, K[base:], C, 0, s, n)
				softmaxCausal(s, n)
				kernels.GemmSerial(false, false, 1, hd, n, 1, s, n, Vc[base:], C, 0, kv.atty[b*C+h*hd:], hd)
			}
		})
		matmulForward(kv.res2, kv.atty, bw.aprojW, pk.aproj, nil, B, C, C)
		residualForward(kv.res2, x, kv.res2, bw.aprojB, B, C, rowIDs{}, dropout{})
		layernormForward(kv.ln2, kv.mean, kv.rstd, kv.res2, bw.ln2w, bw.ln2b, B, C, eps)
		matmulForward(kv.fch, kv.ln2, bw.fcW, pk.fc, nil, B, C, 4*C)
		biasGeluForward(kv.g, kv.fchT, kv.fch, bw.fcB, B, 4*C)
		matmulForward(kv.out, kv.g, bw.mprojW, pk.mproj, nil, B, 4*C, C)
		residualForward(x, kv.res2, kv.out, bw.mprojB, B, C, rowIDs{}, dropout{})
	}
	layernormForward(kv.ln, kv.mean, kv.rstd, x, m.w.lnfw, m.w.lnfb, B, C, eps)
	// The tied head (packed with the model's weights when they are).
	m.lmHead(kv.logits, kv.ln, B)
	for b := range kv.pos {
		kv.pos[b]++
	}
	return kv.logits, nil
}
