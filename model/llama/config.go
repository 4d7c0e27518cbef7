// Package llama reads the configuration of the Llama family of Hugging Face
// models (Llama, Mistral, Qwen2, Qwen3, Gemma2): what their config.json says
// about the computation, checked field by field. Every field of a
// config.json is either read, known not to change the computation
// (ignorable, listed in docs/MODELS.md), or an error naming it: a checkpoint
// warm cannot compute exactly is refused, never run approximately.
//
// This is the first step of the family in the engine (issue 10); the
// forward pass that consumes Config comes next.
package llama

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// Family is a model_type warm knows.
type Family string

// The families.
const (
	Llama   Family = "llama"
	Mistral Family = "mistral"
	Qwen2   Family = "qwen2"
	Qwen3   Family = "qwen3"
	Gemma2  Family = "gemma2"
)

// Head is what sits on the trunk.
type Head string

// The heads: a reward model (num_labels 1 on the last non-pad token) or a
// language model.
const (
	SequenceClassification Head = "ForSequenceClassification"
	CausalLM               Head = "ForCausalLM"
)

// RoPE is the rotary position embedding: base frequency and scaling.
type RoPE struct {
	Theta float64
	// Type is "default", "linear" or "llama3".
	Type string
	// Factor divides positions ("linear") or long wavelengths ("llama3").
	Factor float64
	// LowFreqFactor, HighFreqFactor and OriginalMaxPositions are llama3's.
	LowFreqFactor, HighFreqFactor float64
	OriginalMaxPositions          int
}

// Config is the computation a config.json describes.
type Config struct {
	Family Family
	Head   Head
	// Architecture is the architectures entry, e.g. Qwen2ForSequenceClassification.
	Architecture string

	VocabSize    int
	Hidden       int // hidden_size
	Intermediate int // intermediate_size
	Layers       int // num_hidden_layers
	Heads        int // num_attention_heads
	KVHeads      int // num_key_value_heads (grouped-query attention)
	HeadDim      int // head_dim, else hidden_size / num_attention_heads
	MaxPositions int // max_position_embeddings
	RMSNormEps   float64
	RoPE         RoPE
	// Activation of the gated MLP: "silu" (SwiGLU) or "gelu_pytorch_tanh" (GeGLU).
	Activation string
	// QKVBias and OBias are biases on the attention projections (Qwen2 always
	// has q/k/v biases; Llama's attention_bias sets all four). MLPBias is
	// Llama's mlp_bias.
	QKVBias, OBias, MLPBias bool
	// QKNorm is Qwen3's per-head RMSNorm of queries and keys.
	QKNorm bool
	// TieEmbeddings: the LM head is the token embedding.
	TieEmbeddings bool
	// NumLabels is the reward head's width (1 for a reward model).
	NumLabels int
	// PadID is pad_token_id (-1 when absent); the reward is read at the
	// rightmost token that is not PadID.
	PadID int
	// BOS and EOS ids (-1 when absent; EOS may list several).
	BOS int
	EOS []int

	// SlidingWindow is the attention window of each layer (0: full).
	SlidingWindow []int

	// Gemma (Gemma2): embeddings scaled by √hidden, RMSNorm weights applied
	// as 1 + w, four norms a layer (post-attention and post-MLP norms
	// beside the pre-norms), soft-caps (0: off) on attention scores and
	// final logits.
	// FinalLogitSoftcap applies to LM logits only: Gemma2's sequence
	// classifier reads the trunk's last hidden state.
	Gemma              bool
	QueryPreAttnScalar float64
	AttnLogitSoftcap   float64
	FinalLogitSoftcap  float64
	// EmbeddingScale multiplies token embeddings (√hidden for Gemma2, else 1).
	EmbeddingScale float64
	// AttentionScale multiplies q·k: 1/√head_dim, or Gemma2's
	// 1/√query_pre_attn_scalar.
	AttentionScale float64
}

// Window returns the attention window of layer l (0: full attention).
func (c *Config) Window(l int) int { return c.SlidingWindow[l] }

// KVGroups is how many query heads share one key/value head.
func (c *Config) KVGroups() int { return c.Heads / c.KVHeads }

// ignorable lists the config fields that never change the computation of a
// forward pass in float32 inference: bookkeeping, training-only settings
// and generation defaults. Anything else must be read below.
var ignorable = []string{
	"_name_or_path", "transformers_version", "torch_dtype", "use_cache",
	"initializer_range", "attention_dropout", "hidden_dropout", "embd_pdrop",
	"output_attentions", "output_hidden_states", "return_dict", "problem_type",
	"label2id", "cache_implementation", "model_name", "chunk_size_feed_forward",
	"tokenizer_class", "max_length", "min_length", "do_sample", "num_beams",
	"temperature", "top_k", "top_p", "repetition_penalty", "length_penalty",
	"bad_words_ids", "decoder_start_token_id", "sep_token_id", "task_specific_params",
	"is_encoder_decoder", "add_cross_attention", "tie_encoder_decoder", "torchscript",
	"use_bfloat16", "pruned_heads", "finetuning_task", "prefix",
}

// fields is a config.json being read: each read removes its key, and what
// remains at the end must be ignorable.
type fields struct {
	file string
	m    map[string]json.RawMessage
	err  error
}

func (f *fields) fail(format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: %s", f.file, fmt.Sprintf(format, args...))
	}
}

// take decodes key into v when present and not null; it reports presence.
func (f *fields) take(key string, v any) bool {
	raw, ok := f.m[key]
	delete(f.m, key)
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		f.fail("field %s: %v", key, err)
		return false
	}
	return true
}

func (f *fields) int(key string, def int) int {
	v := def
	f.take(key, &v)
	return v
}

func (f *fields) required(key string) int {
	var v int
	if !f.take(key, &v) {
		f.fail("field %s is missing", key)
	}
	return v
}

func (f *fields) float(key string, def float64) float64 {
	v := def
	f.take(key, &v)
	return v
}

func (f *fields) bool(key string, def bool) bool {
	v := def
	f.take(key, &v)
	return v
}

func (f *fields) str(key, def string) string {
	v := def
	f.take(key, &v)
	return v
}

// ParseConfig reads a Llama-family config.json; file names it in errors.
func ParseConfig(data []byte, file string) (*Config, error) {
	f := &fields{file: file}
	if err := json.Unmarshal(data, &f.m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	c := &Config{}
	c.Family = Family(f.str("model_type", ""))
	switch c.Family {
	case Llama, Mistral, Qwen2, Qwen3, Gemma2:
	case "":
		return nil, fmt.Errorf("%s: field model_type is missing", file)
	default:
		return nil, fmt.Errorf("%s: model_type %q is not a Llama-family model (llama, mistral, qwen2, qwen3, gemma2)", file, c.Family)
	}
	c.parseArchitecture(f)
	c.VocabSize = f.required("vocab_size")
	c.Hidden = f.required("hidden_size")
	c.Intermediate = f.required("intermediate_size")
	c.Layers = f.required("num_hidden_layers")
	c.Heads = f.required("num_attention_heads")
	c.KVHeads = f.int("num_key_value_heads", c.Heads)
	c.HeadDim = f.int("head_dim", 0)
	c.MaxPositions = f.required("max_position_embeddings")
	c.RMSNormEps = f.float("rms_norm_eps", 1e-6)
	c.parseRoPE(f)
	c.parseActivation(f)
	c.parseBiases(f)
	c.TieEmbeddings = f.bool("tie_word_embeddings", c.Family == Gemma2)
	c.parseLabels(f)
	c.PadID = f.int("pad_token_id", -1)
	c.BOS = f.int("bos_token_id", -1)
	c.parseEOS(f)
	c.parseWindows(f)
	c.parseGemma(f)
	if tp := f.int("pretraining_tp", 1); tp != 1 {
		f.fail("pretraining_tp %d is not supported (its sliced matmuls equal tp 1 only up to rounding; want 1)", tp)
	}
	if f.err != nil {
		return nil, f.err
	}
	if err := c.check(file); err != nil {
		return nil, err
	}
	var left []string
	for k := range f.m {
		if !slices.Contains(ignorable, k) {
			left = append(left, k)
		}
	}
	if len(left) > 0 {
		sort.Strings(left)
		return nil, fmt.Errorf("%s: field %s is not implemented by warm's %s engine (see docs/MODELS.md for the fields it reads and those known not to matter)",
			file, strings.Join(left, ", "), c.Family)
	}
	return c, nil
}

func (c *Config) parseArchitecture(f *fields) {
	var archs []string
	if !f.take("architectures", &archs) || len(archs) == 0 {
		f.fail("field architectures is missing (want e.g. %sForSequenceClassification)", familyPrefix(c.Family))
		return
	}
	if len(archs) > 1 {
		f.fail("field architectures lists %d architectures; warm reads one", len(archs))
		return
	}
	c.Architecture = archs[0]
	prefix := familyPrefix(c.Family)
	switch archs[0] {
	case prefix + string(SequenceClassification):
		c.Head = SequenceClassification
	case prefix + string(CausalLM):
		c.Head = CausalLM
	default:
		f.fail("architectures[0] %q is not supported (want %s%s or %s%s)", archs[0], prefix, SequenceClassification, prefix, CausalLM)
	}
}

func familyPrefix(f Family) string {
	switch f {
	case Qwen2:
		return "Qwen2"
	case Qwen3:
		return "Qwen3"
	case Gemma2:
		return "Gemma2"
	case Mistral:
		return "Mistral"
	}
	return "Llama"
}

func (c *Config) parseRoPE(f *fields) {
	c.RoPE = RoPE{Theta: f.float("rope_theta", 10000), Type: "default", Factor: 1}
	var rs map[string]json.RawMessage
	if !f.take("rope_scaling", &rs) {
		return
	}
	sub := &fields{file: f.file, m: rs}
	typ := sub.str("rope_type", "")
	if t := sub.str("type", ""); typ == "" {
		typ = t
	}
	c.RoPE.Type = typ
	switch typ {
	case "default", "":
		c.RoPE.Type = "default"
	case "linear":
		c.RoPE.Factor = sub.float("factor", 0)
	case "llama3":
		c.RoPE.Factor = sub.float("factor", 0)
		c.RoPE.LowFreqFactor = sub.float("low_freq_factor", 0)
		c.RoPE.HighFreqFactor = sub.float("high_freq_factor", 0)
		c.RoPE.OriginalMaxPositions = sub.int("original_max_position_embeddings", 0)
		if c.RoPE.LowFreqFactor <= 0 || c.RoPE.HighFreqFactor <= c.RoPE.LowFreqFactor || c.RoPE.OriginalMaxPositions <= 0 {
			f.fail("rope_scaling (llama3) needs low_freq_factor > 0, high_freq_factor > low_freq_factor and original_max_position_embeddings > 0")
		}
	default:
		f.fail("rope_scaling.rope_type %q is not supported (warm implements default, linear and llama3)", typ)
		return
	}
	if c.RoPE.Type != "default" && c.RoPE.Factor <= 0 {
		f.fail("rope_scaling.factor must be > 0")
	}
	if sub.err != nil {
		f.fail("%v", sub.err)
	}
	for k := range sub.m {
		f.fail("field rope_scaling.%s is not implemented", k)
	}
}

// parseActivation reads the gated MLP's activation: hidden_act, or for
// Gemma2 hidden_activation (modeling_gemma2 never reads hidden_act, which
// some Gemma2 configs carry as a leftover).
func (c *Config) parseActivation(f *fields) {
	key, def := "hidden_act", "silu"
	if c.Family == Gemma2 {
		key, def = "hidden_activation", "gelu_pytorch_tanh"
		delete(f.m, "hidden_act")
	}
	c.Activation = f.str(key, def)
	switch c.Activation {
	case "silu", "gelu_pytorch_tanh":
	default:
		f.fail("field %s %q is not supported (warm implements silu and gelu_pytorch_tanh)", key, c.Activation)
	}
}

func (c *Config) parseBiases(f *fields) {
	switch c.Family {
	case Qwen2:
		c.QKVBias = true
	case Llama, Qwen3:
		ab := f.bool("attention_bias", false)
		c.QKVBias, c.OBias = ab, ab
		if c.Family == Qwen3 {
			c.QKNorm = true
		}
	case Gemma2:
		ab := f.bool("attention_bias", false)
		c.QKVBias, c.OBias = ab, ab
	}
	if c.Family == Llama {
		c.MLPBias = f.bool("mlp_bias", false)
	}
}

func (c *Config) parseLabels(f *fields) {
	var id2label map[string]string
	f.take("id2label", &id2label)
	c.NumLabels = f.int("num_labels", len(id2label))
	if c.NumLabels == 0 {
		c.NumLabels = 2 // transformers' default
	}
	if c.Head == SequenceClassification && c.NumLabels != 1 {
		f.fail("num_labels %d: a reward model has one label (score.weight [1, hidden]); warm reads one reward a sequence", c.NumLabels)
	}
}

func (c *Config) parseEOS(f *fields) {
	raw, ok := f.m["eos_token_id"]
	delete(f.m, "eos_token_id")
	if !ok {
		return
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		c.EOS = []int{one}
		return
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err == nil {
		c.EOS = many
		return
	}
	if !bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		f.fail("field eos_token_id: want an id or a list of ids")
	}
}

// parseWindows sets each layer's attention window: Mistral's sliding_window
// on every layer; Qwen2/Qwen3's on layers from max_window_layers on when
// use_sliding_window; Gemma2's on even layers (0, 2, ...), full attention on
// odd ones.
func (c *Config) parseWindows(f *fields) {
	c.SlidingWindow = make([]int, c.Layers)
	switch c.Family {
	case Mistral:
		w := f.int("sliding_window", 0)
		for l := range c.SlidingWindow {
			c.SlidingWindow[l] = w
		}
	case Qwen2, Qwen3:
		use := f.bool("use_sliding_window", false)
		w := f.int("sliding_window", 0)
		from := f.int("max_window_layers", c.Layers)
		if use && w > 0 {
			for l := from; l < c.Layers; l++ {
				c.SlidingWindow[l] = w
			}
		}
	case Gemma2:
		w := f.int("sliding_window", 4096)
		for l := 0; l < c.Layers; l += 2 {
			c.SlidingWindow[l] = w
		}
	case Llama:
	}
	for l, w := range c.SlidingWindow {
		if w < 0 {
			f.fail("sliding_window %d of layer %d must be >= 0", w, l)
			break
		}
	}
}

func (c *Config) parseGemma(f *fields) {
	if c.Family != Gemma2 {
		return
	}
	c.Gemma = true
	c.QueryPreAttnScalar = f.float("query_pre_attn_scalar", 0)
	c.AttnLogitSoftcap = f.float("attn_logit_softcapping", 0)
	c.FinalLogitSoftcap = f.float("final_logit_softcapping", 0)
}

// check validates the shape and derives HeadDim, AttentionScale and
// EmbeddingScale.
func (c *Config) check(file string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s", file, fmt.Sprintf(format, args...))
	}
	for _, v := range []struct {
		name string
		n    int
	}{{"vocab_size", c.VocabSize}, {"hidden_size", c.Hidden}, {"intermediate_size", c.Intermediate},
		{"num_hidden_layers", c.Layers}, {"num_attention_heads", c.Heads}, {"num_key_value_heads", c.KVHeads},
		{"max_position_embeddings", c.MaxPositions}} {
		if v.n <= 0 {
			return bad("field %s %d must be > 0", v.name, v.n)
		}
	}
	if c.Heads%c.KVHeads != 0 {
		return bad("num_attention_heads %d is not a multiple of num_key_value_heads %d", c.Heads, c.KVHeads)
	}
	if c.HeadDim == 0 {
		if c.Hidden%c.Heads != 0 {
			return bad("hidden_size %d is not a multiple of num_attention_heads %d (give head_dim)", c.Hidden, c.Heads)
		}
		c.HeadDim = c.Hidden / c.Heads
	}
	if c.HeadDim%2 != 0 {
		return bad("head_dim %d must be even for rotary embeddings", c.HeadDim)
	}
	if c.RMSNormEps <= 0 {
		return bad("rms_norm_eps %g must be > 0", c.RMSNormEps)
	}
	if c.PadID >= c.VocabSize {
		return bad("pad_token_id %d is outside the vocabulary (vocab_size %d)", c.PadID, c.VocabSize)
	}
	c.AttentionScale = 1 / math.Sqrt(float64(c.HeadDim))
	c.EmbeddingScale = 1
	if c.Gemma {
		if c.QueryPreAttnScalar <= 0 {
			return bad("field query_pre_attn_scalar is missing or <= 0 (Gemma2 scales attention by its inverse square root)")
		}
		c.AttentionScale = 1 / math.Sqrt(c.QueryPreAttnScalar)
		c.EmbeddingScale = math.Sqrt(float64(c.Hidden))
	}
	return nil
}
