package llama

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The testdata configs are the config.json files of public checkpoints
// (Qwen2-0.5B as a reward model, Llama-3.2-1B, Gemma-2-2B, Mistral-7B-v0.1,
// Qwen3-0.6B), as Hugging Face ships them.
func load(t *testing.T, name string) (*Config, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig(b, name)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

func TestRealConfigs(t *testing.T) {
	q, _ := load(t, "qwen2-0.5b-reward.json")
	if q.Family != Qwen2 || q.Head != SequenceClassification || q.HeadDim != 64 || q.KVGroups() != 7 ||
		!q.QKVBias || q.OBias || !q.TieEmbeddings || q.PadID != 151643 || q.NumLabels != 1 || q.Window(23) != 0 {
		t.Errorf("qwen2: %+v", q)
	}
	l, _ := load(t, "llama-3.2-1b.json")
	if l.Head != CausalLM || l.RoPE.Type != "llama3" || l.RoPE.Factor != 32 || l.RoPE.OriginalMaxPositions != 8192 ||
		l.RoPE.Theta != 500000 || l.HeadDim != 64 || l.QKVBias || l.PadID != -1 || l.EOS[0] != 128001 {
		t.Errorf("llama: %+v", l)
	}
	g, _ := load(t, "gemma2-2b.json")
	if !g.Gemma || g.Activation != "gelu_pytorch_tanh" || g.AttnLogitSoftcap != 50 || g.FinalLogitSoftcap != 30 ||
		g.Window(0) != 4096 || g.Window(1) != 0 || g.Window(24) != 4096 || len(g.EOS) != 2 ||
		g.AttentionScale != 1.0/16 || math.Abs(g.EmbeddingScale-48) > 1e-12 || !g.TieEmbeddings {
		t.Errorf("gemma2: %+v", g)
	}
	m, _ := load(t, "mistral-7b.json")
	if m.Window(0) != 4096 || m.Window(31) != 4096 || m.TieEmbeddings || m.HeadDim != 128 {
		t.Errorf("mistral: %+v", m)
	}
	q3, _ := load(t, "qwen3-0.6b.json")
	if !q3.QKNorm || q3.HeadDim != 128 || q3.QKVBias || q3.RoPE.Type != "default" || q3.Window(0) != 0 {
		t.Errorf("qwen3: %+v", q3)
	}
}

func TestQwen2SlidingWindowFromMaxWindowLayers(t *testing.T) {
	c, err := ParseConfig(edit(t, "qwen2-0.5b-reward.json", map[string]any{"use_sliding_window": true, "sliding_window": 16}), "c.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Window(20) != 0 || c.Window(21) != 16 || c.Window(23) != 16 {
		t.Fatalf("windows %v", c.SlidingWindow)
	}
}

// edit returns the testdata config with fields set (nil deletes a field).
func edit(t *testing.T, name string, set map[string]any) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestBadConfigsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		base string
		set  map[string]any
		want string
	}{
		{"llama-3.2-1b.json", map[string]any{"rope_scaling": map[string]any{"rope_type": "yarn", "factor": 4}}, `rope_scaling.rope_type "yarn"`},
		{"llama-3.2-1b.json", map[string]any{"rope_scaling": map[string]any{"rope_type": "linear", "factor": 2, "beta": 1}}, "rope_scaling.beta"},
		{"llama-3.2-1b.json", map[string]any{"hidden_act": "relu"}, `hidden_act "relu"`},
		{"llama-3.2-1b.json", map[string]any{"pretraining_tp": 2}, "pretraining_tp 2"},
		{"llama-3.2-1b.json", map[string]any{"num_key_value_heads": 5}, "not a multiple of num_key_value_heads"},
		{"llama-3.2-1b.json", map[string]any{"hidden_size": nil}, "hidden_size is missing"},
		{"llama-3.2-1b.json", map[string]any{"quantization_config": map[string]any{"bits": 4}}, "field quantization_config is not implemented"},
		{"llama-3.2-1b.json", map[string]any{"architectures": []string{"LlamaForTokenClassification"}}, `"LlamaForTokenClassification" is not supported`},
		{"llama-3.2-1b.json", map[string]any{"model_type": "gpt_neox"}, `model_type "gpt_neox"`},
		{"qwen2-0.5b-reward.json", map[string]any{"id2label": map[string]string{"0": "a", "1": "b"}}, "num_labels 2"},
		{"qwen2-0.5b-reward.json", map[string]any{"pad_token_id": 200000}, "pad_token_id 200000 is outside"},
		{"qwen2-0.5b-reward.json", map[string]any{"hidden_size": "896"}, "field hidden_size"},
		{"gemma2-2b.json", map[string]any{"query_pre_attn_scalar": nil}, "query_pre_attn_scalar"},
		{"gemma2-2b.json", map[string]any{"auto_map": map[string]string{"AutoModel": "x.Y"}}, "field auto_map"},
	} {
		_, err := ParseConfig(edit(t, tc.base, tc.set), "config.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "config.json: ") {
			t.Errorf("%s with %v: %v, want an error naming the file and %q", tc.base, tc.set, err, tc.want)
		}
	}
}
