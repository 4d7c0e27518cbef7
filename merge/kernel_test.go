package merge

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/warm-rm/warm/safetensors"
)

// TestKernelsAgree checks the assembly kernels against the Go ones bit for
// bit, on random data of every length up to 70 and a long one, with the
// special values that matter (-0, subnormals, overflow, NaN, Inf).
func TestKernelsAgree(t *testing.T) {
	if !useAVX2 {
		t.Skip("no assembly kernels on this CPU")
	}
	defer setKernels(true)
	rng := rand.New(rand.NewPCG(11, 12))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-40, 3e38, -3.4e38, 65504, 65520, 1e-8,
		float32(math.Inf(1)), float32(math.NaN())}
	vec := func(n int, withSpecial bool) []float32 {
		v := randVec(rng, n)
		if withSpecial {
			for i := range v {
				if rng.IntN(8) == 0 {
					v[i] = special[rng.IntN(len(special))]
				}
			}
		}
		return v
	}
	lengths := []int{}
	for n := 0; n <= 70; n++ {
		lengths = append(lengths, n)
	}
	lengths = append(lengths, 8192, 100_001)
	for _, n := range lengths {
		for _, m := range []int{1, 2, 3, 6} {
			for _, sp := range []bool{false, true} {
				srcs := make([][]float32, m)
				w64 := make([]float64, m)
				w32 := make([]float32, m)
				for j := range srcs {
					srcs[j] = vec(n, sp)
					w64[j] = rng.Float64()
					w32[j] = float32(w64[j])
				}
				var got, want [2][]float32
				var badGot, badWant [2]bool
				for k, avx := range []bool{true, false} {
					setKernels(avx)
					d64, d32 := make([]float32, n), make([]float32, n)
					b64 := wsum64(d64, srcs, w64)
					b32 := wsum32(d32, srcs, w32)
					if avx {
						got, badGot = [2][]float32{d64, d32}, [2]bool{b64, b32}
					} else {
						want, badWant = [2][]float32{d64, d32}, [2]bool{b64, b32}
					}
					_ = k
				}
				for k := range 2 {
					if badGot[k] != badWant[k] {
						t.Fatalf("n=%d m=%d kernel %d: non-finite flag %v, Go %v", n, m, k, badGot[k], badWant[k])
					}
					for i := range got[k] {
						g, w := got[k][i], want[k][i]
						if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
							t.Fatalf("n=%d m=%d kernel %d: [%d] = %v, Go %v", n, m, k, i, g, w)
						}
					}
				}
				// Conversions (finite values only for the encoders).
				src := vec(n, false)
				for i := range src {
					if rng.IntN(10) == 0 {
						src[i] = special[rng.IntN(len(special)-2)]
					}
				}
				var enc [2][2][]byte
				var over [2][2]bool
				var dec [2][2][]float32
				for k, avx := range []bool{true, false} {
					setKernels(avx)
					eb, eh := make([]byte, 2*n), make([]byte, 2*n)
					over[k] = [2]bool{encodeBF16(eb, src), encodeF16(eh, src)}
					enc[k] = [2][]byte{eb, eh}
					db, dh := make([]float32, n), make([]float32, n)
					decodeBF16(db, eb)
					decodeF16(dh, eh)
					dec[k] = [2][]float32{db, dh}
				}
				if over[0] != over[1] {
					t.Fatalf("n=%d: overflow flags %v, Go %v", n, over[0], over[1])
				}
				// Summing 16-bit sources directly.
				raws := make([][]byte, m)
				for j := range raws {
					raws[j] = make([]byte, 2*n)
					for i := range raws[j] {
						raws[j][i] = byte(rng.Uint32())
					}
				}
				for c, f := range []func() func([]float32, [][]byte, []float64) bool{
					func() func([]float32, [][]byte, []float64) bool { return wsum64BF16 },
					func() func([]float32, [][]byte, []float64) bool { return wsum64F16 },
				} {
					var res [2][]float32
					var flags [2]bool
					for k, avx := range []bool{true, false} {
						setKernels(avx)
						res[k] = make([]float32, n)
						flags[k] = f()(res[k], raws, w64)
					}
					if flags[0] != flags[1] {
						t.Fatalf("n=%d m=%d 16-bit kernel %d: flag %v, Go %v", n, m, c, flags[0], flags[1])
					}
					for i := range res[0] {
						g, w := res[0][i], res[1][i]
						if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
							t.Fatalf("n=%d m=%d 16-bit kernel %d: [%d] = %v, Go %v", n, m, c, i, g, w)
						}
					}
				}
				for c := range 2 {
					if !bytes.Equal(enc[0][c], enc[1][c]) {
						t.Fatalf("n=%d: encoder %d differs from Go", n, c)
					}
					for i := range dec[0][c] {
						if math.Float32bits(dec[0][c][i]) != math.Float32bits(dec[1][c][i]) {
							t.Fatalf("n=%d: decoder %d differs from Go at %d", n, c, i)
						}
					}
				}
			}
		}
	}
}

// TestDecodeF16Exhaustive decodes every half value with both kernels.
func TestDecodeF16Exhaustive(t *testing.T) {
	raw := make([]byte, 2<<16)
	for h := range 1 << 16 {
		raw[2*h], raw[2*h+1] = byte(h), byte(h>>8)
	}
	got := make([]float32, 1<<16)
	decodeF16(got, raw)
	for h := range 1 << 16 {
		want := safetensors.F16ToFloat32(uint16(h))
		if want != want {
			if got[h] == got[h] {
				t.Fatalf("%#04x: NaN decoded to %v", h, got[h])
			}
			continue
		}
		if math.Float32bits(got[h]) != math.Float32bits(want) {
			t.Fatalf("%#04x: %v, want %v", h, got[h], want)
		}
	}
}

func BenchmarkWsum64(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := decodeBlock
	srcs := make([][]float32, 6)
	w := make([]float64, 6)
	for i := range srcs {
		srcs[i] = randVec(rng, n)
		w[i] = 1.0 / 6
	}
	dst := make([]float32, n)
	for _, avx := range []bool{false, true} {
		name := map[bool]string{false: "go", true: "avx2"}[avx]
		b.Run(name, func(b *testing.B) {
			if avx && !useAVX2 {
				b.Skip("no AVX2")
			}
			setKernels(avx)
			defer setKernels(useAVX2)
			b.SetBytes(int64(6 * 4 * n))
			for b.Loop() {
				wsum64(dst, srcs, w)
			}
		})
	}
}

// TestMergeWithGoKernels: a whole merge gives the same bytes with the Go
// kernels as with the assembly ones, for each input dtype.
func TestMergeWithGoKernels(t *testing.T) {
	if !useAVX2 {
		t.Skip("no assembly kernels on this CPU")
	}
	defer setKernels(true)
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.BF16, safetensors.F16} {
		dir := t.TempDir()
		members := []string{
			writeMember(t, dir, "a", memberOpts{seed: 1, base: testBase, dtype: dt, bare: true}),
			writeMember(t, dir, "b", memberOpts{seed: 2, base: testBase, dtype: dt, bare: true}),
			writeMember(t, dir, "c", memberOpts{seed: 3, base: testBase, dtype: dt, bare: true}),
		}
		var outs [2][]byte
		for k, avx := range []bool{true, false} {
			setKernels(avx)
			out := filepath.Join(dir, fmt.Sprintf("out%d.safetensors", k))
			if _, err := Run(context.Background(), out, members, Options{Weights: []float64{1, 2, 3}, NoSync: true}); err != nil {
				t.Fatal(err)
			}
			outs[k], _ = os.ReadFile(out)
		}
		if !bytes.Equal(outs[0], outs[1]) {
			t.Errorf("%s: assembly and Go kernels give different files", dt)
		}
	}
}
