package safetensors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testTensors returns n small F32 tensors with random data.
func testTensors(seed uint64, n int) []Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	var ts []Tensor
	for i := range n {
		shape := []int64{int64(1 + rng.IntN(5)), int64(2 + rng.IntN(7))}
		vals := make([]float32, shape[0]*shape[1])
		for j := range vals {
			vals[j] = rng.Float32()
		}
		raw := make([]byte, 4*len(vals))
		EncodeFloat32(F32, vals, raw)
		ts = append(ts, Tensor{Spec{fmt.Sprintf("t.%02d", i), F32, shape}, raw})
	}
	return ts
}

// writeShardedForTest writes tensors into shards (tensor i goes to shard
// assign[i]) plus an index, and returns the index map for tampering.
func writeShardedForTest(t *testing.T, dir string, ts []Tensor, nshards int, assign func(i int) int) map[string]any {
	t.Helper()
	groups := make([][]Tensor, nshards)
	wm := map[string]any{}
	var total int64
	for i, tt := range ts {
		s := assign(i)
		groups[s] = append(groups[s], tt)
		wm[tt.Name] = fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, nshards)
		total += int64(len(tt.Data))
	}
	for s, g := range groups {
		if err := WriteFile(filepath.Join(dir, fmt.Sprintf("model-%05d-of-%05d.safetensors", s+1, nshards)), g, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	ix := map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": wm}
	writeIndexForTest(t, dir, ix)
	return ix
}

func writeIndexForTest(t *testing.T, dir string, ix map[string]any) {
	t.Helper()
	b, _ := json.Marshal(ix)
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenSetSharded(t *testing.T) {
	dir := t.TempDir()
	ts := testTensors(1, 7)
	writeShardedForTest(t, dir, ts, 3, func(i int) int { return i % 3 })
	s, err := OpenSet(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if !s.Sharded() || len(s.Files) != 3 || s.Dir != dir {
		t.Fatalf("sharded=%v files=%d dir=%q", s.Sharded(), len(s.Files), s.Dir)
	}
	if s.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", s.Metadata)
	}
	var total int64
	for i, want := range ts {
		got, err := s.ReadRaw(want.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want.Data) {
			t.Fatalf("tensor %d differs", i)
		}
		total += int64(len(want.Data))
		st, _ := s.Lookup(want.Name)
		part := make([]byte, 4)
		if err := s.ReadRawAt(st, part, 4); err != nil || string(part) != string(want.Data[4:8]) {
			t.Fatalf("ReadRawAt: %v", err)
		}
		if err := s.ReadRawAt(st, part, st.ByteLen()-2); err == nil {
			t.Fatal("read past the tensor's end accepted")
		}
	}
	if s.DataSize() != total {
		t.Errorf("DataSize %d, want %d", s.DataSize(), total)
	}
	// The same Set through the index path, and the same content unsharded:
	// one fingerprint.
	s2, err := OpenSet(filepath.Join(dir, IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	single := filepath.Join(t.TempDir(), "one.safetensors")
	if err := WriteFile(single, ts, map[string]string{"other": "metadata"}); err != nil {
		t.Fatal(err)
	}
	s3, err := OpenSet(single)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if s3.Dir != "" || s3.Sharded() {
		t.Errorf("bare file: dir %q sharded %v", s3.Dir, s3.Sharded())
	}
	fp1, err := s.Fingerprint(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	fp3, _ := s3.Fingerprint(context.Background(), 1)
	want, _ := FingerprintTensors(ts)
	if fp1 != fp3 || fp1 != want || !strings.HasPrefix(fp1, FingerprintPrefix) {
		t.Errorf("fingerprints differ: %s %s %s", fp1, fp3, want)
	}
	if s.HeaderIdentity() == s3.HeaderIdentity() || !strings.HasPrefix(s.HeaderIdentity(), HeaderIdentityPrefix) {
		t.Error("header identities of different layouts agree")
	}
}

func TestFingerprintSensitivity(t *testing.T) {
	ts := testTensors(2, 3)
	base, _ := FingerprintTensors(ts)
	mod := func(f func(ts []Tensor)) string {
		c := make([]Tensor, len(ts))
		for i, x := range ts {
			c[i] = Tensor{Spec{x.Name, x.DType, append([]int64(nil), x.Shape...)}, append([]byte(nil), x.Data...)}
		}
		f(c)
		fp, err := FingerprintTensors(c)
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	if mod(func([]Tensor) {}) != base {
		t.Fatal("fingerprint not deterministic")
	}
	if mod(func(c []Tensor) { c[0], c[1] = c[1], c[0] }) != base {
		t.Error("fingerprint depends on tensor order")
	}
	for what, f := range map[string]func([]Tensor){
		"byte":  func(c []Tensor) { c[1].Data[3] ^= 1 },
		"name":  func(c []Tensor) { c[2].Name += "x" },
		"dtype": func(c []Tensor) { c[0].DType = I32 },
		"shape": func(c []Tensor) { c[0].Shape = []int64{c[0].Shape[0] * c[0].Shape[1]} },
	} {
		if mod(f) == base {
			t.Errorf("changing the %s does not change the fingerprint", what)
		}
	}
	// Blocks: a tensor over several blocks, added whole or by digests.
	big := make([]byte, 2*FingerprintBlockSize+12)
	for i := range big {
		big[i] = byte(i * 7)
	}
	f1 := NewFingerprinter()
	if err := f1.AddTensor("big", U8, []int64{int64(len(big))}, big); err != nil {
		t.Fatal(err)
	}
	f2 := NewFingerprinter()
	d := [][32]byte{BlockDigest(big[:FingerprintBlockSize]), BlockDigest(big[FingerprintBlockSize : 2*FingerprintBlockSize]), BlockDigest(big[2*FingerprintBlockSize:])}
	if err := f2.AddBlocks("big", U8, []int64{int64(len(big))}, int64(len(big)), d); err != nil {
		t.Fatal(err)
	}
	if f1.Sum() != f2.Sum() {
		t.Error("AddTensor and AddBlocks disagree")
	}
	if err := f2.AddBlocks("x", U8, []int64{3}, 3, nil); err == nil {
		t.Error("wrong block count accepted")
	}
	if err := f2.AddBlocks("big", U8, []int64{0}, 0, nil); err == nil {
		t.Error("duplicate tensor accepted")
	}
}

func TestOpenSetErrors(t *testing.T) {
	ts := testTensors(3, 4)
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, ix map[string]any)
		want   string
	}{
		{"missing shard", func(t *testing.T, dir string, ix map[string]any) {
			os.Remove(filepath.Join(dir, "model-00002-of-00002.safetensors"))
		}, "does not exist"},
		{"tensor not in weight_map", func(t *testing.T, dir string, ix map[string]any) {
			delete(ix["weight_map"].(map[string]any), "t.01")
			ix["metadata"] = map[string]any{}
			writeIndexForTest(t, dir, ix)
		}, "not in weight_map"},
		{"wrong shard", func(t *testing.T, dir string, ix map[string]any) {
			ix["weight_map"].(map[string]any)["t.01"] = "model-00001-of-00002.safetensors"
			writeIndexForTest(t, dir, ix)
		}, "weight_map says shard"},
		{"phantom tensor", func(t *testing.T, dir string, ix map[string]any) {
			ix["weight_map"].(map[string]any)["ghost"] = "model-00001-of-00002.safetensors"
			writeIndexForTest(t, dir, ix)
		}, "has no such tensor"},
		{"total size", func(t *testing.T, dir string, ix map[string]any) {
			ix["metadata"] = map[string]any{"total_size": 3}
			writeIndexForTest(t, dir, ix)
		}, "total_size"},
		{"path escape", func(t *testing.T, dir string, ix map[string]any) {
			ix["weight_map"].(map[string]any)["t.01"] = "../x.safetensors"
			writeIndexForTest(t, dir, ix)
		}, "plain file name"},
		{"tensor in two shards", func(t *testing.T, dir string, ix map[string]any) {
			if err := WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{ts[0], ts[1], ts[3]}, nil); err != nil {
				t.Fatal(err)
			}
		}, "exactly one shard"},
		{"both layouts", func(t *testing.T, dir string, ix map[string]any) {
			WriteFile(filepath.Join(dir, SingleFileName), ts, nil)
		}, "ambiguous"},
		{"metadata conflict", func(t *testing.T, dir string, ix map[string]any) {
			WriteFile(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{ts[1], ts[3]}, map[string]string{"format": "np"})
		}, "earlier shard"},
		{"truncated shard", func(t *testing.T, dir string, ix map[string]any) {
			p := filepath.Join(dir, "model-00002-of-00002.safetensors")
			st, _ := os.Stat(p)
			os.Truncate(p, st.Size()-3)
		}, "truncated"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ix := writeShardedForTest(t, dir, ts, 2, func(i int) int { return i % 2 })
			c.tamper(t, dir, ix)
			s, err := OpenSet(dir)
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
	if _, err := OpenSet(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no model.safetensors") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestParseIndex(t *testing.T) {
	good := `{"metadata":{"total_size":8,"total_parameters":2},"weight_map":{"a":"m-1.safetensors","b":"m-2.safetensors","c":"m-1.safetensors"}}`
	ix, err := ParseIndex([]byte(good), "i")
	if err != nil {
		t.Fatal(err)
	}
	if !ix.HasTotalSize || ix.TotalSize != 8 || strings.Join(ix.Shards(), ",") != "m-1.safetensors,m-2.safetensors" {
		t.Errorf("parsed %+v", ix)
	}
	for _, c := range []struct{ in, want string }{
		{`{"weight_map":{"a":"m.safetensors","a":"m.safetensors"}}`, "listed twice"},
		{`{"weight_map":{}}`, "empty"},
		{`{"metadata":{}}`, "no weight_map"},
		{`{"weight_map":{"a":"m.safetensors"},"weight_map":{}}`, "duplicate key"},
		{`{"weight_map":{"a":"m.bin"}}`, "does not end in .safetensors"},
		{`{"weight_map":{"a":"sub/m.safetensors"}}`, "plain file name"},
		{`{"weight_map":{"a":1}}`, "shard file name"},
		{`{"metadata":{"total_size":-1},"weight_map":{"a":"m.safetensors"}}`, "non-negative"},
		{`{"metadata":{"total_size":"9"},"weight_map":{"a":"m.safetensors"}}`, "must be a number"},
		{`{"weight_map":{"a":"m.safetensors"},"extra":1}`, "unknown top-level key"},
		{`{"weight_map":{"a":"m.safetensors"}} {}`, "after the top-level"},
		{`[1]`, "expected an object"},
		{`{"weight_map":{"a":"m.safetensors"}`, "bad index"},
	} {
		_, err := ParseIndex([]byte(c.in), "idx.json")
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "idx.json") {
			t.Errorf("%s: error %v, want it to name the file and say %q", c.in, err, c.want)
		}
		var fe *FormatError
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("%s: error is %T", c.in, err)
		}
	}
	if ix, err := ParseIndex([]byte(`{"metadata":{"total_size":12.0},"weight_map":{"a":"m.safetensors"}}`), "i"); err != nil || ix.TotalSize != 12 {
		t.Errorf("integral float total_size: %v", err)
	}
}

func TestWriterPartsAndMetadataPatch(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "w.safetensors")
	specs := []Spec{{"a", U8, []int64{10}}, {"e", F32, []int64{0}}, {"z", U8, []int64{3}}}
	w, err := Create(p, specs, map[string]string{"fp": strings.Repeat("0", 16)})
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range [][]byte{{0, 1, 2}, {3, 4, 5, 6}, {7, 8, 9}} {
		if err := w.WritePart("a", part); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WritePart("e", nil); err != nil {
		t.Fatal(err)
	}
	if err := w.WritePart("z", []byte{1}); err != nil {
		t.Fatal(err)
	}
	if err := w.SetMetadata(map[string]string{"fp": strings.Repeat("0", 40)}); err == nil {
		t.Fatal("a longer header was accepted")
	}
	// The failed SetMetadata aborted the writer: start again.
	w, _ = Create(p, specs, map[string]string{"fp": strings.Repeat("0", 16)})
	w.WriteTensor("a", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	w.WriteTensor("e", nil)
	if err := w.WritePart("z", []byte{1, 2, 3, 4}); err == nil {
		t.Fatal("write past a tensor's end accepted")
	}
	w, _ = Create(p, specs, map[string]string{"fp": strings.Repeat("0", 16)})
	w.WriteTensor("a", []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	w.WriteTensor("e", nil)
	w.WritePart("z", []byte{1, 2})
	w.WritePart("z", []byte{3})
	if err := w.SetMetadata(map[string]string{"fp": "0123456789abcdef"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	f, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Metadata["fp"] != "0123456789abcdef" {
		t.Errorf("metadata %v", f.Metadata)
	}
	if z, _ := f.ReadRaw("z", nil); string(z) != "\x01\x02\x03" {
		t.Errorf("z = %v", z)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir has %d entries", len(entries))
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v, want 0644", st.Mode().Perm())
	}
}

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":8},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"x":"m.safetensors"}}`))
	f.Add([]byte(`{"metadata":{"total_size":1.5,"k":[1,{"a":null}]},"weight_map":{}}`))
	f.Fuzz(func(t *testing.T, buf []byte) {
		ix, err := ParseIndex(buf, "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(ix.WeightMap) == 0 || (ix.HasTotalSize && ix.TotalSize < 0) {
			t.Fatalf("accepted %+v", ix)
		}
		for tensor, shard := range ix.WeightMap {
			if tensor == "" || checkShardName(shard) != nil || filepath.Base(shard) != shard {
				t.Fatalf("accepted tensor %q in shard %q", tensor, shard)
			}
		}
	})
}
