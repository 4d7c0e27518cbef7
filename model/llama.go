package model

import (
	"fmt"

	"github.com/warm-rm/warm/model/llama"
)

// LlamaLayer holds one decoder layer's weights, by the Hugging Face names
// of model.layers.N (biases and norms nil when the configuration has none).
type LlamaLayer struct {
	InputNorm, PostAttnNorm []float32 // input_layernorm, post_attention_layernorm
	// PreFFNorm and PostFFNorm are Gemma2's pre_feedforward_layernorm and
	// post_feedforward_layernorm (its post_attention_layernorm normalises
	// the attention output rather than the MLP input).
	PreFFNorm, PostFFNorm []float32
	Q, K, V, O            Matrix
	QB, KB, VB, OB        []float32
	QNorm, KNorm          []float32 // Qwen3's per-head q_norm, k_norm
	Gate, Up, Down        Matrix
	GateB, UpB, DownB     []float32
}

// LlamaWeights are the weights of a Llama-family model.
type LlamaWeights struct {
	Embed  Matrix // model.embed_tokens [vocab, hidden]
	Layers []LlamaLayer
	Norm   []float32 // model.norm
	// Score is the reward head, score.weight [1, hidden]
	// (*ForSequenceClassification); LMHead the language-model head
	// (*ForCausalLM: lm_head.weight, or Embed when tied).
	Score, LMHead *Matrix
}

// Llama is a model of the Llama family (Llama, Mistral, Qwen2, Qwen3,
// Gemma2) for inference: a reward model (Rewards) or a language model
// (Logits, NewLlamaKVCache). Its passes compute every real position of
// every sequence and nothing else (sequences are given ragged, not padded)
// and are bit-identical whatever kernels.Threads() is. A Llama is not safe
// for concurrent passes: they share its workspace.
type Llama struct {
	Config *llama.Config
	W      LlamaWeights
	rope   ropeTable
	ws     llamaWorkspace
}

// llamaWorkspace holds one pass's activations, reused from layer to layer
// (inference keeps no per-layer activations) and grown on demand.
type llamaWorkspace struct {
	tok, pos   []int32
	x, h, o    []float32 // [N, hidden]
	q, att     []float32 // [N, heads*head_dim]
	k, v       []float32 // [N, kv_heads*head_dim]
	gate, up   []float32 // [N, intermediate]
	scores     []float32
	rows, last []float32
	spans      []kvSpan
	// The compact last layer (trunk with lastOnly): the normalised input,
	// position, attention span and pass row of each sequence's last row.
	hq     []float32
	posq   []int32
	qspans []kvSpan
	qsrc   []int
}

// NewLlama checks w against cfg (every tensor present with its shape) and
// returns the model.
func NewLlama(cfg *llama.Config, w LlamaWeights) (*Llama, error) {
	c := cfg
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	type mat struct {
		name       string
		m          *Matrix
		rows, cols int
	}
	type vec struct {
		name string
		v    []float32
		n    int
		need bool
	}
	mats := []mat{{"model.embed_tokens.weight", &w.Embed, c.VocabSize, c.Hidden}}
	vecs := []vec{{"model.norm.weight", w.Norm, c.Hidden, true}}
	if len(w.Layers) != c.Layers {
		return nil, fmt.Errorf("model: %d layers of weights for num_hidden_layers %d", len(w.Layers), c.Layers)
	}
	for l := range w.Layers {
		L := &w.Layers[l]
		p := fmt.Sprintf("model.layers.%d.", l)
		mats = append(mats,
			mat{p + "self_attn.q_proj.weight", &L.Q, q, c.Hidden}, mat{p + "self_attn.k_proj.weight", &L.K, kv, c.Hidden},
			mat{p + "self_attn.v_proj.weight", &L.V, kv, c.Hidden}, mat{p + "self_attn.o_proj.weight", &L.O, c.Hidden, q},
			mat{p + "mlp.gate_proj.weight", &L.Gate, c.Intermediate, c.Hidden}, mat{p + "mlp.up_proj.weight", &L.Up, c.Intermediate, c.Hidden},
			mat{p + "mlp.down_proj.weight", &L.Down, c.Hidden, c.Intermediate})
		vecs = append(vecs,
			vec{p + "input_layernorm.weight", L.InputNorm, c.Hidden, true},
			vec{p + "post_attention_layernorm.weight", L.PostAttnNorm, c.Hidden, true},
			vec{p + "pre_feedforward_layernorm.weight", L.PreFFNorm, c.Hidden, c.Gemma},
			vec{p + "post_feedforward_layernorm.weight", L.PostFFNorm, c.Hidden, c.Gemma},
			vec{p + "self_attn.q_proj.bias", L.QB, q, c.QKVBias}, vec{p + "self_attn.k_proj.bias", L.KB, kv, c.QKVBias},
			vec{p + "self_attn.v_proj.bias", L.VB, kv, c.QKVBias}, vec{p + "self_attn.o_proj.bias", L.OB, c.Hidden, c.OBias},
			vec{p + "self_attn.q_norm.weight", L.QNorm, c.HeadDim, c.QKNorm}, vec{p + "self_attn.k_norm.weight", L.KNorm, c.HeadDim, c.QKNorm},
			vec{p + "mlp.gate_proj.bias", L.GateB, c.Intermediate, c.MLPBias}, vec{p + "mlp.up_proj.bias", L.UpB, c.Intermediate, c.MLPBias},
			vec{p + "mlp.down_proj.bias", L.DownB, c.Hidden, c.MLPBias})
	}
	switch c.Head {
	case llama.SequenceClassification:
		if w.Score == nil {
			return nil, fmt.Errorf("model: a %s needs score.weight", c.Architecture)
		}
		mats = append(mats, mat{"score.weight", w.Score, 1, c.Hidden})
	case llama.CausalLM:
		if w.LMHead == nil {
			return nil, fmt.Errorf("model: a %s needs lm_head.weight (or tied embeddings)", c.Architecture)
		}
		mats = append(mats, mat{"lm_head.weight", w.LMHead, c.VocabSize, c.Hidden})
	}
	for _, m := range mats {
		if m.m.Rows != m.rows || m.m.Cols != m.cols {
			return nil, fmt.Errorf("model: %s is [%d %d]; config.json implies [%d %d]", m.name, m.m.Rows, m.m.Cols, m.rows, m.cols)
		}
		if err := m.m.check(m.name); err != nil {
			return nil, err
		}
	}
	for _, v := range vecs {
		switch {
		case v.need && len(v.v) != v.n:
			return nil, fmt.Errorf("model: %s has %d values; config.json implies %d", v.name, len(v.v), v.n)
		case !v.need && v.v != nil:
			return nil, fmt.Errorf("model: %s is given but config.json implies none", v.name)
		}
	}
	return &Llama{Config: cfg, W: w, rope: newRopeTable(cfg.InvFreq(), cfg.MaxPositions)}, nil
}

// WeightBytes is the memory the weights take.
func (m *Llama) WeightBytes() int64 {
	n := m.W.Embed.Bytes()
	vec := func(vs ...[]float32) {
		for _, v := range vs {
			n += 4 * int64(len(v))
		}
	}
	for i := range m.W.Layers {
		L := &m.W.Layers[i]
		for _, w := range []*Matrix{&L.Q, &L.K, &L.V, &L.O, &L.Gate, &L.Up, &L.Down} {
			n += w.Bytes()
		}
		vec(L.InputNorm, L.PostAttnNorm, L.PreFFNorm, L.PostFFNorm, L.QB, L.KB, L.VB, L.OB, L.QNorm, L.KNorm, L.GateB, L.UpB, L.DownB)
	}
	vec(m.W.Norm)
	if m.W.Score != nil {
		n += m.W.Score.Bytes()
	}
	if m.W.LMHead != nil && m.W.LMHead != &m.W.Embed {
		n += m.W.LMHead.Bytes()
	}
	return n
}

// RewardIndex is the position at which the reward of seq is read: the
// rightmost token that is not pad_token_id, as current transformers does
// (so when pad = eos, trailing EOS tokens are skipped and the reward sits on
// the last token before them), the last token when the model has no pad id,
// and 0 when every token is the pad id. (transformers up to 4.47 read it at
// the first pad token minus one instead; the two differ only when the pad
// id occurs inside a sequence.)
func (m *Llama) RewardIndex(seq []int32) int {
	pad := m.Config.PadID
	if pad < 0 {
		return len(seq) - 1
	}
	for i := len(seq) - 1; i >= 0; i-- {
		if int(seq[i]) != pad {
			return i
		}
	}
	return 0
}

// checkSeqs validates a batch of token sequences.
func (m *Llama) checkSeqs(seqs [][]int32) error {
	c := m.Config
	if len(seqs) == 0 {
		return fmt.Errorf("model: empty batch")
	}
	for b, s := range seqs {
		if len(s) == 0 {
			return fmt.Errorf("model: sequence %d is empty", b)
		}
		if len(s) > c.MaxPositions {
			return fmt.Errorf("model: sequence %d has %d tokens, more than max_position_embeddings %d", b, len(s), c.MaxPositions)
		}
		for t, tok := range s {
			if tok < 0 || int(tok) >= c.VocabSize {
				return fmt.Errorf("model: token %d at position %d of sequence %d is outside the vocabulary [0, %d)", tok, t, b, c.VocabSize)
			}
		}
	}
	return nil
}

// Rewards returns the reward of every sequence, read at RewardIndex. Only
// the tokens up to that index are computed (by causality the rest cannot
// change it), and the last layer computes its keys and values at every row
// but the rest of it only at the reward rows.
func (m *Llama) Rewards(seqs [][]int32) ([]float32, error) {
	if m.Config.Head != llama.SequenceClassification {
		return nil, fmt.Errorf("model: %s has no reward head (a *ForSequenceClassification checkpoint has)", m.Config.Architecture)
	}
	if err := m.checkSeqs(seqs); err != nil {
		return nil, err
	}
	cut := make([][]int32, len(seqs))
	for b, s := range seqs {
		cut[b] = s[:m.RewardIndex(s)+1]
	}
	ws := &m.ws
	N := m.setupPass(cut)
	m.trunk(N, nil, true)
	B := len(seqs)
	m.finalNorm(ws.last, B)
	r := make([]float32, B)
	m.W.Score.mul(r, ws.last, B)
	return r, nil
}

// Logits returns the LM head's logits of every position of every sequence,
// [Σ len, vocab] in order (Gemma2's final soft-cap applied).
func (m *Llama) Logits(seqs [][]int32) ([]float32, error) {
	if m.Config.Head != llama.CausalLM {
		return nil, fmt.Errorf("model: %s has no language-model head (a *ForCausalLM checkpoint has)", m.Config.Architecture)
	}
	if err := m.checkSeqs(seqs); err != nil {
		return nil, err
	}
	N := m.setupPass(seqs)
	m.trunk(N, nil, false)
	m.finalNorm(m.ws.x[:N*m.Config.Hidden], N)
	out := make([]float32, N*m.Config.VocabSize)
	m.lmHead(out, m.ws.x, N)
	return out, nil
}

// setupPass lays the sequences out as packed rows (tokens, positions and
// spans whose keys are their own rows) and returns the row count.
func (m *Llama) setupPass(seqs [][]int32) int {
	ws := &m.ws
	N := 0
	for _, s := range seqs {
		N += len(s)
	}
	ws.tok, ws.pos = growInt32(ws.tok, N)[:0], growInt32(ws.pos, N)[:0]
	ws.spans = ws.spans[:0]
	for _, s := range seqs {
		ws.spans = append(ws.spans, kvSpan{qrow: len(ws.tok), n: len(s), p0: 0, kbase: len(ws.tok)})
		ws.tok = append(ws.tok, s...)
		for t := range s {
			ws.pos = append(ws.pos, int32(t))
		}
	}
	return N
}

// finalNorm applies model.norm to the first N rows of x in place.
func (m *Llama) finalNorm(x []float32, N int) {
	c := m.Config
	rmsnormForward(x, nil, x, m.W.Norm, N, c.Hidden, float32(c.RMSNormEps), c.Gemma)
}

// lmHead writes the logits of N normalised rows of x into out [N, vocab].
func (m *Llama) lmHead(out, x []float32, N int) {
	m.W.LMHead.mul(out, x, N)
	if cap := float32(m.Config.FinalLogitSoftcap); cap > 0 {
		parallelRows(N, m.Config.VocabSize, func(lo, hi int) {
			softcapRow(out[lo*m.Config.VocabSize:hi*m.Config.VocabSize], cap)
		})
	}
}

// trunk runs the embedding and every decoder layer over the N rows that
// setupPass (or a KV cache step) laid out in ws.tok, ws.pos and ws.spans,
// leaving the residual stream in ws.x. With a cache, each layer's keys and
// values are written into it (at sequence b's row b*MaxLen + position) and
// attention reads them from there.
//
// With lastOnly, only the last row of each span is wanted: the last layer
// computes keys and values at every row (the wanted rows attend to them)
// and queries, attention output and MLP at the wanted rows only, and the
// result is ws.last, [len(ws.spans), hidden] (ws.x then holds the input of
// the last layer). For a reward model this saves nearly all of a layer.
func (m *Llama) trunk(N int, kv *LlamaKVCache, lastOnly bool) {
	c := m.Config
	ws := &m.ws
	H, I := c.Hidden, c.Intermediate
	Wq, Wkv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	ws.x, ws.h, ws.o = growF32(ws.x, N*H), growF32(ws.h, N*H), growF32(ws.o, N*H)
	ws.q, ws.att = growF32(ws.q, N*Wq), growF32(ws.att, N*Wq)
	ws.k, ws.v = growF32(ws.k, N*Wkv), growF32(ws.v, N*Wkv)
	ws.gate, ws.up = growF32(ws.gate, N*I), growF32(ws.up, N*I)
	ws.scores = growF32(ws.scores, gqaScratch(ws.spans, c.Heads))
	x := ws.x[:N*H]

	scale := float32(c.EmbeddingScale)
	parallelRows(N, H, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			row := x[r*H : (r+1)*H]
			m.W.Embed.row(int(ws.tok[r]), row)
			if c.Gemma {
				for j := range row {
					row[j] *= scale
				}
			}
		}
	})
	for l := range c.Layers {
		if lastOnly && l == c.Layers-1 {
			m.layer(l, N, m.lastRows(), kv)
		} else {
			m.layer(l, N, rowSet{n: N, x: x, pos: ws.pos, spans: ws.spans}, kv)
		}
	}
}

// rowSet is where a layer computes its queries and everything after
// attention: n rows whose residual stream is x [n, hidden] (updated in
// place), at positions pos, attending as spans say. gather, when not nil,
// names the pass row each of them is, to take its normalised input from.
type rowSet struct {
	n      int
	x      []float32
	pos    []int32
	spans  []kvSpan
	gather []int // the source row of each of the n rows; nil: rows 0..n-1
}

// lastRows gathers the residual stream at the last row of each span into
// ws.last and returns them as the rows of a compact last layer.
func (m *Llama) lastRows() rowSet {
	ws := &m.ws
	H := m.Config.Hidden
	B := len(ws.spans)
	ws.last = growF32(ws.last, B*H)
	ws.posq = growInt32(ws.posq, B)
	ws.qspans, ws.qsrc = ws.qspans[:0], ws.qsrc[:0]
	for b, sp := range ws.spans {
		r := sp.qrow + sp.n - 1
		ws.qsrc = append(ws.qsrc, r)
		copy(ws.last[b*H:(b+1)*H], ws.x[r*H:][:H])
		ws.posq[b] = ws.pos[r]
		ws.qspans = append(ws.qspans, kvSpan{qrow: b, n: 1, p0: sp.p0 + sp.n - 1, kbase: sp.kbase})
	}
	return rowSet{n: B, x: ws.last[:B*H], pos: ws.posq[:B], spans: ws.qspans, gather: ws.qsrc}
}

// layer runs decoder layer l: keys and values at all N rows of ws.x (into
// the cache when kv is not nil), the rest at the rows of rs.
func (m *Llama) layer(l, N int, rs rowSet, kv *LlamaKVCache) {
	c := m.Config
	ws := &m.ws
	L := &m.W.Layers[l]
	H, I := c.Hidden, c.Intermediate
	Wq, Wkv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	eps := float32(c.RMSNormEps)
	n := rs.n
	h, k, v := ws.h[:N*H], ws.k[:N*Wkv], ws.v[:N*Wkv]
	o, q, att := ws.o[:n*H], ws.q[:n*Wq], ws.att[:n*Wq]
	gate, up := ws.gate[:n*I], ws.up[:n*I]
	shape := attnShape{H: c.Heads, KVH: c.KVHeads, hd: c.HeadDim, scale: float32(c.AttentionScale),
		softcap: float32(c.AttnLogitSoftcap), window: c.Window(l)}

	rmsnormForward(h, nil, ws.x[:N*H], L.InputNorm, N, H, eps, c.Gemma)
	hq := h
	if rs.gather != nil {
		ws.hq = growF32(ws.hq, n*H)
		hq = ws.hq[:n*H]
		for i, r := range rs.gather {
			copy(hq[i*H:(i+1)*H], h[r*H:(r+1)*H])
		}
	}
	L.Q.mul(q, hq, n)
	addBias(q, L.QB, n, Wq)
	L.K.mul(k, h, N)
	addBias(k, L.KB, N, Wkv)
	L.V.mul(v, h, N)
	addBias(v, L.VB, N, Wkv)
	if c.QKNorm {
		headRMSNormForward(q, L.QNorm, n, c.Heads, c.HeadDim, eps)
		headRMSNormForward(k, L.KNorm, N, c.KVHeads, c.HeadDim, eps)
	}
	ropeForward(q, rs.pos, &m.rope, n, c.Heads)
	ropeForward(k, ws.pos, &m.rope, N, c.KVHeads)
	K, V := k, v
	if kv != nil {
		K, V = kv.k[l], kv.v[l]
		kv.store(l, k, v)
	}
	gqaAttentionForward(att, q, K, V, rs.spans, shape, ws.scores)
	x := rs.x
	hn := ws.h[:n*H] // the all-row normalisation is no longer needed
	L.O.mul(o, att, n)
	addBias(o, L.OB, n, H)
	if c.Gemma {
		rmsnormForward(o, nil, o, L.PostAttnNorm, n, H, eps, true)
		addInto(x, o, n, H)
		rmsnormForward(hn, nil, x, L.PreFFNorm, n, H, eps, true)
	} else {
		addInto(x, o, n, H)
		rmsnormForward(hn, nil, x, L.PostAttnNorm, n, H, eps, false)
	}
	L.Gate.mul(gate, hn, n)
	addBias(gate, L.GateB, n, I)
	L.Up.mul(up, hn, n)
	addBias(up, L.UpB, n, I)
	gluForward(gate, up, n, I, c.Activation == "gelu_pytorch_tanh")
	L.Down.mul(o, gate, n)
	addBias(o, L.DownB, n, H)
	if c.Gemma {
		rmsnormForward(o, nil, o, L.PostFFNorm, n, H, eps, true)
	}
	addInto(x, o, n, H)
}
