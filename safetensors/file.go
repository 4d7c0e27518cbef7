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
	if _, err := f.f.ReadAt(dst, f.DataStart+t.Begin); err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", f.Path, name, err)
	}
	return dst, nil
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
