package safetensors

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"sort"
	"unicode/utf8"
)

// MaxHeaderSize bounds the JSON header (100 MiB, as the reference
// implementation does), so a corrupt length cannot make a reader allocate
// gigabytes.
const MaxHeaderSize = 100 << 20

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType DType
	Shape []int64
	// Begin and End are byte offsets relative to the start of the data
	// section (Header.DataStart), End exclusive.
	Begin, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// ByteLen returns End - Begin.
func (t TensorInfo) ByteLen() int64 { return t.End - t.Begin }

// Header is a parsed and validated safetensors header.
type Header struct {
	// Tensors in the order of their data offsets.
	Tensors []TensorInfo
	// Metadata is the "__metadata__" map (nil when absent).
	Metadata map[string]string
	// DataStart is the absolute file offset of the data section (8 + N).
	DataStart int64
	// Digest is the SHA-256 of the raw header bytes (without the 8-byte
	// length prefix); set by ReadHeader and ParseHeader.
	Digest [32]byte
	index  map[string]int
}

// Lookup returns the tensor named name.
func (h *Header) Lookup(name string) (TensorInfo, bool) {
	i, ok := h.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return h.Tensors[i], true
}

// Names returns the tensor names sorted lexically.
func (h *Header) Names() []string {
	names := make([]string, len(h.Tensors))
	for i, t := range h.Tensors {
		names[i] = t.Name
	}
	sort.Strings(names)
	return names
}

// DataSize returns the length in bytes of the data section.
func (h *Header) DataSize() int64 {
	if len(h.Tensors) == 0 {
		return 0
	}
	return h.Tensors[len(h.Tensors)-1].End
}

// FormatError is a problem found in a safetensors file. File is the path
// (or another name) the reader was given; Tensor is empty for problems with
// the file as a whole.
type FormatError struct {
	File, Tensor, Msg string
}

func (e *FormatError) Error() string {
	if e.Tensor != "" {
		return fmt.Sprintf("%s: tensor %q: %s", e.File, e.Tensor, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// ReadHeader reads and validates the header of a safetensors file of
// fileSize bytes from r. name is used in error messages.
func ReadHeader(r io.ReaderAt, fileSize int64, name string) (*Header, error) {
	fail := func(tensor, format string, args ...any) error {
		return &FormatError{File: name, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
	}
	if fileSize < 8 {
		return nil, fail("", "file is %d bytes, too short for the 8-byte header length", fileSize)
	}
	var lenBuf [8]byte
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, fmt.Errorf("%s: reading header length: %w", name, err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, fail("", "header length %d exceeds the %d-byte limit", n, MaxHeaderSize)
	}
	if int64(n) > fileSize-8 {
		return nil, fail("", "header length %d runs past the end of the %d-byte file (truncated?)", n, fileSize)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 8); err != nil {
		return nil, fmt.Errorf("%s: reading %d-byte header: %w", name, n, err)
	}
	h, err := ParseHeader(buf, name)
	if err != nil {
		return nil, err
	}
	h.DataStart = 8 + int64(n)
	if got, want := h.DataSize(), fileSize-h.DataStart; got != want {
		if got > want {
			return nil, fail("", "tensors need %d data bytes but the file has %d after the header (truncated?)", got, want)
		}
		return nil, fail("", "file has %d data bytes after the header but the tensors cover only %d (trailing bytes)", want, got)
	}
	return h, nil
}

// ParseHeader validates the JSON header bytes (without the 8-byte length
// prefix). It checks that the tensors' offsets tile [0, DataSize()) exactly;
// comparing DataSize with the file is the caller's job (ReadHeader does it).
// DataStart is set to 8 + len(buf).
func ParseHeader(buf []byte, name string) (*Header, error) {
	fail := func(tensor, format string, args ...any) error {
		return &FormatError{File: name, Tensor: tensor, Msg: fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(buf) {
		return nil, fail("", "header is not valid UTF-8")
	}
	// The format allows trailing spaces as padding; nothing else may follow
	// the JSON object.
	trimmed := bytes.TrimRight(buf, " ")
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	h := &Header{DataStart: 8 + int64(len(buf)), Digest: sha256.Sum256(buf), index: map[string]int{}}
	err := decodeObject(dec, func(key string) error {
		if key == "__metadata__" {
			if h.Metadata != nil {
				return errors.New(`duplicate key "__metadata__"`)
			}
			h.Metadata = map[string]string{}
			return decodeObject(dec, func(k string) error {
				if _, dup := h.Metadata[k]; dup {
					return fmt.Errorf("__metadata__: duplicate key %q", k)
				}
				tok, err := dec.Token()
				if err != nil {
					return fmt.Errorf("__metadata__[%q]: %w", k, err)
				}
				s, ok := tok.(string)
				if !ok {
					return fmt.Errorf("__metadata__[%q]: value must be a string, got %v", k, tok)
				}
				h.Metadata[k] = s
				return nil
			})
		}
		if _, dup := h.index[key]; dup {
			return &FormatError{File: name, Tensor: key, Msg: "duplicate tensor name"}
		}
		t, err := decodeTensorInfo(dec, key)
		if err != nil {
			if isSyntax(err) {
				return err
			}
			return &FormatError{File: name, Tensor: key, Msg: err.Error()}
		}
		h.index[key] = len(h.Tensors)
		h.Tensors = append(h.Tensors, t)
		return nil
	})
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			return nil, err
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fail("", "bad header JSON: %v", err)
	}
	if dec.More() {
		return nil, fail("", "bad header JSON: data after the top-level object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail("", "bad header JSON: data after the top-level object")
	}
	// Offsets must tile the data section: sort by Begin, then each tensor
	// starts where the previous one ended.
	sort.SliceStable(h.Tensors, func(i, j int) bool {
		a, b := h.Tensors[i], h.Tensors[j]
		if a.Begin != b.Begin {
			return a.Begin < b.Begin
		}
		return a.End < b.End
	})
	var pos int64
	for i, t := range h.Tensors {
		h.index[t.Name] = i
		switch {
		case t.Begin < pos:
			return nil, fail(t.Name, "data_offsets [%d, %d] overlap tensor %q, which ends at %d", t.Begin, t.End, h.Tensors[i-1].Name, pos)
		case t.Begin > pos:
			return nil, fail(t.Name, "data_offsets [%d, %d] leave a gap of %d bytes after offset %d", t.Begin, t.End, t.Begin-pos, pos)
		}
		pos = t.End
	}
	return h, nil
}

// decodeObject reads one JSON object from dec, calling fn for each key with
// the decoder positioned at the value. fn must consume the value. Duplicate
// detection is fn's job.
func decodeObject(dec *json.Decoder, fn func(key string) error) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("expected an object, got %v", tok)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, ok := tok.(string)
		if !ok {
			return fmt.Errorf("expected a key, got %v", tok)
		}
		if err := fn(key); err != nil {
			return err
		}
	}
	_, err = dec.Token() // '}'
	return err
}

func decodeTensorInfo(dec *json.Decoder, name string) (TensorInfo, error) {
	t := TensorInfo{Name: name}
	seen := map[string]bool{}
	var haveOffsets bool
	err := decodeObject(dec, func(key string) error {
		if seen[key] {
			return fmt.Errorf("duplicate field %q", key)
		}
		seen[key] = true
		switch key {
		case "dtype":
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			s, ok := tok.(string)
			if !ok {
				return fmt.Errorf("dtype must be a string, got %v", tok)
			}
			d, err := ParseDType(s)
			if err != nil {
				return err
			}
			t.DType = d
		case "shape":
			dims, err := decodeInts(dec, "shape")
			if err != nil {
				return err
			}
			t.Shape = dims
		case "data_offsets":
			offs, err := decodeInts(dec, "data_offsets")
			if err != nil {
				return err
			}
			if len(offs) != 2 {
				return fmt.Errorf("data_offsets must have 2 entries, has %d", len(offs))
			}
			t.Begin, t.End = offs[0], offs[1]
			haveOffsets = true
		default:
			return fmt.Errorf("unknown field %q", key)
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	switch {
	case t.DType == "":
		return t, errors.New("missing dtype")
	case t.Shape == nil:
		return t, errors.New("missing shape")
	case !haveOffsets:
		return t, errors.New("missing data_offsets")
	case t.End < t.Begin:
		return t, fmt.Errorf("data_offsets [%d, %d] end before they begin", t.Begin, t.End)
	}
	// Expected byte length, with overflow checks.
	n := uint64(t.DType.Size())
	for _, d := range t.Shape {
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return t, fmt.Errorf("shape %v overflows", t.Shape)
		}
		n = lo
	}
	if uint64(t.End-t.Begin) != n {
		return t, fmt.Errorf("data_offsets [%d, %d] hold %d bytes but %s%v needs %d", t.Begin, t.End, t.End-t.Begin, t.DType, t.Shape, n)
	}
	return t, nil
}

// decodeInts reads a JSON array of non-negative integers.
func decodeInts(dec *json.Decoder, what string) ([]int64, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("%s must be an array, got %v", what, tok)
	}
	out := []int64{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		num, ok := tok.(json.Number)
		if !ok {
			return nil, fmt.Errorf("%s: %v is not a number", what, tok)
		}
		v, err := num.Int64()
		if err != nil || v < 0 {
			return nil, fmt.Errorf("%s: %s is not a non-negative integer", what, num)
		}
		out = append(out, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// isSyntax reports whether err is a JSON syntax problem (as opposed to a
// well-formed header with bad values).
func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || err == io.EOF || err == io.ErrUnexpectedEOF
}
