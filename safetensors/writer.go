package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Spec describes a tensor to be written: its name, dtype and shape. Offsets
// are assigned by the Writer.
type Spec struct {
	Name  string
	DType DType
	Shape []int64
}

// ByteLen returns the number of data bytes the tensor takes.
func (s Spec) ByteLen() int64 {
	n := int64(s.DType.Size())
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// Writer streams a safetensors file: the header is written first from the
// specs, then each tensor's bytes in the order the specs were given. Nothing
// appears at the destination until Commit renames the temporary file into
// place; Abort (or any error) removes it.
type Writer struct {
	path, tmp string
	f         *os.File
	w         *bufio.Writer
	specs     []Spec
	next      int
	err       error
}

// Create starts a safetensors file at path with the given tensors and
// metadata. Tensor data must then be supplied with WriteTensor in the same
// order as specs.
func Create(path string, specs []Spec, metadata map[string]string) (*Writer, error) {
	header, err := encodeHeader(specs, metadata)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	w := &Writer{path: path, tmp: f.Name(), f: f, w: bufio.NewWriterSize(f, 1<<20), specs: specs}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	if _, err := w.w.Write(lenBuf[:]); err != nil {
		return nil, w.fail(err)
	}
	if _, err := w.w.Write(header); err != nil {
		return nil, w.fail(err)
	}
	return w, nil
}

// encodeHeader builds the JSON header, padded with spaces to a multiple of 8
// bytes so that the data section is aligned.
func encodeHeader(specs []Spec, metadata map[string]string) ([]byte, error) {
	type info struct {
		DType   DType   `json:"dtype"`
		Shape   []int64 `json:"shape"`
		Offsets []int64 `json:"data_offsets"`
	}
	m := make(map[string]any, len(specs)+1)
	if len(metadata) > 0 {
		m["__metadata__"] = metadata
	}
	var off int64
	for _, s := range specs {
		if !s.DType.Valid() {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", s.Name, s.DType)
		}
		if s.Name == "__metadata__" {
			return nil, fmt.Errorf("tensor name %q is reserved", s.Name)
		}
		if _, dup := m[s.Name]; dup {
			return nil, fmt.Errorf("tensor %q: duplicate name", s.Name)
		}
		for _, d := range s.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %q: negative dimension in shape %v", s.Name, s.Shape)
			}
		}
		shape := s.Shape
		if shape == nil {
			shape = []int64{}
		}
		n := s.ByteLen()
		m[s.Name] = info{s.DType, shape, []int64{off, off + n}}
		off += n
	}
	b, err := json.Marshal(m) // map keys are sorted: deterministic bytes
	if err != nil {
		return nil, err
	}
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b, nil
}

// WriteTensor writes the raw bytes of the next tensor (in spec order).
func (w *Writer) WriteTensor(name string, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.next >= len(w.specs) {
		return w.fail(fmt.Errorf("tensor %q: all %d tensors already written", name, len(w.specs)))
	}
	s := w.specs[w.next]
	if s.Name != name {
		return w.fail(fmt.Errorf("tensor %q written where %q was expected", name, s.Name))
	}
	if int64(len(data)) != s.ByteLen() {
		return w.fail(fmt.Errorf("tensor %q: %d bytes, want %d", name, len(data), s.ByteLen()))
	}
	if _, err := w.w.Write(data); err != nil {
		return w.fail(err)
	}
	w.next++
	return nil
}

// WriteFloat32 encodes src to the next tensor's dtype and writes it.
func (w *Writer) WriteFloat32(name string, src []float32) error {
	if w.err != nil {
		return w.err
	}
	if w.next >= len(w.specs) {
		return w.fail(fmt.Errorf("tensor %q: all %d tensors already written", name, len(w.specs)))
	}
	s := w.specs[w.next]
	buf := make([]byte, len(src)*s.DType.Size())
	if err := EncodeFloat32(s.DType, src, buf); err != nil {
		return w.fail(fmt.Errorf("tensor %q: %w", name, err))
	}
	return w.WriteTensor(name, buf)
}

// Commit flushes, syncs and renames the file into place.
func (w *Writer) Commit() error {
	if w.err != nil {
		return w.err
	}
	if w.next != len(w.specs) {
		return w.fail(fmt.Errorf("%d of %d tensors written", w.next, len(w.specs)))
	}
	if err := w.w.Flush(); err != nil {
		return w.fail(err)
	}
	if err := w.f.Sync(); err != nil {
		return w.fail(err)
	}
	if err := w.f.Close(); err != nil {
		return w.fail(err)
	}
	if err := os.Rename(w.tmp, w.path); err != nil {
		os.Remove(w.tmp)
		w.err = fmt.Errorf("%s: %w", w.path, err)
		return w.err
	}
	w.err = fmt.Errorf("%s: already committed", w.path)
	return nil
}

// Abort discards the temporary file. It is safe to call after Commit (it
// then does nothing) or more than once.
func (w *Writer) Abort() {
	if w.f != nil && w.err == nil {
		w.fail(fmt.Errorf("%s: aborted", w.path))
	}
}

func (w *Writer) fail(err error) error {
	if w.err == nil {
		w.f.Close()
		os.Remove(w.tmp)
		w.err = fmt.Errorf("writing %s: %w", w.path, err)
	}
	return w.err
}

// Tensor is an in-memory tensor for WriteFile.
type Tensor struct {
	Spec
	Data []byte
}

// WriteFile writes tensors (sorted by name) and metadata to path atomically.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	sorted := append([]Tensor(nil), tensors...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	specs := make([]Spec, len(sorted))
	for i, t := range sorted {
		specs[i] = t.Spec
	}
	w, err := Create(path, specs, metadata)
	if err != nil {
		return err
	}
	for _, t := range sorted {
		if err := w.WriteTensor(t.Name, t.Data); err != nil {
			return err
		}
	}
	return w.Commit()
}
