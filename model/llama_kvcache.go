package model

import (
	"fmt"

	"github.com/warm-rm/warm/model/llama"
)

// LlamaKVCache decodes a batch of sequences of a Llama-family language
// model incrementally, keeping every layer's rotated keys and values of
// every cached position (sliding-window layers keep them all too and read
// only their window). Sequences are ragged: each has its own length and
// positions, so the logits equal those of Logits on each sequence alone.
// A cache uses its model's workspace and is not safe for concurrent use.
type LlamaKVCache struct {
	m         *Llama
	B, MaxLen int
	k, v      [][]float32 // per layer: [B*MaxLen, kv_heads*head_dim]
	pos       []int       // cached tokens per sequence
	logits    []float32   // [B, vocab]
}

// NewLlamaKVCache returns an empty cache for batch sequences of up to
// maxLen tokens each (prompt and generated; at most max_position_embeddings).
func (m *Llama) NewLlamaKVCache(batch, maxLen int) (*LlamaKVCache, error) {
	c := m.Config
	if c.Head != llama.CausalLM {
		return nil, fmt.Errorf("model: %s has no language-model head to decode with", c.Architecture)
	}
	if batch < 1 || maxLen < 1 {
		return nil, fmt.Errorf("model: KV cache for batch %d, length %d", batch, maxLen)
	}
	if maxLen > c.MaxPositions {
		return nil, fmt.Errorf("model: KV cache length %d exceeds max_position_embeddings %d", maxLen, c.MaxPositions)
	}
	kv := &LlamaKVCache{m: m, B: batch, MaxLen: maxLen, pos: make([]int, batch), logits: make([]float32, batch*c.VocabSize)}
	w := batch * maxLen * c.KVHeads * c.HeadDim
	for range c.Layers {
		kv.k = append(kv.k, make([]float32, w))
		kv.v = append(kv.v, make([]float32, w))
	}
	return kv, nil
}

// Lengths returns the number of cached tokens of each sequence (a view).
func (kv *LlamaKVCache) Lengths() []int { return kv.pos }

// Prefill replaces the cache contents by the prompts (one a sequence, not
// empty) and returns the logits [B, vocab] of the token after each. The
// slice is valid until the next Prefill or Step.
func (kv *LlamaKVCache) Prefill(prompts [][]int32) ([]float32, error) {
	m := kv.m
	if len(prompts) != kv.B {
		return nil, fmt.Errorf("model: prefill of %d prompts into a KV cache for %d sequences", len(prompts), kv.B)
	}
	if err := m.checkSeqs(prompts); err != nil {
		return nil, err
	}
	for b, p := range prompts {
		if len(p) > kv.MaxLen {
			return nil, fmt.Errorf("model: prompt %d has %d tokens, more than the KV cache length %d", b, len(p), kv.MaxLen)
		}
	}
	N := m.setupPass(prompts)
	ws := &m.ws
	for b := range ws.spans {
		ws.spans[b].kbase = b * kv.MaxLen
	}
	m.trunk(N, kv, true)
	for b, sp := range ws.spans {
		kv.pos[b] = sp.n
	}
	return kv.head(), nil
}

// Step appends tokens[b] to sequence b, for every b, and returns the logits
// [B, vocab] of the token after it. Every sequence advances: feed finished
// ones any token and ignore their logits.
func (kv *LlamaKVCache) Step(tokens []int32) ([]float32, error) {
	m := kv.m
	c := m.Config
	if len(tokens) != kv.B {
		return nil, fmt.Errorf("model: KV cache step with %d tokens for %d sequences", len(tokens), kv.B)
	}
	for b, tok := range tokens {
		if tok < 0 || int(tok) >= c.VocabSize {
			return nil, fmt.Errorf("model: token %d of sequence %d outside the vocabulary [0, %d)", tok, b, c.VocabSize)
		}
		if kv.pos[b] >= kv.MaxLen {
			return nil, fmt.Errorf("model: sequence %d is full (KV cache length %d)", b, kv.MaxLen)
		}
	}
	ws := &m.ws
	ws.tok, ws.pos = growInt32(ws.tok, kv.B)[:0], growInt32(ws.pos, kv.B)[:0]
	ws.spans = ws.spans[:0]
	for b, tok := range tokens {
		ws.tok = append(ws.tok, tok)
		ws.pos = append(ws.pos, int32(kv.pos[b]))
		ws.spans = append(ws.spans, kvSpan{qrow: b, n: 1, p0: kv.pos[b], kbase: b * kv.MaxLen})
	}
	m.trunk(kv.B, kv, true)
	for b := range kv.pos {
		kv.pos[b]++
	}
	return kv.head(), nil
}

// store writes the new rows' keys and values (k, v: one row per pass row)
// into layer l of the cache at their sequence's positions.
func (kv *LlamaKVCache) store(l int, k, v []float32) {
	ws := &kv.m.ws
	W := kv.m.Config.KVHeads * kv.m.Config.HeadDim
	for _, sp := range ws.spans {
		for i := range sp.n {
			src := (sp.qrow + i) * W
			dst := (sp.kbase + sp.p0 + i) * W
			copy(kv.k[l][dst:dst+W], k[src:src+W])
			copy(kv.v[l][dst:dst+W], v[src:src+W])
		}
	}
}

// head normalises the last row of every sequence (ws.last, which trunk
// with lastOnly leaves) and writes the LM logits into kv.logits.
func (kv *LlamaKVCache) head() []float32 {
	m := kv.m
	ws := &m.ws
	m.finalNorm(ws.last, kv.B)
	m.lmHead(kv.logits, ws.last, kv.B)
	return kv.logits
}
