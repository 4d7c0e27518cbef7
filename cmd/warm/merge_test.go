package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/merge"
	"github.com/warm-rm/warm/safetensors"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "256MiB": 256 << 20, "2GB": 2e9, "1.5G": 3 << 29, "64k": 64 << 10} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "12 parsecs"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}

func writeCLIMember(t *testing.T, path string, vals []float32) {
	t.Helper()
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	ts := []safetensors.Tensor{{Spec: safetensors.Spec{Name: "score.weight", DType: safetensors.F32, Shape: []int64{1, int64(len(vals))}}, Data: raw}}
	if err := safetensors.WriteFile(path, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
}

// TestMergeCommand runs `warm merge` end to end through cobra.
func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.safetensors"), filepath.Join(dir, "b.safetensors")
	writeCLIMember(t, a, []float32{1, 2, 3, 4})
	writeCLIMember(t, b, []float32{3, 2, 1, 0})
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		mergeFlags = mergeFlagValues{accumulate: "F64", shardSize: "0", fingerprint: "auto"}
		for _, f := range []string{"lambda", "weights"} {
			mergeCmd.Flags().Lookup(f).Changed = false
		}
		rootCmd.SetOut(&out)
		rootCmd.SetArgs(append([]string{"merge"}, args...))
		err := rootCmd.ExecuteContext(context.Background())
		return out.String(), err
	}
	if _, err := run("-o", filepath.Join(dir, "m.safetensors"), a, b); err == nil || !strings.Contains(err.Error(), "--ignore-base-fingerprint") {
		t.Fatalf("foreign members without the flag: %v", err)
	}
	out, err := run("--ignore-base-fingerprint", "--json", "-q", "--weights", "1,3", "-o", filepath.Join(dir, "m.safetensors"), a, b)
	if err != nil {
		t.Fatal(err)
	}
	var res merge.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Method != merge.MethodWeighted || res.Weights[1] != 0.75 {
		t.Fatalf("result %q: %v", out, err)
	}
	s, err := safetensors.OpenSet(filepath.Join(dir, "m.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := s.ReadFloat32("score.weight", nil)
	s.Close()
	if got[0] != 2.5 || got[3] != 1 {
		t.Errorf("merged %v", got)
	}
	out, err = run("--ignore-base-fingerprint", "--lambda", "0", "--dtype", "bf16", "-q", "-o", filepath.Join(dir, "l0.safetensors"), a, b)
	if err != nil || !strings.Contains(out, "interpolate") {
		t.Fatalf("lambda: %v %q", err, out)
	}
	if out, err := run("--check", "--ignore-base-fingerprint", a, b); err != nil || !strings.Contains(out, "checks passed") {
		t.Fatalf("check: %v %q", err, out)
	}
	if _, err := run("--ignore-base-fingerprint", "--shard-size", "lots", "-o", filepath.Join(dir, "x"), a, b); err == nil {
		t.Error("bad shard size accepted")
	}
	if _, err := run("--ignore-base-fingerprint", a, b); err == nil || !strings.Contains(err.Error(), "-o") {
		t.Errorf("missing -o: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("directory holds %d entries", len(entries))
	}
}
