package checkpoint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/warm-rm/warm/kernels"
	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/model/llama"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/tokenizer"
)

// ModelType reads the model_type of the checkpoint directory dir's
// config.json ("gpt2", "llama", "qwen2", ...).
func ModelType(dir string) (string, error) {
	p := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(p)
	if err != nil {
		return "", fmt.Errorf("reading model type: %w", err)
	}
	var c struct {
		ModelType string `json:"model_type"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	if c.ModelType == "" {
		return "", fmt.Errorf("%s: field model_type is missing", p)
	}
	return c.ModelType, nil
}

// LoadLlama loads a Llama-family checkpoint (Llama, Mistral, Qwen2, Qwen3,
// Gemma2; *ForSequenceClassification or *ForCausalLM) from a directory
// holding config.json and model.safetensors or a sharded set. config.json
// is read strictly (llama.ParseConfig) and every tensor header is checked
// against it before any data is read. Matrices keep their stored dtype:
// F32 stays float32, BF16 and F16 stay 16-bit and are widened inside the
// GEMM (model.Matrix), so memory is about the checkpoint's size; norms and
// biases are widened to float32.
func LoadLlama(dir string) (*model.Llama, error) {
	set, err := safetensors.OpenSet(dir)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	defer set.Close()
	if set.Dir == "" {
		return nil, fmt.Errorf("loading checkpoint %s: a bare safetensors file has no %s; give its directory", dir, ConfigFile)
	}
	confPath := filepath.Join(set.Dir, ConfigFile)
	conf, err := os.ReadFile(confPath)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint %s: %w", dir, err)
	}
	cfg, err := llama.ParseConfig(conf, confPath)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	var infos []safetensors.TensorInfo
	for _, t := range set.Tensors() {
		infos = append(infos, t.TensorInfo)
	}
	if err := cfg.CheckTensors(infos, set.Path); err != nil {
		return nil, fmt.Errorf("loading checkpoint: %w", err)
	}
	r := llamaReader{set: set}
	w := model.LlamaWeights{Embed: r.matrix("model.embed_tokens.weight"), Norm: r.vector("model.norm.weight")}
	opt := func(on bool, name string) []float32 {
		if !on {
			return nil
		}
		return r.vector(name)
	}
	for l := range cfg.Layers {
		p := fmt.Sprintf("model.layers.%d.", l)
		w.Layers = append(w.Layers, model.LlamaLayer{
			InputNorm:    r.vector(p + "input_layernorm.weight"),
			PostAttnNorm: r.vector(p + "post_attention_layernorm.weight"),
			PreFFNorm:    opt(cfg.Gemma, p+"pre_feedforward_layernorm.weight"),
			PostFFNorm:   opt(cfg.Gemma, p+"post_feedforward_layernorm.weight"),
			Q:            r.matrix(p + "self_attn.q_proj.weight"),
			K:            r.matrix(p + "self_attn.k_proj.weight"),
			V:            r.matrix(p + "self_attn.v_proj.weight"),
			O:            r.matrix(p + "self_attn.o_proj.weight"),
			QB:           opt(cfg.QKVBias, p+"self_attn.q_proj.bias"),
			KB:           opt(cfg.QKVBias, p+"self_attn.k_proj.bias"),
			VB:           opt(cfg.QKVBias, p+"self_attn.v_proj.bias"),
			OB:           opt(cfg.OBias, p+"self_attn.o_proj.bias"),
			QNorm:        opt(cfg.QKNorm, p+"self_attn.q_norm.weight"),
			KNorm:        opt(cfg.QKNorm, p+"self_attn.k_norm.weight"),
			Gate:         r.matrix(p + "mlp.gate_proj.weight"),
			Up:           r.matrix(p + "mlp.up_proj.weight"),
			Down:         r.matrix(p + "mlp.down_proj.weight"),
			GateB:        opt(cfg.MLPBias, p+"mlp.gate_proj.bias"),
			UpB:          opt(cfg.MLPBias, p+"mlp.up_proj.bias"),
			DownB:        opt(cfg.MLPBias, p+"mlp.down_proj.bias"),
		})
	}
	switch {
	case cfg.Head == llama.SequenceClassification:
		s := r.matrix("score.weight")
		w.Score = &s
	case cfg.TieEmbeddings:
		w.LMHead = &w.Embed
	default:
		lm := r.matrix("lm_head.weight")
		w.LMHead = &lm
	}
	if r.err != nil {
		return nil, fmt.Errorf("loading checkpoint %s: %w", dir, r.err)
	}
	m, err := model.NewLlama(cfg, w)
	if err != nil {
		return nil, fmt.Errorf("loading checkpoint %s: %w", dir, err)
	}
	return m, nil
}

// llamaReader reads tensors of a checked set, keeping the first error.
type llamaReader struct {
	set *safetensors.Set
	err error
}

// matrix reads a 2-D tensor in its stored dtype.
func (r *llamaReader) matrix(name string) model.Matrix {
	t, _ := r.set.Lookup(name)
	m := model.Matrix{Rows: int(t.Shape[0]), Cols: int(t.Shape[1])}
	if r.err != nil {
		return m
	}
	switch t.DType {
	case safetensors.BF16, safetensors.F16:
		m.Half = kernels.BF16
		if t.DType == safetensors.F16 {
			m.Half = kernels.F16
		}
		m.H = make([]uint16, m.Rows*m.Cols)
		// safetensors is little-endian, as every machine warm's kernels run
		// on: the bytes are the uint16 values.
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&m.H[0])), 2*len(m.H))
		if _, err := r.set.ReadRaw(name, raw); err != nil {
			r.err = err
		}
	default:
		m.F32, r.err = r.set.ReadFloat32(name, make([]float32, m.Rows*m.Cols))
	}
	return m
}

// vector reads a tensor widened to float32.
func (r *llamaReader) vector(name string) []float32 {
	if r.err != nil {
		return nil
	}
	t, _ := r.set.Lookup(name)
	v, err := r.set.ReadFloat32(name, make([]float32, t.NumElements()))
	if err != nil {
		r.err = err
	}
	return v
}

// LM is a causal language model of any family with its tokenizer.
type LM struct {
	// Family is config.json's model_type.
	Family string
	Model  model.LanguageModel
	// Tok is nil when the checkpoint has no tokenizer.json.
	Tok *tokenizer.Tokenizer
	// EOS ends a response: the tokenizer's end-of-text for warm's GPT-2
	// checkpoints, config.json's (first) eos_token_id for the Llama family;
	// OtherEOS are the further ids of an eos_token_id list (Llama-3's
	// <|eot_id|> beside <|end_of_text|>). -1 when there is none.
	EOS      int
	OtherEOS []int
}

// LoadLM loads a language-model checkpoint of any family.
func LoadLM(dir string) (*LM, error) {
	typ, err := ModelType(dir)
	if err != nil {
		return nil, err
	}
	if typ == "gpt2" {
		ck, err := Load(dir)
		if err != nil {
			return nil, err
		}
		lm := &LM{Family: typ, Model: ck.Model, Tok: ck.Tokenizer, EOS: -1}
		if ck.Tokenizer != nil {
			lm.EOS = ck.Tokenizer.EOS()
		}
		return lm, nil
	}
	m, err := LoadLlama(dir)
	if err != nil {
		return nil, err
	}
	if m.Config.Head != llama.CausalLM {
		return nil, fmt.Errorf("%s: %s is not a language model (want a *ForCausalLM checkpoint)", dir, m.Config.Architecture)
	}
	lm := &LM{Family: typ, Model: m, EOS: -1}
	if len(m.Config.EOS) > 0 {
		lm.EOS, lm.OtherEOS = m.Config.EOS[0], m.Config.EOS[1:]
	}
	if lm.Tok, err = LoadTokenizer(dir, m.Config.VocabSize); err != nil {
		return nil, err
	}
	return lm, nil
}

// EncodePrompt returns the token ids a prompt is fed to the model as:
// Encode(text) for warm's GPT-2 checkpoints (trained without a BOS), the
// tokenizer with its special tokens for the Llama family (Hugging Face's
// add_special_tokens=True).
func (lm *LM) EncodePrompt(text string) ([]int32, error) {
	if lm.Tok == nil {
		return nil, fmt.Errorf("the checkpoint has no %s", TokenizerFile)
	}
	ids := lm.Tok.Encode(text)
	if lm.Family != "gpt2" {
		ids = lm.Tok.EncodeWithSpecial(text)
	}
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = int32(id)
	}
	return out, nil
}

// LoadTokenizer loads dir's tokenizer.json when present (nil when
// not), checking it fits the embedding.
func LoadTokenizer(dir string, vocab int) (*tokenizer.Tokenizer, error) {
	p := filepath.Join(dir, TokenizerFile)
	if _, err := os.Stat(p); err != nil {
		return nil, nil
	}
	tok, err := tokenizer.Load(p)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", dir, err)
	}
	if tok.VocabSize() > vocab {
		return nil, fmt.Errorf("%s: the tokenizer has %d tokens but config.json's vocab_size is %d (the embedding would be read out of range)", p, tok.VocabSize(), vocab)
	}
	return tok, nil
}
