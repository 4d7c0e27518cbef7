package merge

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

func randVec(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * math.Ldexp(1, rng.IntN(10)-5))
		if rng.IntN(40) == 0 {
			v[i] = float32(math.Copysign(0, -1))
		}
	}
	return v
}

func TestAverageFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, n := range []int{0, 1, 7, 8, 9, 1000, 100003} {
		srcs := [][]float32{randVec(rng, n), randVec(rng, n), randVec(rng, n)}
		w := []float64{0.2, 0.5, 0.3}
		dst := make([]float32, n)
		if err := AverageFloat32(dst, srcs, w); err != nil {
			t.Fatal(err)
		}
		vals := make([][]float64, 3)
		for m, s := range srcs {
			for _, x := range s {
				vals[m] = append(vals[m], float64(x))
			}
		}
		want := reference(vals, []float64{0.2, 0.5, 0.3}, safetensors.F32)
		for i := range dst {
			if !sameBits(float64(dst[i]), want[i]) {
				t.Fatalf("n=%d: [%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		// Endpoints are exact, -0 included; in place works.
		for e := range 2 {
			lw := []float64{1 - float64(e), float64(e)}
			out := make([]float32, n)
			if err := AverageFloat32(out, srcs[:2], lw); err != nil {
				t.Fatal(err)
			}
			for i := range out {
				if math.Float32bits(out[i]) != math.Float32bits(srcs[e][i]) {
					t.Fatalf("lambda %d: [%d] = %v, want %v", e, i, out[i], srcs[e][i])
				}
			}
		}
		inPlace := append([]float32(nil), srcs[0]...)
		if err := AverageFloat32(inPlace, [][]float32{inPlace, srcs[1], srcs[2]}, w); err != nil {
			t.Fatal(err)
		}
		for i := range inPlace {
			if inPlace[i] != dst[i] {
				t.Fatalf("in place differs at %d", i)
			}
		}
	}
	// Errors.
	a, b := []float32{1, 2}, []float32{3, 4}
	if err := AverageFloat32(make([]float32, 2), [][]float32{a, {1}}, nil); err == nil {
		t.Error("length mismatch accepted")
	}
	if err := AverageFloat32(make([]float32, 2), [][]float32{a, b}, []float64{1, -1}); err == nil {
		t.Error("zero weight sum accepted")
	}
	if err := AverageFloat32(make([]float32, 2), [][]float32{a, b}, []float64{1}); err == nil {
		t.Error("weight count mismatch accepted")
	}
	bad := []float32{1, float32(math.NaN())}
	if err := AverageFloat32(make([]float32, 2), [][]float32{a, bad}, []float64{1, 0}); err == nil || !strings.Contains(err.Error(), "source 1 has NaN at element 1") {
		t.Errorf("NaN in a zero-weight source: %v", err)
	}
	huge := []float32{3e38, 3e38}
	neg := []float32{-3e38, -3e38}
	if err := AverageFloat32(make([]float32, 2), [][]float32{huge, neg}, []float64{1.5, -0.5}); err == nil || !strings.Contains(err.Error(), "overflows") {
		t.Errorf("overflow: %v", err)
	}
	// Extrapolation is allowed in memory.
	out := make([]float32, 2)
	if err := AverageFloat32(out, [][]float32{a, b}, []float64{-0.5, 1.5}); err != nil || out[0] != 4 || out[1] != 5 {
		t.Errorf("extrapolation: %v %v", out, err)
	}
}

// TestAverageMatchesFileMerge: the in-memory helper and the file merge
// agree bit for bit.
func TestAverageMatchesFileMerge(t *testing.T) {
	dir := t.TempDir()
	var members []string
	var srcs [][]float32
	for i := range 3 {
		m := writeMember(t, dir, string(rune('a'+i)), memberOpts{seed: uint64(80 + i), base: testBase, dtype: safetensors.BF16})
		members = append(members, m)
		s, _ := safetensors.OpenSet(m)
		v, err := s.ReadFloat32("transformer.wte.weight", nil)
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, v)
	}
	w := []float64{1, 2, 3}
	out := filepath.Join(dir, "out")
	if _, err := Run(context.Background(), out, members, Options{Weights: w, OutDType: safetensors.F32}); err != nil {
		t.Fatal(err)
	}
	s, _ := safetensors.OpenSet(out)
	defer s.Close()
	file, _ := s.ReadFloat32("transformer.wte.weight", nil)
	mem := make([]float32, len(file))
	if err := AverageFloat32(mem, srcs, w); err != nil {
		t.Fatal(err)
	}
	for i := range mem {
		if math.Float32bits(mem[i]) != math.Float32bits(file[i]) {
			t.Fatalf("[%d]: in memory %v, file %v", i, mem[i], file[i])
		}
	}
}

func BenchmarkAverageFloat32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	n := 1 << 20
	srcs := [][]float32{randVec(rng, n), randVec(rng, n)}
	dst := make([]float32, n)
	b.SetBytes(int64(12 * n))
	for b.Loop() {
		AverageFloat32(dst, srcs, []float64{0.7, 0.3})
	}
}

// BenchmarkMergeDir merges the members in $WARM_MERGE_BENCH_DIR (for
// profiling with -cpuprofile; bench/merge_bench.sh with KEEP=1 leaves
// suitable members in WORKDIR/f32 and WORKDIR/bf16).
func BenchmarkMergeDir(b *testing.B) {
	dir := os.Getenv("WARM_MERGE_BENCH_DIR")
	if dir == "" {
		b.Skip("set WARM_MERGE_BENCH_DIR to a directory of members")
	}
	members, _ := filepath.Glob(filepath.Join(dir, "m*"))
	out := filepath.Join(b.TempDir(), "out")
	var res Result
	for b.Loop() {
		os.RemoveAll(out)
		var err error
		if res, err = Run(context.Background(), out, members, Options{NoSync: true, IgnoreBaseFingerprint: true}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(res.BytesRead)
}
