package llama

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// The tiny models of testdata/tiny are random checkpoints written by
// transformers' save_pretrained (testdata/gen_golden.py, through the
// bench/hfref harness), with golden.json holding what transformers computed
// with them. This test checks only that warm reads their layout: each
// config.json parses and each checkpoint's tensors are the ones the config
// implies, so the parity tests of the forward pass start from files warm
// accepts.

type tinyModel struct {
	Name         string `json:"name"`
	Dir          string `json:"dir"`
	Family       Family `json:"family"`
	Head         Head   `json:"head"`
	Architecture string `json:"architecture"`
	DType        string `json:"dtype"`
	Windows      []int  `json:"attention_windows"`
}

func loadTinyGolden(t *testing.T) []tinyModel {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tiny", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Models []tinyModel `json:"models"`
	}
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Models) == 0 {
		t.Fatal("golden.json lists no models")
	}
	return g.Models
}

func TestTinyModelsLayout(t *testing.T) {
	families := map[Family]bool{}
	sharded := 0
	for _, m := range loadTinyGolden(t) {
		t.Run(m.Name, func(t *testing.T) {
			dir := filepath.Join("testdata", "tiny", m.Dir)
			b, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseConfig(b, filepath.Join(m.Dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if c.Family != m.Family || c.Head != m.Head || c.Architecture != m.Architecture {
				t.Errorf("config.json reads as %s %s (%s); golden.json says %s %s (%s)",
					c.Family, c.Head, c.Architecture, m.Family, m.Head, m.Architecture)
			}
			// The window of each layer as the reference computed it.
			if len(m.Windows) != c.Layers {
				t.Fatalf("golden.json has %d layer windows for %d layers", len(m.Windows), c.Layers)
			}
			for l, w := range m.Windows {
				if c.Window(l) != w {
					t.Errorf("layer %d: window %d, the reference used %d", l, c.Window(l), w)
				}
			}
			set, err := safetensors.OpenSet(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer set.Close()
			if set.Sharded() {
				sharded++
			}
			var infos []safetensors.TensorInfo
			want := map[string]safetensors.DType{"float32": safetensors.F32, "bfloat16": safetensors.BF16}[m.DType]
			for _, st := range set.Tensors() {
				if st.DType != want {
					t.Errorf("tensor %s is %s; golden.json says %s", st.Name, st.DType, m.DType)
				}
				infos = append(infos, st.TensorInfo)
			}
			if err := c.CheckTensors(infos, m.Dir); err != nil {
				t.Error(err)
			}
			families[c.Family] = true
		})
	}
	for _, f := range []Family{Llama, Mistral, Qwen2, Qwen3, Gemma2} {
		if !families[f] {
			t.Errorf("no tiny %s model", f)
		}
	}
	if sharded == 0 {
		t.Error("no sharded tiny model")
	}
}

// Each -bf16 checkpoint is its float32 sibling rounded to bfloat16 (ties to
// even, as torch's .to(torch.bfloat16)), tensor by tensor.
func TestTinyBF16IsRoundedF32(t *testing.T) {
	n := 0
	for _, m := range loadTinyGolden(t) {
		if m.DType != "bfloat16" {
			continue
		}
		n++
		half, err := safetensors.OpenSet(filepath.Join("testdata", "tiny", m.Dir))
		if err != nil {
			t.Fatal(err)
		}
		full, err := safetensors.OpenSet(filepath.Join("testdata", "tiny", strings.TrimSuffix(m.Dir, "-bf16")))
		if err != nil {
			t.Fatal(err)
		}
		if len(half.Tensors()) != len(full.Tensors()) {
			t.Errorf("%s: %d tensors, its float32 sibling %d", m.Name, len(half.Tensors()), len(full.Tensors()))
		}
		for _, ht := range half.Tensors() {
			h, err := half.ReadFloat32(ht.Name, nil)
			if err != nil {
				t.Fatal(err)
			}
			f, err := full.ReadFloat32(ht.Name, nil)
			if err != nil {
				t.Fatalf("%s: %v", m.Name, err)
			}
			for i := range f {
				if r := math.Float32frombits(uint32(safetensors.Float32ToBF16(f[i])) << 16); h[i] != r {
					t.Fatalf("%s: %s[%d] = %v, float32 sibling %v rounds to %v", m.Name, ht.Name, i, h[i], f[i], r)
				}
			}
		}
		half.Close()
		full.Close()
	}
	if n == 0 {
		t.Error("no bfloat16 tiny model")
	}
}
