package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/warm-rm/warm/internal/atomicdir"
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
// specs, then each tensor's bytes in the order the specs were given, either
// whole (WriteTensor) or in consecutive pieces (WritePart). Nothing appears
// at the destination until Commit renames the temporary file into place;
// Abort (or any error) removes it.
//
// Metadata can be changed until Commit with SetMetadata, as long as the new
// header is not longer than the one written by Create: this is how a value
// known only after all data has been streamed (a content fingerprint) gets
// into the header. Give Create a placeholder of the final length.
type Writer struct {
	path, tmp string
	f         *os.File
	w         *bufio.Writer
	specs     []Spec
	headerLen int    // bytes of JSON header written by Create
	patch     []byte // replacement header from SetMetadata, or nil
	next      int    // index of the tensor being written
	done      int64  // bytes of specs[next] written so far
	noSync    bool
	err       error
}

// Create starts a safetensors file at path with the given tensors and
// metadata. Tensor data must then be supplied with WriteTensor or WritePart
// in the same order as specs.
func Create(path string, specs []Spec, metadata map[string]string) (*Writer, error) {
	header, err := encodeHeader(specs, metadata, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("creating temporary file for %s: %w", path, err)
	}
	// CreateTemp makes the file private (0600); a checkpoint is shared data.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	// A small buffer: large tensor pieces go straight to the file, small
	// tensors (biases, norms) are gathered.
	w := &Writer{path: path, tmp: f.Name(), f: f, w: bufio.NewWriterSize(f, 64<<10), specs: specs, headerLen: len(header)}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	if _, err := w.w.Write(lenBuf[:]); err != nil {
		return nil, w.fail(err)
	}
	if _, err := w.w.Write(header); err != nil {
		return nil, w.fail(err)
	}
	if err := w.w.Flush(); err != nil {
		return nil, w.fail(err)
	}
	return w, nil
}

// encodeHeader builds the JSON header, padded with spaces to a multiple of 8
// bytes so that the data section is aligned, or to exactly padTo bytes when
// padTo is not 0 (an error if it does not fit).
func encodeHeader(specs []Spec, metadata map[string]string, padTo int) ([]byte, error) {
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
	if padTo != 0 {
		if len(b) > padTo {
			return nil, fmt.Errorf("new header of %d bytes does not fit the %d bytes reserved", len(b), padTo)
		}
		for len(b) < padTo {
			b = append(b, ' ')
		}
		return b, nil
	}
	for len(b)%8 != 0 {
		b = append(b, ' ')
	}
	return b, nil
}

// SetSync chooses whether Commit fsyncs the file and its directory (the
// default). Without it the rename is still atomic for other processes and
// against a crash of this one, but not against a power failure.
func (w *Writer) SetSync(sync bool) { w.noSync = !sync }

// SetMetadata replaces the metadata written to the header. The new header
// must fit in the bytes Create reserved; it is written at Commit.
func (w *Writer) SetMetadata(metadata map[string]string) error {
	if w.err != nil {
		return w.err
	}
	h, err := encodeHeader(w.specs, metadata, w.headerLen)
	if err != nil {
		return w.fail(err)
	}
	w.patch = h
	return nil
}

// WriteTensor writes the raw bytes of the next tensor (in spec order), all
// of them at once.
func (w *Writer) WriteTensor(name string, data []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.next < len(w.specs) && w.done != 0 {
		return w.fail(fmt.Errorf("tensor %q written whole after %d bytes of %q were written in parts", name, w.done, w.specs[w.next].Name))
	}
	if w.next < len(w.specs) && w.specs[w.next].Name == name && int64(len(data)) != w.specs[w.next].ByteLen() {
		return w.fail(fmt.Errorf("tensor %q: %d bytes, want %d", name, len(data), w.specs[w.next].ByteLen()))
	}
	return w.WritePart(name, data)
}

// WritePart appends data to the tensor being written, which must be name
// (the next one in spec order). A tensor is complete, and the Writer moves
// on to the next, when all its bytes have been written; a zero-byte tensor
// is completed by one WritePart (or WriteTensor) with no data.
func (w *Writer) WritePart(name string, data []byte) error {
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
	if rest := s.ByteLen() - w.done; int64(len(data)) > rest {
		return w.fail(fmt.Errorf("tensor %q: %d bytes written past its %d-byte end", name, int64(len(data))-rest, s.ByteLen()))
	}
	if _, err := w.w.Write(data); err != nil {
		return w.fail(err)
	}
	w.done += int64(len(data))
	if w.done == s.ByteLen() {
		w.next++
		w.done = 0
	}
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

// Commit flushes, syncs and renames the file into place, then syncs the
// directory so that the rename itself is durable.
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
	if w.patch != nil {
		if _, err := w.f.WriteAt(w.patch, 8); err != nil {
			return w.fail(fmt.Errorf("rewriting header: %w", err))
		}
	}
	if !w.noSync {
		if err := w.f.Sync(); err != nil {
			return w.fail(err)
		}
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
	if !w.noSync {
		if err := atomicdir.SyncDir(filepath.Dir(w.path)); err != nil {
			return fmt.Errorf("%s: committed, but syncing its directory failed: %w", w.path, err)
		}
	}
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

// F32Tensor returns data as an F32 tensor of the given shape, for writers
// of in-memory float32 buffers (model parameters, optimiser moments).
func F32Tensor(name string, shape []int, data []float32) (Tensor, error) {
	s := Spec{Name: name, DType: F32, Shape: make([]int64, len(shape))}
	for i, d := range shape {
		s.Shape[i] = int64(d)
	}
	if s.ByteLen() != int64(4*len(data)) {
		return Tensor{}, fmt.Errorf("tensor %q: %d values for shape %v", name, len(data), shape)
	}
	buf := make([]byte, 4*len(data))
	if err := EncodeFloat32(F32, data, buf); err != nil {
		return Tensor{}, fmt.Errorf("tensor %q: %w", name, err)
	}
	return Tensor{Spec: s, Data: buf}, nil
}
