package llama

import (
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// The parameter counts of public checkpoints, as their model cards and
// sum(p.numel()) in transformers give them.
func TestNumParamsOfPublicCheckpoints(t *testing.T) {
	l, _ := load(t, "llama-3.2-1b.json")
	if n := l.NumParams(); n != 1_235_814_400 {
		t.Errorf("Llama-3.2-1B: %d parameters, want 1,235,814,400", n)
	}
	q, _ := load(t, "qwen2-0.5b-reward.json")
	// Qwen2-0.5B has 494,032,768; the reward head adds score.weight [1, 896].
	if n := q.NumParams(); n != 494_032_768+896 {
		t.Errorf("Qwen2-0.5B reward model: %d parameters, want %d", n, 494_032_768+896)
	}
}

func infos(c *Config) []safetensors.TensorInfo {
	var out []safetensors.TensorInfo
	for _, t := range c.Tensors() {
		out = append(out, safetensors.TensorInfo{Name: t.Name, DType: safetensors.BF16, Shape: t.Shape})
	}
	return out
}

func TestCheckTensors(t *testing.T) {
	q, _ := load(t, "qwen2-0.5b-reward.json")
	if err := q.CheckTensors(infos(q), "m.safetensors"); err != nil {
		t.Fatal(err)
	}
	g, _ := load(t, "gemma2-2b.json")
	if err := g.CheckTensors(append(infos(g), safetensors.TensorInfo{Name: "lm_head.weight", DType: safetensors.F32, Shape: []int64{256000, 2304}}), "g"); err != nil {
		t.Fatalf("a tied lm_head.weight beside the embedding: %v", err)
	}
	for name, tc := range map[string]struct {
		mutate func([]safetensors.TensorInfo) []safetensors.TensorInfo
		want   string
	}{
		"missing": {func(ts []safetensors.TensorInfo) []safetensors.TensorInfo { return ts[1:] }, "missing, first model.embed_tokens.weight"},
		"shape": {func(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
			ts[2].Shape = []int64{7, 7}
			return ts
		}, "tensor model.layers.0.self_attn.q_proj.weight has shape [7 7]; config.json implies [896 896]"},
		"dtype": {func(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
			ts[0].DType = safetensors.I32
			return ts
		}, "dtype I32"},
		"extra": {func(ts []safetensors.TensorInfo) []safetensors.TensorInfo {
			return append(ts, safetensors.TensorInfo{Name: "model.layers.0.self_attn.o_proj.bias", DType: safetensors.F32, Shape: []int64{896}})
		}, "does not account for: model.layers.0.self_attn.o_proj.bias"},
	} {
		err := q.CheckTensors(tc.mutate(infos(q)), "m.safetensors")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "m.safetensors: ") {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}
