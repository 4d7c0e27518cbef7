package safetensors

import (
	"fmt"
	"os"
)

// File is an open, validated safetensors file. Tensor data is read on
// demand with ReadAt, so opening a file costs one header read.
type File struct {
	*Header
	Path string
	Size int64
	f    *os.File
}

// Open opens path and validates its header.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &FormatError{File: path, Msg: "not a regular file"}
	}
	h, err := ReadHeader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &File{Header: h, Path: path, Size: st.Size(), f: f}, nil
}

// Close closes the underlying file.
func (f *File) Close() error { return f.f.Close() }

// ReadRaw reads the raw bytes of tensor name into dst, which must be exactly
// the tensor's byte length; with dst nil a new slice is allocated.
func (f *File) ReadRaw(name string, dst []byte) ([]byte, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, &FormatError{File: f.Path, Tensor: name, Msg: "no such tensor"}
	}
	if dst == nil {
		dst = make([]byte, t.ByteLen())
	}
	if int64(len(dst)) != t.ByteLen() {
		return nil, fmt.Errorf("%s: tensor %q: buffer of %d bytes for %d", f.Path, name, len(dst), t.ByteLen())
	}
	if err := f.ReadRawAt(t, dst, 0); err != nil {
		return nil, err
	}
	return dst, nil
}

// ReadRawAt reads len(dst) bytes of tensor t's data starting off bytes into
// it. t must come from this file's header. The read goes straight to the
// file (pread), so concurrent calls are safe and memory use is only dst.
func (f *File) ReadRawAt(t TensorInfo, dst []byte, off int64) error {
	if off < 0 || off+int64(len(dst)) > t.ByteLen() {
		return fmt.Errorf("%s: tensor %q: read of %d bytes at %d outside its %d bytes", f.Path, t.Name, len(dst), off, t.ByteLen())
	}
	if len(dst) == 0 {
		return nil
	}
	if _, err := f.f.ReadAt(dst, f.DataStart+t.Begin+off); err != nil {
		return fmt.Errorf("%s: tensor %q: reading %d bytes at offset %d: %w (file changed or truncated since it was opened?)", f.Path, t.Name, len(dst), f.DataStart+t.Begin+off, err)
	}
	return nil
}

// ReadFloat32 reads a floating-point tensor (F64, F32, F16 or BF16) converted
// to float32. With dst nil a new slice is allocated; otherwise dst must have
// exactly the tensor's element count.
func (f *File) ReadFloat32(name string, dst []float32) ([]float32, error) {
	t, ok := f.Lookup(name)
	if !ok {
		return nil, &FormatError{File: f.Path, Tensor: name, Msg: "no such tensor"}
	}
	if !t.DType.IsFloat() {
		return nil, &FormatError{File: f.Path, Tensor: name, Msg: fmt.Sprintf("dtype %s is not a float type", t.DType)}
	}
	if dst == nil {
		dst = make([]float32, t.NumElements())
	}
	if int64(len(dst)) != t.NumElements() {
		return nil, fmt.Errorf("%s: tensor %q: buffer of %d elements for %d", f.Path, name, len(dst), t.NumElements())
	}
	raw, err := f.ReadRaw(name, nil)
	if err != nil {
		return nil, err
	}
	if err := DecodeFloat32(t.DType, raw, dst); err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", f.Path, name, err)
	}
	return dst, nil
}
