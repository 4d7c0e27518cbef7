package checkpoint

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/warm-rm/warm/model"
	"github.com/warm-rm/warm/safetensors"
	"github.com/warm-rm/warm/tokenizer"
)

func tinyTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	docs := []string{"the cat sat on the mat", "the dog ate the bone", "a cat and a dog"}
	tok, err := tokenizer.Train(context.Background(), slices.Values(docs), tokenizer.TrainConfig{VocabSize: 270})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func tinyModel(t *testing.T, tok *tokenizer.Tokenizer, reward bool) *model.Model {
	t.Helper()
	m, err := model.New(model.Config{VocabSize: tok.VocabSize(), NPositions: 16, NEmbd: 8, NLayer: 1, NHead: 2, PadID: tok.Pad(), RewardHead: reward, ResidPdrop: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	m.InitWeights(7)
	return m
}

func TestSaveLoadRoundTrip(t *testing.T) {
	tok := tinyTokenizer(t)
	for _, reward := range []bool{false, true} {
		m := tinyModel(t, tok, reward)
		dir := filepath.Join(t.TempDir(), "ck")
		ck := &Checkpoint{Model: m, Tokenizer: tok, Meta: Meta{Role: RoleBase, Step: 12, HParams: json.RawMessage(`{"lr":0.001}`), Extra: map[string]string{"warm.note": "x"}}}
		if err := Save(dir, ck, false); err != nil {
			t.Fatal(err)
		}
		if ck.Meta.Fingerprint == "" || ck.Meta.BaseFingerprint != ck.Meta.Fingerprint {
			t.Errorf("fingerprints not set: %+v", ck.Meta)
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got.Model.Config != m.Config {
			t.Errorf("config %+v, want %+v", got.Model.Config, m.Config)
		}
		if !slices.Equal(got.Model.Flat, m.Flat) {
			t.Error("weights differ after the round trip")
		}
		if got.Meta.Role != RoleBase || got.Meta.Step != 12 || string(got.Meta.HParams) != `{"lr":0.001}` || got.Meta.Extra["warm.note"] != "x" || got.Meta.Fingerprint != ck.Meta.Fingerprint {
			t.Errorf("meta = %+v", got.Meta)
		}
		if got.Tokenizer == nil || got.Tokenizer.Fingerprint() != tok.Fingerprint() {
			t.Error("tokenizer not restored")
		}
		fp, err := Fingerprint(context.Background(), dir)
		if err != nil || fp != ck.Meta.Fingerprint {
			t.Errorf("recomputed fingerprint %q (%v), stored %q", fp, err, ck.Meta.Fingerprint)
		}
		for _, f := range []string{ConfigFile, TokenizerFile, TokenizerConfigFile, SpecialTokensFile, safetensors.SingleFileName} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("missing %s", f)
			}
		}
		// An existing directory is not overwritten without replace.
		if err := Save(dir, ck, false); err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("second save: %v", err)
		}
		if err := Save(dir, ck, true); err != nil {
			t.Errorf("replace: %v", err)
		}
	}
}

// TestLoadForeignLayout writes a checkpoint the way other tools do (no
// "transformer." prefix, lm_head.weight present, attention buffers, BF16)
// and loads it.
func TestLoadForeignLayout(t *testing.T) {
	tok := tinyTokenizer(t)
	m := tinyModel(t, tok, false)
	dir := t.TempDir()
	var ts []safetensors.Tensor
	for _, p := range m.Params() {
		shape := make([]int64, len(p.Shape))
		for i, d := range p.Shape {
			shape[i] = int64(d)
		}
		buf := make([]byte, 2*len(p.Data))
		safetensors.EncodeFloat32(safetensors.BF16, p.Data, buf)
		ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: strings.TrimPrefix(p.Name, "transformer."), DType: safetensors.BF16, Shape: shape}, Data: buf})
		if p.Name == "transformer.wte.weight" {
			ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: "lm_head.weight", DType: safetensors.BF16, Shape: shape}, Data: buf})
		}
	}
	ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: "h.0.attn.bias", DType: safetensors.F32, Shape: []int64{1}}, Data: make([]byte, 4)})
	if err := safetensors.WriteFile(filepath.Join(dir, safetensors.SingleFileName), ts, nil); err != nil {
		t.Fatal(err)
	}
	conf, _ := encodeConfig(m.Config, tok.EOS())
	os.WriteFile(filepath.Join(dir, ConfigFile), conf, 0o644)
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Flat {
		bf := float32frombf16(safetensors.Float32ToBF16(v))
		if got.Model.Flat[i] != bf {
			t.Fatalf("element %d = %v, want %v", i, got.Model.Flat[i], bf)
		}
	}
	if got.Tokenizer != nil {
		t.Error("tokenizer appeared from nowhere")
	}
}

func float32frombf16(h uint16) float32 {
	out := make([]float32, 1)
	safetensors.DecodeFloat32(safetensors.BF16, []byte{byte(h), byte(h >> 8)}, out)
	return out[0]
}

func TestLoadErrors(t *testing.T) {
	tok := tinyTokenizer(t)
	m := tinyModel(t, tok, true)
	good := filepath.Join(t.TempDir(), "ck")
	if err := Save(good, &Checkpoint{Model: m, Tokenizer: tok, Meta: Meta{Role: RoleRM}}, false); err != nil {
		t.Fatal(err)
	}
	conf, _ := os.ReadFile(filepath.Join(good, ConfigFile))
	cases := map[string]func(dir string){
		"tensor transformer.h.0.mlp.c_fc.weight is missing": func(dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return slices.DeleteFunc(ts, func(x safetensors.Tensor) bool { return x.Name == "transformer.h.0.mlp.c_fc.weight" })
			})
		},
		"unexpected tensor extra": func(dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: "extra", DType: safetensors.F32, Shape: []int64{1}}, Data: make([]byte, 4)})
			})
		},
		"has shape": func(dir string) {
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte(strings.Replace(string(conf), `"n_positions": 16`, `"n_positions": 17`, 1)), 0o644)
		},
		"activation_function": func(dir string) {
			os.WriteFile(filepath.Join(dir, ConfigFile), []byte(strings.Replace(string(conf), "gelu_new", "relu", 1)), 0o644)
		},
		"non-finite": func(dir string) {
			rewrite(t, dir, func(ts []safetensors.Tensor) []safetensors.Tensor {
				for i := range ts {
					if ts[i].Name == "score.weight" {
						ts[i].Data[3] = 0x7f
						ts[i].Data[2] = 0xc0
					}
				}
				return ts
			})
		},
		"config.json": func(dir string) { os.Remove(filepath.Join(dir, ConfigFile)) },
	}
	for want, breakIt := range cases {
		dir := filepath.Join(t.TempDir(), "bad")
		copyDir(t, good, dir)
		breakIt(dir)
		_, err := Load(dir)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("want an error containing %q, got %v", want, err)
		}
	}
}

func rewrite(t *testing.T, dir string, edit func([]safetensors.Tensor) []safetensors.Tensor) {
	t.Helper()
	p := filepath.Join(dir, safetensors.SingleFileName)
	f, err := safetensors.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, ti := range f.Tensors {
		raw, _ := f.ReadRaw(ti.Name, nil)
		ts = append(ts, safetensors.Tensor{Spec: safetensors.Spec{Name: ti.Name, DType: ti.DType, Shape: ti.Shape}, Data: raw})
	}
	md := f.Metadata
	f.Close()
	if err := safetensors.WriteFile(p, edit(ts), md); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	os.MkdirAll(dst, 0o755)
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(src, e.Name()))
		os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644)
	}
}
