package safetensors

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Set is one view of the tensors of a checkpoint, whether they live in a
// single safetensors file or in shards listed by a Hugging Face index. A Set
// is opened from:
//
//   - a directory holding model.safetensors, or model.safetensors.index.json
//     and the shards it names (a directory with both is ambiguous: error);
//   - the path of an index file (its directory holds the shards);
//   - the path of a single .safetensors file (Dir is then empty: a bare file
//     carries no config or tokenizer).
//
// Opening reads and validates every header and the index, and nothing else:
// every tensor must be in exactly one shard, each shard named by the index
// must exist, the weight_map must agree with the shards' headers both ways,
// and total_size (when given) must equal the tensors' data bytes.
//
// The shards' __metadata__ maps are merged; two shards giving one key
// different values is an error.
type Set struct {
	// Path is the path the Set was opened from.
	Path string
	// Dir is the checkpoint directory, or "" for a bare file.
	Dir string
	// Index is the shard index, or nil for an unsharded checkpoint.
	Index *Index
	// Files are the open shards, sorted by file name (one for an unsharded
	// checkpoint).
	Files []*File
	// Metadata is the merged __metadata__ of the shards (never nil).
	Metadata map[string]string

	tensors []SetTensor
	byName  map[string]int
}

// SetTensor is a tensor of a Set: its header entry and the shard holding it.
type SetTensor struct {
	TensorInfo
	// Shard indexes Set.Files.
	Shard int
}

// OpenSet opens a checkpoint as a Set (see Set for what path may be).
func OpenSet(path string) (_ *Set, err error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s := &Set{Path: path, Metadata: map[string]string{}, byName: map[string]int{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	var indexPath string
	switch {
	case st.IsDir():
		s.Dir = path
		idx := filepath.Join(path, IndexFileName)
		single := filepath.Join(path, SingleFileName)
		_, errIdx := os.Stat(idx)
		_, errSingle := os.Stat(single)
		switch {
		case errIdx == nil && errSingle == nil:
			return nil, fmt.Errorf("%s: has both %s and %s; which one holds the weights is ambiguous", path, SingleFileName, IndexFileName)
		case errIdx == nil:
			indexPath = idx
		case errSingle == nil:
			if err := s.addFile(single); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%s: no %s or %s in this directory", path, SingleFileName, IndexFileName)
		}
	case strings.HasSuffix(path, ".index.json"):
		s.Dir = filepath.Dir(path)
		indexPath = path
	default:
		if err := s.addFile(path); err != nil {
			return nil, err
		}
	}
	if indexPath != "" {
		if err := s.openShards(indexPath); err != nil {
			return nil, err
		}
	}
	sort.Slice(s.tensors, func(i, j int) bool { return s.tensors[i].Name < s.tensors[j].Name })
	for i, t := range s.tensors {
		s.byName[t.Name] = i
	}
	return s, nil
}

// addFile opens one shard and adds its tensors and metadata.
func (s *Set) addFile(path string) error {
	f, err := Open(path)
	if err != nil {
		return err
	}
	shard := len(s.Files)
	s.Files = append(s.Files, f)
	for _, t := range f.Tensors {
		if _, dup := s.byName[t.Name]; dup {
			prev := s.Files[s.tensors[s.byName[t.Name]].Shard].Path
			return &FormatError{File: path, Tensor: t.Name, Msg: fmt.Sprintf("also in shard %s: every tensor must be in exactly one shard", prev)}
		}
		s.byName[t.Name] = len(s.tensors)
		s.tensors = append(s.tensors, SetTensor{TensorInfo: t, Shard: shard})
	}
	keys := make([]string, 0, len(f.Metadata))
	for k := range f.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := f.Metadata[k]
		if old, ok := s.Metadata[k]; ok && old != v {
			return &FormatError{File: path, Msg: fmt.Sprintf("__metadata__ %q is %q here but %q in an earlier shard", k, v, old)}
		}
		s.Metadata[k] = v
	}
	return nil
}

func (s *Set) openShards(indexPath string) error {
	ix, err := ReadIndex(indexPath)
	if err != nil {
		return err
	}
	s.Index = ix
	dir := filepath.Dir(indexPath)
	for _, shard := range ix.Shards() {
		p := filepath.Join(dir, shard)
		if _, err := os.Stat(p); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return &FormatError{File: indexPath, Msg: fmt.Sprintf("shard %s is listed in weight_map but does not exist", shard)}
			}
			return fmt.Errorf("%s: shard %s: %w", indexPath, shard, err)
		}
		if err := s.addFile(p); err != nil {
			return err
		}
	}
	var total int64
	for _, t := range s.tensors {
		shard := filepath.Base(s.Files[t.Shard].Path)
		want, ok := ix.WeightMap[t.Name]
		switch {
		case !ok:
			return &FormatError{File: indexPath, Tensor: t.Name, Msg: fmt.Sprintf("is in shard %s but not in weight_map", shard)}
		case want != shard:
			return &FormatError{File: indexPath, Tensor: t.Name, Msg: fmt.Sprintf("weight_map says shard %s but it is in shard %s", want, shard)}
		}
		total += t.ByteLen()
	}
	if len(ix.WeightMap) != len(s.tensors) {
		names := make([]string, 0, len(ix.WeightMap))
		for n := range ix.WeightMap {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if _, ok := s.byName[n]; !ok {
				return &FormatError{File: indexPath, Tensor: n, Msg: fmt.Sprintf("weight_map says shard %s but that shard has no such tensor", ix.WeightMap[n])}
			}
		}
	}
	if ix.HasTotalSize && ix.TotalSize != total {
		return &FormatError{File: indexPath, Msg: fmt.Sprintf("metadata.total_size is %d but the shards' tensors hold %d bytes", ix.TotalSize, total)}
	}
	return nil
}

// Close closes every shard.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.Files {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Sharded reports whether the Set came from a shard index.
func (s *Set) Sharded() bool { return s.Index != nil }

// Tensors returns every tensor, sorted by name. The slice must not be
// modified.
func (s *Set) Tensors() []SetTensor { return s.tensors }

// Lookup returns the tensor named name.
func (s *Set) Lookup(name string) (SetTensor, bool) {
	i, ok := s.byName[name]
	if !ok {
		return SetTensor{}, false
	}
	return s.tensors[i], true
}

// DataSize returns the data bytes of all tensors.
func (s *Set) DataSize() int64 {
	var n int64
	for _, t := range s.tensors {
		n += t.ByteLen()
	}
	return n
}

// FileSize returns the bytes of all shard files, headers included.
func (s *Set) FileSize() int64 {
	var n int64
	for _, f := range s.Files {
		n += f.Size
	}
	return n
}

// ReadRawAt reads len(dst) bytes of t's data, starting off bytes into it.
// t must come from this Set. Safe for concurrent use.
func (s *Set) ReadRawAt(t SetTensor, dst []byte, off int64) error {
	return s.Files[t.Shard].ReadRawAt(t.TensorInfo, dst, off)
}

// ReadRaw reads all the raw bytes of tensor name (dst as for File.ReadRaw).
func (s *Set) ReadRaw(name string, dst []byte) ([]byte, error) {
	t, ok := s.Lookup(name)
	if !ok {
		return nil, &FormatError{File: s.Path, Tensor: name, Msg: "no such tensor"}
	}
	return s.Files[t.Shard].ReadRaw(name, dst)
}

// ReadFloat32 reads a floating-point tensor converted to float32 (dst as for
// File.ReadFloat32).
func (s *Set) ReadFloat32(name string, dst []float32) ([]float32, error) {
	t, ok := s.Lookup(name)
	if !ok {
		return nil, &FormatError{File: s.Path, Tensor: name, Msg: "no such tensor"}
	}
	return s.Files[t.Shard].ReadFloat32(name, dst)
}
