package llama

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/warm-rm/warm/safetensors"
)

// Tensor is a weight a configuration needs, by its Hugging Face name.
type Tensor struct {
	Name  string
	Shape []int64
}

// Tensors lists the weights of c in the order of the forward pass, with
// their Hugging Face names and shapes (PyTorch Linear layout: [out, in]).
// A tied CausalLM has no lm_head.weight (the embedding serves).
func (c *Config) Tensors() []Tensor {
	H, I, V := int64(c.Hidden), int64(c.Intermediate), int64(c.VocabSize)
	q, kv := int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim)
	out := []Tensor{{"model.embed_tokens.weight", []int64{V, H}}}
	add := func(name string, shape ...int64) { out = append(out, Tensor{name, shape}) }
	for l := 0; l < c.Layers; l++ {
		p := fmt.Sprintf("model.layers.%d.", l)
		add(p+"input_layernorm.weight", H)
		for _, proj := range []struct {
			name    string
			rows    int64
			hasBias bool
		}{{"q_proj", q, c.QKVBias}, {"k_proj", kv, c.QKVBias}, {"v_proj", kv, c.QKVBias}} {
			add(p+"self_attn."+proj.name+".weight", proj.rows, H)
			if proj.hasBias {
				add(p+"self_attn."+proj.name+".bias", proj.rows)
			}
		}
		if c.QKNorm {
			add(p+"self_attn.q_norm.weight", int64(c.HeadDim))
			add(p+"self_attn.k_norm.weight", int64(c.HeadDim))
		}
		add(p+"self_attn.o_proj.weight", H, q)
		if c.OBias {
			add(p+"self_attn.o_proj.bias", H)
		}
		add(p+"post_attention_layernorm.weight", H)
		if c.Gemma {
			add(p+"pre_feedforward_layernorm.weight", H)
		}
		add(p+"mlp.gate_proj.weight", I, H)
		add(p+"mlp.up_proj.weight", I, H)
		add(p+"mlp.down_proj.weight", H, I)
		if c.MLPBias {
			add(p+"mlp.gate_proj.bias", I)
			add(p+"mlp.up_proj.bias", I)
			add(p+"mlp.down_proj.bias", H)
		}
		if c.Gemma {
			add(p+"post_feedforward_layernorm.weight", H)
		}
	}
	add("model.norm.weight", H)
	switch c.Head {
	case SequenceClassification:
		add("score.weight", int64(c.NumLabels), H)
	case CausalLM:
		if !c.TieEmbeddings {
			add("lm_head.weight", V, H)
		}
	}
	return out
}

// CheckTensors checks a checkpoint's tensors against c before any data is
// read: every needed weight present with its shape and a float dtype
// (F32, F16 or BF16), nothing left over (a tied lm_head.weight may be
// present; it must then have the embedding's shape). file names the
// checkpoint in errors; a mismatch names the tensor and what config.json
// implied.
func (c *Config) CheckTensors(have []safetensors.TensorInfo, file string) error {
	byName := make(map[string]safetensors.TensorInfo, len(have))
	for _, t := range have {
		byName[t.Name] = t
	}
	var missing []string
	for _, want := range c.Tensors() {
		t, ok := byName[want.Name]
		if !ok {
			missing = append(missing, want.Name)
			continue
		}
		delete(byName, want.Name)
		if !slices.Equal(t.Shape, want.Shape) {
			return fmt.Errorf("%s: tensor %s has shape %v; config.json implies %v", file, want.Name, t.Shape, want.Shape)
		}
		switch t.DType {
		case safetensors.F32, safetensors.F16, safetensors.BF16:
		default:
			return fmt.Errorf("%s: tensor %s has dtype %s (warm reads F32, F16 and BF16)", file, want.Name, t.DType)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: %d tensors that config.json implies are missing, first %s", file, len(missing), missing[0])
	}
	if t, ok := byName["lm_head.weight"]; ok && c.Head == CausalLM && c.TieEmbeddings {
		if !slices.Equal(t.Shape, []int64{int64(c.VocabSize), int64(c.Hidden)}) {
			return fmt.Errorf("%s: tensor lm_head.weight has shape %v; the tied embedding is [%d %d]", file, t.Shape, c.VocabSize, c.Hidden)
		}
		delete(byName, "lm_head.weight")
	}
	if len(byName) > 0 {
		extra := make([]string, 0, len(byName))
		for n := range byName {
			extra = append(extra, n)
		}
		sort.Strings(extra)
		if len(extra) > 3 {
			extra = append(extra[:3], fmt.Sprintf("and %d more", len(byName)-3))
		}
		return fmt.Errorf("%s: tensors config.json does not account for: %s (another architecture, or a config.json field warm reads differently?)", file, strings.Join(extra, ", "))
	}
	return nil
}

// NumParams is the number of weights c has.
func (c *Config) NumParams() int64 {
	var n int64
	for _, t := range c.Tensors() {
		p := int64(1)
		for _, d := range t.Shape {
			p *= d
		}
		n += p
	}
	return n
}
