package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode/utf8"
)

// File names of a Hugging Face checkpoint directory.
const (
	// SingleFileName holds all tensors of an unsharded checkpoint.
	SingleFileName = "model.safetensors"
	// IndexFileName maps each tensor of a sharded checkpoint to its shard.
	IndexFileName = "model.safetensors.index.json"
)

// MaxIndexSize bounds the size of a shard index file (64 MiB; real ones are
// well under 1 MiB even for models with tens of thousands of tensors).
const MaxIndexSize = 64 << 20

// Index is a parsed Hugging Face shard index (model.safetensors.index.json):
//
//	{"metadata": {"total_size": N, ...}, "weight_map": {"tensor": "shard file", ...}}
type Index struct {
	// TotalSize is metadata.total_size, the sum of the tensors' data bytes;
	// HasTotalSize is false when the index does not give it.
	TotalSize    int64
	HasTotalSize bool
	// Metadata holds every field of the "metadata" object, total_size
	// included, as raw JSON.
	Metadata map[string]json.RawMessage
	// WeightMap maps each tensor name to the base name of its shard file.
	WeightMap map[string]string
}

// Shards returns the distinct shard file names, sorted.
func (ix *Index) Shards() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ix.WeightMap {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// ReadIndex reads and parses the index file at path.
func ReadIndex(path string) (*Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, MaxIndexSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(buf) > MaxIndexSize {
		return nil, &FormatError{File: path, Msg: fmt.Sprintf("index is larger than the %d-byte limit", MaxIndexSize)}
	}
	return ParseIndex(buf, path)
}

// ParseIndex validates the bytes of a shard index. It requires a JSON object
// with exactly the keys "metadata" (an object, optional) and "weight_map"
// (an object of strings, required), no duplicate keys in either, a
// non-negative integer total_size when present, and shard names that are
// plain file names ending in ".safetensors" (no directories, so an index
// cannot point outside its checkpoint). Checking the index against the
// shards' headers is OpenSet's job.
func ParseIndex(buf []byte, name string) (*Index, error) {
	fail := func(tensor, format string, args ...any) error {
		return &FormatError{File: name, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(buf) {
		return nil, fail("", "index is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.UseNumber()
	ix := &Index{}
	seenTop := map[string]bool{}
	err := decodeObject(dec, func(key string) error {
		if seenTop[key] {
			return fmt.Errorf("duplicate key %q", key)
		}
		seenTop[key] = true
		switch key {
		case "metadata":
			ix.Metadata = map[string]json.RawMessage{}
			return decodeObject(dec, func(k string) error {
				if _, dup := ix.Metadata[k]; dup {
					return fmt.Errorf("metadata: duplicate key %q", k)
				}
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fmt.Errorf("metadata[%q]: %w", k, err)
				}
				ix.Metadata[k] = raw
				if k == "total_size" {
					var num json.Number
					if len(raw) == 0 || raw[0] == '"' || json.Unmarshal(raw, &num) != nil {
						return fmt.Errorf("metadata.total_size must be a number, got %s", raw)
					}
					v, err := num.Int64()
					if err != nil || v < 0 {
						// Some writers emit 1234.0; accept an integral float.
						f, ferr := num.Float64()
						if ferr != nil || f < 0 || f != float64(int64(f)) || f > 1<<62 {
							return fmt.Errorf("metadata.total_size %s is not a non-negative integer", num)
						}
						v = int64(f)
					}
					ix.TotalSize, ix.HasTotalSize = v, true
				}
				return nil
			})
		case "weight_map":
			ix.WeightMap = map[string]string{}
			return decodeObject(dec, func(tensor string) error {
				if _, dup := ix.WeightMap[tensor]; dup {
					return &FormatError{File: name, Tensor: tensor, Msg: "listed twice in weight_map"}
				}
				if tensor == "" {
					return errors.New("weight_map: empty tensor name")
				}
				tok, err := dec.Token()
				if err != nil {
					return err
				}
				shard, ok := tok.(string)
				if !ok {
					return &FormatError{File: name, Tensor: tensor, Msg: fmt.Sprintf("weight_map value must be a shard file name, got %v", tok)}
				}
				if err := checkShardName(shard); err != nil {
					return &FormatError{File: name, Tensor: tensor, Msg: err.Error()}
				}
				ix.WeightMap[tensor] = shard
				return nil
			})
		default:
			return fmt.Errorf("unknown top-level key %q (want metadata and weight_map)", key)
		}
	})
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, err
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fail("", "bad index: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("", "bad index: data after the top-level object")
	}
	if ix.WeightMap == nil {
		return nil, fail("", "bad index: no weight_map")
	}
	if len(ix.WeightMap) == 0 {
		return nil, fail("", "bad index: weight_map is empty")
	}
	return ix, nil
}

func checkShardName(s string) error {
	switch {
	case s == "" || s == "." || s == "..":
		return fmt.Errorf("shard name %q is not a file name", s)
	case strings.ContainsAny(s, `/\`) || strings.ContainsRune(s, 0):
		return fmt.Errorf("shard name %q must be a plain file name in the checkpoint directory", s)
	case !strings.HasSuffix(s, ".safetensors"):
		return fmt.Errorf("shard name %q does not end in .safetensors", s)
	}
	return nil
}
