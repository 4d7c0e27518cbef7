package model

import (
	"fmt"
	"math"
)

// RewardModel is a reward model of any family as the rest of warm scores
// with it (eval, policy, merge's check, warm score): one reward a token
// sequence. GPT-2 (*Model with a reward head) and the Llama family
// (*Llama, *ForSequenceClassification) implement it.
type RewardModel interface {
	// Rewards returns the reward of every sequence. Sequences are given
	// unpadded, each non-empty and at most MaxLen() tokens; the family's
	// rule says which token the reward is read at (GPT-2: the last one;
	// the Llama family: the rightmost token that is not the pad id).
	// Implementations are not safe for concurrent calls.
	Rewards(seqs [][]int32) ([]float32, error)
	// MaxLen is the longest sequence the model reads.
	MaxLen() int
	// VocabSize is the number of token ids the embedding has.
	VocabSize() int
}

var (
	_ RewardModel = (*Model)(nil)
	_ RewardModel = (*Llama)(nil)
)

// Rewards implements RewardModel: the reward head at each sequence's last
// token (RewardForward on the sequences right-padded, without dropout).
func (m *Model) Rewards(seqs [][]int32) ([]float32, error) {
	if !m.Config.RewardHead {
		return nil, fmt.Errorf("model: the model has no reward head (score.weight)")
	}
	T := 1
	for b, s := range seqs {
		if len(s) == 0 {
			return nil, fmt.Errorf("model: sequence %d is empty", b)
		}
		T = max(T, len(s))
	}
	if T > m.Config.NPositions {
		return nil, fmt.Errorf("model: a sequence of %d tokens is longer than the model's %d positions", T, m.Config.NPositions)
	}
	tokens, lengths := rightPad(seqs, int32(max(m.Config.PadID, 0)), T)
	r, err := m.RewardForward(tokens, len(seqs), T, lengths, false, 0)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), r...), nil
}

// MaxLen implements RewardModel.
func (m *Model) MaxLen() int { return m.Config.NPositions }

// MaxLen implements RewardModel.
func (m *Llama) MaxLen() int { return m.Config.MaxPositions }

// LanguageModel is a causal language model of any family as sampling sees
// it. GPT-2 (*Model) and the Llama family (*Llama, *ForCausalLM) implement
// it.
type LanguageModel interface {
	// NewDecoder returns an empty incremental decoder (a KV cache) for
	// batch sequences of up to maxLen tokens each.
	NewDecoder(batch, maxLen int) (Decoder, error)
	// NextLogits returns the logits [len(seqs), VocabSize()] of the token
	// after each sequence, computing every position (no cache).
	NextLogits(seqs [][]int32) ([]float32, error)
	// MaxLen is the longest sequence the model reads.
	MaxLen() int
	// VocabSize is the width of the logits.
	VocabSize() int
}

// Decoder decodes a batch of ragged sequences incrementally; logits it
// returns are [batch, VocabSize()] and valid until its next call.
type Decoder interface {
	// Prefill replaces the contents by the prompts (one a sequence, not
	// empty) and returns the logits of the token after each.
	Prefill(prompts [][]int32) ([]float32, error)
	// Step appends tokens[b] to sequence b, for every b, and returns the
	// logits of the token after it.
	Step(tokens []int32) ([]float32, error)
}

var (
	_ LanguageModel = (*Model)(nil)
	_ LanguageModel = (*Llama)(nil)
)

// NewDecoder implements LanguageModel.
func (m *Model) NewDecoder(batch, maxLen int) (Decoder, error) {
	kv, err := m.NewKVCache(batch, maxLen)
	if err != nil {
		return nil, err
	}
	return gpt2Decoder{kv}, nil
}

// gpt2Decoder adapts KVCache's padded Prefill to ragged prompts.
type gpt2Decoder struct{ *KVCache }

func (d gpt2Decoder) Prefill(prompts [][]int32) ([]float32, error) {
	if len(prompts) != d.B {
		return nil, fmt.Errorf("model: prefill of %d prompts into a KV cache for %d sequences", len(prompts), d.B)
	}
	T := 0
	for _, p := range prompts {
		T = max(T, len(p))
	}
	tokens, lengths := rightPad(prompts, int32(d.m.Config.PadID), T)
	return d.KVCache.Prefill(tokens, T, lengths)
}

// rightPad lays ragged sequences out as GPT-2's passes take them: rows of
// T tokens (T at least the longest sequence), right-padded with pad, and
// each sequence's length.
func rightPad(seqs [][]int32, pad int32, T int) ([]int32, []int) {
	tokens := make([]int32, len(seqs)*T)
	lengths := make([]int, len(seqs))
	for b, s := range seqs {
		row := tokens[b*T : (b+1)*T]
		for i := copy(row, s); i < T; i++ {
			row[i] = pad
		}
		lengths[b] = len(s)
	}
	return tokens, lengths
}

// NextLogits implements LanguageModel. Sequences run one at a time, so
// right padding (which a pad token equal to EOS would make ambiguous) never
// enters the pass.
func (m *Model) NextLogits(seqs [][]int32) ([]float32, error) {
	V := m.Config.VocabSize
	out := make([]float32, len(seqs)*V)
	for b, s := range seqs {
		logits, err := m.Logits(s, 1, len(s))
		if err != nil {
			return nil, err
		}
		copy(out[b*V:], logits[(len(s)-1)*V:len(s)*V])
	}
	return out, nil
}

// VocabSize implements LanguageModel.
func (m *Model) VocabSize() int { return m.Config.VocabSize }

// NewDecoder implements LanguageModel.
func (m *Llama) NewDecoder(batch, maxLen int) (Decoder, error) {
	return m.NewLlamaKVCache(batch, maxLen)
}

// NextLogits implements LanguageModel.
func (m *Llama) NextLogits(seqs [][]int32) ([]float32, error) {
	all, err := m.Logits(seqs)
	if err != nil {
		return nil, err
	}
	V := m.Config.VocabSize
	out := make([]float32, len(seqs)*V)
	row := 0
	for b, s := range seqs {
		row += len(s)
		copy(out[b*V:(b+1)*V], all[(row-1)*V:row*V])
	}
	return out, nil
}

// VocabSize implements LanguageModel.
func (m *Llama) VocabSize() int { return m.Config.VocabSize }

// CheckFinite reports the first weight that is NaN or infinite, naming
// its tensor (a checkpoint that would poison every reward).
func (m *Model) CheckFinite() error {
	for _, p := range m.params { // not Params: reading keeps the packed weights
		if i := firstNonFinite(p.Data); i >= 0 {
			return fmt.Errorf("model: tensor %s has a non-finite value (%v at index %d)", p.Name, p.Data[i], i)
		}
	}
	return nil
}

// CheckFinite reports the first weight that is NaN or infinite, naming
// its tensor.
func (m *Llama) CheckFinite() error {
	check := func(name string, w *Matrix) error {
		if w == nil {
			return nil
		}
		if w.H != nil {
			for i, x := range w.H {
				if f := w.Half.Widen(x); f != f || f > math.MaxFloat32 || f < -math.MaxFloat32 {
					return fmt.Errorf("model: tensor %s has a non-finite value (%v at index %d)", name, f, i)
				}
			}
			return nil
		}
		if i := firstNonFinite(w.F32); i >= 0 {
			return fmt.Errorf("model: tensor %s has a non-finite value (%v at index %d)", name, w.F32[i], i)
		}
		return nil
	}
	vec := func(name string, v []float32) error {
		if i := firstNonFinite(v); i >= 0 {
			return fmt.Errorf("model: tensor %s has a non-finite value (%v at index %d)", name, v[i], i)
		}
		return nil
	}
	errs := []error{check("model.embed_tokens.weight", &m.W.Embed), vec("model.norm.weight", m.W.Norm),
		check("score.weight", m.W.Score), check("lm_head.weight", m.W.LMHead)}
	for l := range m.W.Layers {
		L := &m.W.Layers[l]
		p := fmt.Sprintf("model.layers.%d.", l)
		for _, w := range []struct {
			n string
			m *Matrix
		}{{"self_attn.q_proj", &L.Q}, {"self_attn.k_proj", &L.K}, {"self_attn.v_proj", &L.V}, {"self_attn.o_proj", &L.O},
			{"mlp.gate_proj", &L.Gate}, {"mlp.up_proj", &L.Up}, {"mlp.down_proj", &L.Down}} {
			errs = append(errs, check(p+w.n+".weight", w.m))
		}
		for _, v := range []struct {
			n string
			v []float32
		}{{"input_layernorm.weight", L.InputNorm}, {"post_attention_layernorm.weight", L.PostAttnNorm},
			{"pre_feedforward_layernorm.weight", L.PreFFNorm}, {"post_feedforward_layernorm.weight", L.PostFFNorm},
			{"self_attn.q_proj.bias", L.QB}, {"self_attn.k_proj.bias", L.KB}, {"self_attn.v_proj.bias", L.VB}, {"self_attn.o_proj.bias", L.OB},
			{"self_attn.q_norm.weight", L.QNorm}, {"self_attn.k_norm.weight", L.KNorm},
			{"mlp.gate_proj.bias", L.GateB}, {"mlp.up_proj.bias", L.UpB}, {"mlp.down_proj.bias", L.DownB}} {
			errs = append(errs, vec(p+v.n, v.v))
		}
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// firstNonFinite is the index of the first NaN or infinity in x, or -1.
func firstNonFinite(x []float32) int {
	for i, v := range x {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			return i
		}
	}
	return -1
}
