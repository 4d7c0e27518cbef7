package checkpoint

import (
	"encoding/json"
	"fmt"

	"github.com/warm-rm/warm/model"
)

// hfConfig is the subset of Hugging Face's GPT2Config that warm reads and
// writes in config.json. Unknown fields of a foreign config are ignored
// when reading, except those checked in toModel that change the
// architecture.
type hfConfig struct {
	Architectures      []string          `json:"architectures"`
	ModelType          string            `json:"model_type"`
	VocabSize          int               `json:"vocab_size"`
	NPositions         int               `json:"n_positions"`
	NCtx               int               `json:"n_ctx,omitempty"`
	NEmbd              int               `json:"n_embd"`
	NLayer             int               `json:"n_layer"`
	NHead              int               `json:"n_head"`
	NInner             *int              `json:"n_inner"`
	Activation         string            `json:"activation_function"`
	ResidPdrop         float32           `json:"resid_pdrop"`
	EmbdPdrop          float32           `json:"embd_pdrop"`
	AttnPdrop          float32           `json:"attn_pdrop"`
	LayerNormEps       float32           `json:"layer_norm_epsilon"`
	InitializerRange   float32           `json:"initializer_range"`
	ScaleAttnWeights   *bool             `json:"scale_attn_weights,omitempty"`
	ScaleByLayerIdx    bool              `json:"scale_attn_by_inverse_layer_idx"`
	ReorderUpcast      bool              `json:"reorder_and_upcast_attn"`
	TieWordEmbeddings  *bool             `json:"tie_word_embeddings,omitempty"`
	BOSTokenID         *int              `json:"bos_token_id"`
	EOSTokenID         *int              `json:"eos_token_id"`
	PadTokenID         *int              `json:"pad_token_id"`
	NumLabels          int               `json:"num_labels,omitempty"`
	ID2Label           map[string]string `json:"id2label,omitempty"`
	Label2ID           map[string]int    `json:"label2id,omitempty"`
	ProblemType        string            `json:"problem_type,omitempty"`
	TorchDType         string            `json:"torch_dtype,omitempty"`
	UseCache           bool              `json:"use_cache"`
	TransformersCompat string            `json:"transformers_version,omitempty"`
}

// Architecture names written into config.json.
const (
	ArchLM     = "GPT2LMHeadModel"
	ArchReward = "GPT2ForSequenceClassification"
)

// encodeConfig renders cfg as a Hugging Face GPT-2 config.json. eos is the
// tokenizer's end-of-text id (also GPT-2's bos).
func encodeConfig(cfg model.Config, eos int) ([]byte, error) {
	t := true
	c := hfConfig{
		Architectures:     []string{ArchLM},
		ModelType:         "gpt2",
		VocabSize:         cfg.VocabSize,
		NPositions:        cfg.NPositions,
		NCtx:              cfg.NPositions,
		NEmbd:             cfg.NEmbd,
		NLayer:            cfg.NLayer,
		NHead:             cfg.NHead,
		Activation:        "gelu_new",
		ResidPdrop:        cfg.ResidPdrop,
		EmbdPdrop:         cfg.EmbdPdrop,
		AttnPdrop:         cfg.AttnPdrop,
		LayerNormEps:      cfg.Eps(),
		InitializerRange:  model.InitStd,
		ScaleAttnWeights:  &t,
		TieWordEmbeddings: &t,
		BOSTokenID:        &eos,
		EOSTokenID:        &eos,
		PadTokenID:        &cfg.PadID,
		TorchDType:        "float32",
		UseCache:          true,
	}
	if cfg.RewardHead {
		c.Architectures = []string{ArchReward}
		c.NumLabels = 1
		c.ID2Label = map[string]string{"0": "LABEL_0"}
		c.Label2ID = map[string]int{"LABEL_0": 0}
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeConfig reads a GPT-2 config.json into a model.Config, refusing
// variants the engine does not implement. name is used in errors.
func decodeConfig(data []byte, name string) (model.Config, error) {
	var c hfConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return model.Config{}, fmt.Errorf("%s: %w", name, err)
	}
	bad := func(format string, args ...any) (model.Config, error) {
		return model.Config{}, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...))
	}
	if c.ModelType != "gpt2" {
		return bad("model_type %q: warm's engine runs GPT-2 models only (merge and other tensor-level tools work on any architecture)", c.ModelType)
	}
	switch c.Activation {
	case "gelu_new", "gelu_pytorch_tanh", "":
	default:
		return bad("activation_function %q is not supported (want gelu_new)", c.Activation)
	}
	if c.NInner != nil && *c.NInner != 4*c.NEmbd {
		return bad("n_inner %d is not supported (want 4*n_embd = %d)", *c.NInner, 4*c.NEmbd)
	}
	if c.ScaleAttnWeights != nil && !*c.ScaleAttnWeights {
		return bad("scale_attn_weights false is not supported")
	}
	if c.ScaleByLayerIdx {
		return bad("scale_attn_by_inverse_layer_idx is not supported")
	}
	if c.TieWordEmbeddings != nil && !*c.TieWordEmbeddings {
		return bad("tie_word_embeddings false is not supported")
	}
	if c.NPositions == 0 {
		c.NPositions = c.NCtx
	}
	cfg := model.Config{
		VocabSize:    c.VocabSize,
		NPositions:   c.NPositions,
		NEmbd:        c.NEmbd,
		NLayer:       c.NLayer,
		NHead:        c.NHead,
		LayerNormEps: c.LayerNormEps,
		EmbdPdrop:    c.EmbdPdrop,
		AttnPdrop:    c.AttnPdrop,
		ResidPdrop:   c.ResidPdrop,
	}
	switch {
	case c.PadTokenID != nil:
		cfg.PadID = *c.PadTokenID
	case c.EOSTokenID != nil:
		cfg.PadID = *c.EOSTokenID // GPT-2 convention when no pad token is set
	}
	for _, a := range c.Architectures {
		if a == ArchReward {
			cfg.RewardHead = true
		}
	}
	if cfg.RewardHead && c.NumLabels > 1 {
		return bad("num_labels %d: a reward model has one output", c.NumLabels)
	}
	if err := cfg.Validate(); err != nil {
		return model.Config{}, fmt.Errorf("%s: %w", name, err)
	}
	return cfg, nil
}
