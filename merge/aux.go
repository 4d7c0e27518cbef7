package merge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/warm-rm/warm/safetensors"
)

// ConfigFile is the Hugging Face model configuration.
const ConfigFile = "config.json"

// TokenizerFiles are the tokenizer files compared byte for byte and copied
// to the output when present.
var TokenizerFiles = []string{
	"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"added_tokens.json", "vocab.json", "vocab.txt", "merges.txt",
	"tokenizer.model", "spiece.model", "sentencepiece.bpe.model",
}

// DefaultIgnoredConfigFields are the top-level config.json fields that do
// not affect the architecture or the meaning of the weights, and may differ
// between members: provenance, the dtype the weights were saved in, runtime
// switches. Any field whose name contains "dropout" or ends in "_pdrop" is
// ignored too (dropout is one of the knobs WARM varies between members).
var DefaultIgnoredConfigFields = []string{
	"_name_or_path", "transformers_version", "torch_dtype", "dtype",
	"use_cache", "_commit_hash", "_attn_implementation",
	"_attn_implementation_autoset",
}

func ignoredConfigField(name string, extra []string) bool {
	if strings.Contains(name, "dropout") || strings.HasSuffix(name, "_pdrop") {
		return true
	}
	for _, f := range DefaultIgnoredConfigFields {
		if f == name {
			return true
		}
	}
	for _, f := range extra {
		if f == name {
			return true
		}
	}
	return false
}

// auxFile is a non-tensor file of a checkpoint directory.
type auxFile struct {
	name string
	data []byte
}

// readAux reads the config and tokenizer files present in dir (none for a
// bare file, dir == "").
func readAux(dir string) ([]auxFile, error) {
	if dir == "" {
		return nil, nil
	}
	var out []auxFile
	for _, name := range append([]string{ConfigFile}, TokenizerFiles...) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, auxFile{name, b})
	}
	return out, nil
}

// compareAux checks that member m has the same config (field by field,
// ignoring non-architectural fields) and tokenizer files (byte for byte) as
// the reference. It returns one message per difference.
func compareAux(ref, m []auxFile, ignore []string) []string {
	find := func(fs []auxFile, name string) ([]byte, bool) {
		for _, f := range fs {
			if f.name == name {
				return f.data, true
			}
		}
		return nil, false
	}
	var probs []string
	for _, name := range append([]string{ConfigFile}, TokenizerFiles...) {
		a, inRef := find(ref, name)
		b, inM := find(m, name)
		switch {
		case !inRef && !inM:
		case inRef && !inM:
			probs = append(probs, fmt.Sprintf("has no %s, the reference has one", name))
		case !inRef && inM:
			probs = append(probs, fmt.Sprintf("has a %s, the reference has none", name))
		case name == ConfigFile:
			if d, err := diffConfig(a, b, ignore); err != nil {
				probs = append(probs, err.Error())
			} else if d != "" {
				probs = append(probs, "config.json "+d)
			}
		case !bytes.Equal(a, b):
			i := 0
			for i < len(a) && i < len(b) && a[i] == b[i] {
				i++
			}
			probs = append(probs, fmt.Sprintf("%s differs from the reference's (%d vs %d bytes, first difference at byte %d)", name, len(b), len(a), i))
		}
	}
	return probs
}

// diffConfig compares two config.json files field by field and describes
// the first difference ("" when they agree).
func diffConfig(ref, m []byte, ignore []string) (string, error) {
	parse := func(b []byte, which string) (map[string]any, error) {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%s config.json is not a JSON object: %v", which, err)
		}
		return v, nil
	}
	a, err := parse(ref, "the reference's")
	if err != nil {
		return "", err
	}
	b, err := parse(m, "this member's")
	if err != nil {
		return "", err
	}
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if ignoredConfigField(k, ignore) {
			continue
		}
		va, okA := a[k]
		vb, okB := b[k]
		switch {
		case !okA:
			return fmt.Sprintf("field %q is %s here but absent in the reference", k, short(vb)), nil
		case !okB:
			return fmt.Sprintf("field %q is absent here but %s in the reference", k, short(va)), nil
		case !jsonEqual(va, vb):
			return fmt.Sprintf("field %q is %s here but %s in the reference", k, short(vb), short(va)), nil
		}
	}
	return "", nil
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// jsonEqual compares decoded JSON values; numbers compare by value, so 1e-5
// equals 0.00001.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		ix, errX := strconv.ParseInt(string(x), 10, 64)
		iy, errY := strconv.ParseInt(string(y), 10, 64)
		if errX == nil && errY == nil {
			return ix == iy
		}
		fx, errX := strconv.ParseFloat(string(x), 64)
		fy, errY := strconv.ParseFloat(string(y), 64)
		return errX == nil && errY == nil && fx == fy
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !jsonEqual(v, w) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// torchDTypeNames maps safetensors dtypes to the names config.json uses.
var torchDTypeNames = map[safetensors.DType]string{
	safetensors.F32: "float32", safetensors.F16: "float16",
	safetensors.BF16: "bfloat16", safetensors.F64: "float64",
}

// outputConfig returns the config to write: the reference's bytes, or, when
// its torch_dtype/dtype field names another dtype than the output's, the
// config with that field updated (re-encoded with sorted keys).
func outputConfig(ref []byte, out safetensors.DType) ([]byte, error) {
	want, ok := torchDTypeNames[out]
	if !ok {
		return ref, nil
	}
	dec := json.NewDecoder(bytes.NewReader(ref))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("config.json: %w", err)
	}
	changed := false
	for _, k := range []string{"torch_dtype", "dtype"} {
		if s, ok := v[k].(string); ok && s != want {
			v[k] = want
			changed = true
		}
	}
	if !changed {
		return ref, nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
