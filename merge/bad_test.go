package merge

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// writeRawFile writes a safetensors file from a literal header and data.
func writeRawFile(t *testing.T, path, header string, data []byte) {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadInputs tries each bad input of the issue and more: every one must
// give a clear error naming the member (and the tensor or file where there
// is one) and leave nothing at or beside the output path.
func TestBadInputs(t *testing.T) {
	good := memberOpts{seed: 2, base: testBase}
	nan := make([]float64, 700*1000)
	nan[700*1000-3] = math.NaN()
	inf := make([]float64, 16*48)
	inf[100] = math.Inf(-1)
	big := make([]float64, 16)
	for i := range big {
		big[i] = 1e5
	}
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string) []string // returns the members
		opts  Options
		want  []string
	}{
		{"missing tensor", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, skip: "transformer.h.0.ln_1.bias"})}
		}, Options{}, []string{"member 2", "b)", `"transformer.h.0.ln_1.bias"`, "missing"}},
		{"extra tensor", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, extra: true})}
		}, Options{}, []string{"member 2", `"zz.extra"`, "extra tensor"}},
		{"shape mismatch", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, shapes: map[string][]int64{"transformer.h.0.attn.c_attn.weight": {48, 16}}})}
		}, Options{}, []string{"member 2", `"transformer.h.0.attn.c_attn.weight"`, "shape [48 16] differs", "[16 48]"}},
		{"dtype mismatch", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, dtypes: map[string]safetensors.DType{"score.weight": safetensors.BF16}})}
		}, Options{}, []string{"member 2", `"score.weight"`, "dtype BF16 differs", "F32"}},
		{"different tokenizer", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, tokenNL: true})}
		}, Options{}, []string{"member 2", "tokenizer.json differs", "byte"}},
		{"different config", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, config: map[string]any{"n_head": 4}})}
		}, Options{}, []string{"member 2", `config.json field "n_head" is 4 here but 2`}},
		{"truncated file", func(t *testing.T, dir string) []string {
			b := writeMember(t, dir, "b", good)
			p := filepath.Join(b, safetensors.SingleFileName)
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-100)
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), b}
		}, Options{}, []string{"member 2", "model.safetensors", "truncated"}},
		{"header past EOF", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "b.safetensors")
			var buf bytes.Buffer
			binary.Write(&buf, binary.LittleEndian, uint64(1<<20))
			buf.WriteString(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`)
			os.WriteFile(p, buf.Bytes(), 0o644)
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, bare: true}), p}
		}, Options{}, []string{"member 2", "b.safetensors", "header length 1048576 runs past the end"}},
		{"tensor bytes past EOF", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "b.safetensors")
			writeRawFile(t, p, `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 8))
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, bare: true}), p}
		}, Options{}, []string{"member 2", "b.safetensors", "tensors need 16 data bytes but the file has 8"}},
		{"overlapping offsets", func(t *testing.T, dir string) []string {
			p := filepath.Join(dir, "b.safetensors")
			writeRawFile(t, p, `{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, make([]byte, 12))
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, bare: true}), p}
		}, Options{}, []string{"member 2", "b.safetensors", `tensor "y"`, `overlap tensor "x"`}},
		{"NaN in a member", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, shards: 2, values: map[string][]float64{"transformer.wte.weight": nan}})}
		}, Options{}, []string{"member 2", `"transformer.wte.weight"`, "NaN at element 699997 [699 997]"}},
		{"Inf in a member", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, values: map[string][]float64{"transformer.h.0.attn.c_attn.weight": inf}}), writeMember(t, dir, "b", good)}
		}, Options{}, []string{"member 1", `"transformer.h.0.attn.c_attn.weight"`, "-Inf at element 100 [2 4]"}},
		{"NaN in a zero-weight member", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, values: map[string][]float64{"transformer.wte.weight": nan}})}
		}, Options{Weights: []float64{1, 0}}, []string{"member 2", "NaN"}},
		{"F16 overflow", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, values: map[string][]float64{"score.weight": big}}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, values: map[string][]float64{"score.weight": big}})}
		}, Options{OutDType: safetensors.F16}, []string{`"score.weight"`, "overflows F16"}},
		{"integer buffer differs", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, intDiff: true})}
		}, Options{}, []string{"member 2", `"transformer.position_ids"`, "element 37", "identical"}},
		{"different base", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: "wfp1:other"})}
		}, Options{}, []string{"member 2", "base fingerprint wfp1:other differs", "same pre-trained base"}},
		{"missing shard", func(t *testing.T, dir string) []string {
			b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, shards: 2})
			os.Remove(filepath.Join(b, "model-00002-of-00002.safetensors"))
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), b}
		}, Options{}, []string{"member 2", "model.safetensors.index.json", "model-00002-of-00002.safetensors", "does not exist"}},
		{"bare file among directories", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, bare: true})}
		}, Options{}, []string{"member 2", "has no config.json"}},
		{"member does not exist", func(t *testing.T, dir string) []string {
			return []string{writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase}), filepath.Join(dir, "nope")}
		}, Options{}, []string{"member 2", "nope", "no such file"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			members := c.setup(t, dir)
			before := listDir(t, dir)
			_, err := Run(context.Background(), filepath.Join(dir, "out"), members, c.opts)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			t.Logf("error: %v", err)
			if after := listDir(t, dir); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Errorf("directory changed: %v -> %v", before, after)
			}
		})
	}
}

// TestIgnoredConfigFields: provenance, dtype and dropout fields may differ.
func TestIgnoredConfigFields(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, config: map[string]any{
		"attn_pdrop": 0.3, "hidden_dropout_prob": 0.2, "transformers_version": "4.99", "layer_norm_epsilon": 0.00001}})
	if err := Check([]string{a, b}, Options{}); err != nil {
		t.Fatalf("ignored fields were compared: %v", err)
	}
	c := writeMember(t, dir, "c", memberOpts{seed: 3, base: testBase, config: map[string]any{"label_names": "x"}})
	if err := Check([]string{a, c}, Options{}); err == nil {
		t.Fatal("extra config field accepted")
	}
	if err := Check([]string{a, c}, Options{IgnoreConfigFields: []string{"label_names"}}); err != nil {
		t.Fatalf("explicitly ignored field compared: %v", err)
	}
}

func TestOutputPathErrors(t *testing.T) {
	dir := t.TempDir()
	a := writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase})
	b := writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase})
	members := []string{a, b}

	t.Run("output exists", func(t *testing.T) {
		out := filepath.Join(dir, "exists")
		os.Mkdir(out, 0o755)
		os.WriteFile(filepath.Join(out, "keep"), []byte("x"), 0o644)
		_, err := Run(context.Background(), out, members, Options{})
		if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), out) {
			t.Fatalf("error %v", err)
		}
		if names := listDir(t, out); strings.Join(names, ",") != "keep" {
			t.Errorf("existing output changed: %v", names)
		}
	})
	t.Run("parent missing", func(t *testing.T) {
		_, err := Run(context.Background(), filepath.Join(dir, "no", "out"), members, Options{})
		if err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("unwritable output dir", func(t *testing.T) {
		parent := filepath.Join(dir, "ro")
		os.Mkdir(parent, 0o755)
		if os.Geteuid() == 0 {
			// Root ignores permission bits; an immutable directory refuses
			// even root.
			if out, err := exec.Command("chattr", "+i", parent).CombinedOutput(); err != nil {
				t.Skipf("running as root and chattr +i failed (%v: %s): cannot make an unwritable directory", err, out)
			}
			t.Cleanup(func() { exec.Command("chattr", "-i", parent).Run() })
		} else {
			os.Chmod(parent, 0o555)
			t.Cleanup(func() { os.Chmod(parent, 0o755) })
		}
		_, err := Run(context.Background(), filepath.Join(parent, "out"), members, Options{})
		if err == nil || !strings.Contains(err.Error(), "creating a temporary directory") || !strings.Contains(err.Error(), parent) {
			t.Fatalf("error %v", err)
		}
		t.Logf("error: %v", err)
		if names := listDir(t, parent); len(names) != 0 {
			t.Errorf("left in the unwritable dir: %v", names)
		}
	})
	if names := listDir(t, dir); strings.Join(names, ",") != "a,b,exists,ro" {
		t.Errorf("left: %v", names)
	}
}
