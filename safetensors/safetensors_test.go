package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeRaw(t *testing.T, header string, data []byte) string {
	t.Helper()
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(len(header)))
	b.WriteString(header)
	b.Write(data)
	p := filepath.Join(t.TempDir(), "x.safetensors")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "m.safetensors")
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float32, 6)
	for i := range vals {
		vals[i] = rng.Float32()*2 - 1
	}
	raw := make([]byte, 24)
	EncodeFloat32(F32, vals, raw)
	ids := []byte{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0}
	err := WriteFile(p, []Tensor{
		{Spec{"w", F32, []int64{2, 3}}, raw},
		{Spec{"ids", I64, []int64{2}}, ids},
		{Spec{"empty", F32, []int64{0, 4}}, nil},
		{Spec{"scalar", F32, nil}, raw[:4]},
	}, map[string]string{"warm.role": "rm"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["warm.role"] != "rm" {
		t.Errorf("metadata = %v", f.Metadata)
	}
	if f.DataStart%8 != 0 {
		t.Errorf("data section starts at %d, not 8-aligned", f.DataStart)
	}
	got, err := f.ReadFloat32("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		if got[i] != vals[i] {
			t.Fatalf("w[%d] = %v, want %v", i, got[i], vals[i])
		}
	}
	gotIDs, _ := f.ReadRaw("ids", nil)
	if !bytes.Equal(gotIDs, ids) {
		t.Errorf("ids = %v", gotIDs)
	}
	if s, _ := f.ReadFloat32("scalar", nil); len(s) != 1 || s[0] != vals[0] {
		t.Errorf("scalar = %v", s)
	}
	if _, err := f.ReadFloat32("ids", nil); err == nil {
		t.Error("reading an I64 tensor as float succeeded")
	}
	if _, err := f.ReadRaw("nope", nil); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing tensor error = %v", err)
	}
	if names := f.Names(); strings.Join(names, ",") != "empty,ids,scalar,w" {
		t.Errorf("names = %v", names)
	}
	// Deterministic bytes.
	p2 := filepath.Join(dir, "m2.safetensors")
	WriteFile(p2, []Tensor{
		{Spec{"scalar", F32, nil}, raw[:4]},
		{Spec{"empty", F32, []int64{0, 4}}, nil},
		{Spec{"ids", I64, []int64{2}}, ids},
		{Spec{"w", F32, []int64{2, 3}}, raw},
	}, map[string]string{"warm.role": "rm"})
	a, _ := os.ReadFile(p)
	b, _ := os.ReadFile(p2)
	if !bytes.Equal(a, b) {
		t.Error("same tensors in another order gave different bytes")
	}
}

func TestBadHeaders(t *testing.T) {
	f32x2 := make([]byte, 8)
	cases := []struct {
		name, header string
		data         []byte
		want         string
	}{
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2, `overlap tensor "a"`},
		{"gap", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2, "gap"},
		{"past EOF", `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32x2, "truncated"},
		{"trailing bytes", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32x2, "trailing"},
		{"size mismatch", `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32x2, "needs 12"},
		{"dup tensor", `{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2, "duplicate tensor name"},
		{"bad dtype", `{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, f32x2, "unknown dtype"},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32x2, "non-negative"},
		{"unknown field", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, f32x2, "unknown field"},
		{"missing offsets", `{"a":{"dtype":"F32","shape":[2]}}`, f32x2, "missing data_offsets"},
		{"end before begin", `{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, f32x2, "end before"},
		{"metadata not string", `{"__metadata__":{"k":1}}`, nil, "must be a string"},
		{"dup metadata key", `{"__metadata__":{"k":"a","k":"b"}}`, nil, "duplicate key"},
		{"not json", `{"a":`, nil, "bad header JSON"},
		{"junk after", `{} x`, nil, "bad header JSON"},
		{"overflow", `{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, f32x2, "overflows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeRaw(t, c.header, c.data)
			_, err := Open(p)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file and say %q", err, c.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("error is %T, not *FormatError", err)
			}
		})
	}
}

func TestTruncatedAndHugeLength(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "short")
	os.WriteFile(p, []byte{1, 2, 3}, 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("3-byte file: %v", err)
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, uint64(1<<40))
	os.WriteFile(p, b.Bytes(), 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("huge header length: %v", err)
	}
	b.Reset()
	binary.Write(&b, binary.LittleEndian, uint64(100))
	b.WriteString("{}")
	os.WriteFile(p, b.Bytes(), 0o644)
	if _, err := Open(p); err == nil || !strings.Contains(err.Error(), "past the end") {
		t.Errorf("header past EOF: %v", err)
	}
}

func TestWriterAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.safetensors")
	w, err := Create(p, []Spec{{"a", F32, []int64{2}}, {"b", F32, []int64{1}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFloat32("a", []float32{1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensor("b", make([]byte, 8)); err == nil {
		t.Fatal("wrong-size tensor accepted")
	}
	if err := w.Commit(); err == nil {
		t.Fatal("commit after failure succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("left behind: %v", entries)
	}
	w, _ = Create(p, []Spec{{"a", F32, []int64{2}}}, nil)
	w.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("abort left: %v", entries)
	}
	if _, err := Create(p, []Spec{{"a", F32, nil}, {"a", F32, nil}}, nil); err == nil {
		t.Fatal("duplicate spec accepted")
	}
}

func TestF16Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := F16ToFloat32(uint16(h))
		back := Float32ToF16(f)
		if f != f { // NaN
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, back)
			}
			continue
		}
		if back != uint16(h) {
			t.Fatalf("%#04x -> %v -> %#04x", h, f, back)
		}
	}
}

// TestF16Rounding checks Float32ToF16 against rounding done in float64 by
// exhaustive search of the two neighbouring halves.
func TestF16Rounding(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200000; i++ {
		f := float32(math.Ldexp(rng.Float64()*2-1, rng.IntN(40)-25))
		h := Float32ToF16(f)
		got := float64(F16ToFloat32(h))
		err := math.Abs(got - float64(f))
		for _, nb := range []uint16{h - 1, h + 1} {
			if nb&0x7c00 == 0x7c00 {
				continue
			}
			if e := math.Abs(float64(F16ToFloat32(nb)) - float64(f)); e < err {
				t.Fatalf("%v -> %v, but neighbour %v is closer", f, got, F16ToFloat32(nb))
			}
		}
	}
	if Float32ToF16(70000) != 0x7c00 || Float32ToF16(-70000) != 0xfc00 {
		t.Error("overflow does not give infinity")
	}
}

func TestBF16Rounding(t *testing.T) {
	cases := map[float32]uint16{1: 0x3f80, -2: 0xc000, 0: 0}
	for f, want := range cases {
		if got := Float32ToBF16(f); got != want {
			t.Errorf("bf16(%v) = %#x, want %#x", f, got, want)
		}
	}
	// 1 + 2^-8 is exactly halfway between 1 and 1+2^-7: ties to even (1).
	if got := Float32ToBF16(math.Float32frombits(0x3f808000)); got != 0x3f80 {
		t.Errorf("tie rounded to %#x", got)
	}
	if got := Float32ToBF16(math.Float32frombits(0x3f818000)); got != 0x3f82 {
		t.Errorf("odd tie rounded to %#x", got)
	}
	if nan := Float32ToBF16(float32(math.NaN())); nan&0x7f80 != 0x7f80 || nan&0x7f == 0 {
		t.Errorf("NaN -> %#x", nan)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`))
	f.Add([]byte(`{"__metadata__":{"k":"v"},"b":{"dtype":"BF16","shape":[1,1],"data_offsets":[0,2]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, buf []byte) {
		h, err := ParseHeader(buf, "fuzz")
		if err != nil {
			return
		}
		// A header that parses must tile its data section exactly.
		var pos int64
		for _, ti := range h.Tensors {
			if ti.Begin != pos || ti.End < ti.Begin || ti.ByteLen() != ti.NumElements()*int64(ti.DType.Size()) {
				t.Fatalf("accepted inconsistent tensor %+v", ti)
			}
			pos = ti.End
		}
	})
}
