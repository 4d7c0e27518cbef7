// Package llamatest writes small random Llama-family checkpoints for tests
// of the packages that load them (scorer, the CLI): a Hugging Face
// directory with config.json, model.safetensors (F32) and, when given, a
// tokenizer.json.
package llamatest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/warm-rm/warm/model/llama"
	"github.com/warm-rm/warm/safetensors"
)

// Options shape the checkpoint.
type Options struct {
	// Family is llama, mistral, qwen2, qwen3 or gemma2 (default qwen2).
	Family string
	// CausalLM writes a *ForCausalLM (default *ForSequenceClassification).
	CausalLM bool
	// Vocab is vocab_size (default 128).
	Vocab int
	// PadID is pad_token_id (default 0); EOS is eos_token_id (default 2).
	PadID, EOS int
	// Tokenizer is copied to tokenizer.json when set.
	Tokenizer string
	// Seed draws the weights.
	Seed uint64
}

// Write writes the checkpoint into dir (created).
func Write(dir string, o Options) error {
	if o.Family == "" {
		o.Family = "qwen2"
	}
	if o.Vocab == 0 {
		o.Vocab = 128
	}
	if o.EOS == 0 {
		o.EOS = 2
	}
	prefix := map[string]string{"llama": "Llama", "mistral": "Mistral", "qwen2": "Qwen2", "qwen3": "Qwen3", "gemma2": "Gemma2"}[o.Family]
	if prefix == "" {
		return fmt.Errorf("llamatest: unknown family %q", o.Family)
	}
	arch := prefix + "ForSequenceClassification"
	if o.CausalLM {
		arch = prefix + "ForCausalLM"
	}
	conf := map[string]any{
		"model_type": o.Family, "architectures": []string{arch}, "vocab_size": o.Vocab,
		"hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4,
		"num_key_value_heads": 2, "max_position_embeddings": 256, "pad_token_id": o.PadID,
		"bos_token_id": 1, "eos_token_id": o.EOS, "num_labels": 1, "tie_word_embeddings": false,
	}
	if o.Family == "gemma2" {
		conf["query_pre_attn_scalar"] = 8
	}
	raw, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	cfg, err := llama.ParseConfig(raw, "config.json")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 99))
	var ts []safetensors.Tensor
	for _, t := range cfg.Tensors() {
		n := 1
		shape := make([]int, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int(d)
			n *= int(d)
		}
		v := make([]float32, n)
		for i := range v {
			switch {
			case len(shape) == 1 && !cfg.Gemma && filepath.Ext(t.Name) == ".weight":
				v[i] = float32(1 + 0.1*rng.NormFloat64()) // a norm
			case len(shape) == 1:
				v[i] = float32(0.1 * rng.NormFloat64())
			default:
				v[i] = float32(rng.NormFloat64() / math.Sqrt(float64(shape[1])))
			}
		}
		tensor, err := safetensors.F32Tensor(t.Name, shape, v)
		if err != nil {
			return err
		}
		ts = append(ts, tensor)
	}
	if err := safetensors.WriteFile(filepath.Join(dir, safetensors.SingleFileName), ts, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	if o.Tokenizer != "" {
		b, err := os.ReadFile(o.Tokenizer)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, "tokenizer.json"), b, 0o644)
	}
	return nil
}

// EditTensor rewrites the single-file checkpoint in dir (as float32) with
// edit applied to tensor name: for tests that need a broken or changed
// copy (a negated reward head, a NaN weight).
func EditTensor(dir, name string, edit func(v []float32)) error {
	path := filepath.Join(dir, safetensors.SingleFileName)
	set, err := safetensors.OpenSet(path)
	if err != nil {
		return err
	}
	var ts []safetensors.Tensor
	found := false
	for _, info := range set.Tensors() {
		v, err := set.ReadFloat32(info.Name, nil)
		if err != nil {
			set.Close()
			return err
		}
		if info.Name == name {
			edit(v)
			found = true
		}
		shape := make([]int, len(info.Shape))
		for i, d := range info.Shape {
			shape[i] = int(d)
		}
		t, err := safetensors.F32Tensor(info.Name, shape, v)
		if err != nil {
			set.Close()
			return err
		}
		ts = append(ts, t)
	}
	set.Close()
	if !found {
		return fmt.Errorf("llamatest: %s has no tensor %s", path, name)
	}
	return safetensors.WriteFile(path, ts, map[string]string{"format": "pt"})
}
