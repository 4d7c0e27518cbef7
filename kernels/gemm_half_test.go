package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmHalfBTMatchesGemm checks that a 16-bit B widened while packing
// gives the same bits as Gemm on the widened matrix (more than
// HalfDirectRows rows), or as Dot with each widened row (at most that
// many), for both formats, every kernel, several thread counts and shapes
// that cross the k-block and column-block boundaries.
func TestGemmHalfBTMatchesGemm(t *testing.T) {
	defer SetThreads(Threads())
	defer SetKernel("")
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ m, n, k int }{{1, 1, 1}, {7, 33, 19}, {64, 200, 513}, {130, 96, 1100}, {3, 1000, 64}, {16, 300, 700}, {17, 300, 700}}
	for _, kn := range Kernels() {
		if err := SetKernel(kn); err != nil {
			t.Fatal(err)
		}
		for _, h := range []Half{BF16, F16} {
			for _, s := range shapes {
				ldb := s.k + 3
				a := randSlice(rng, s.m*s.k)
				bh := make([]uint16, s.n*ldb)
				for i := range bh {
					f := float32(rng.NormFloat64())
					if h == BF16 {
						bh[i] = uint16(math.Float32bits(f) >> 16)
					} else {
						for bh[i] = 0x7c00; bh[i]&0x7c00 == 0x7c00; { // finite: exponent not all ones
							bh[i] = uint16(rng.Uint32())
						}
					}
				}
				b := make([]float32, len(bh))
				h.WidenInto(b, bh)
				c0 := randSlice(rng, s.m*s.n)
				want := append([]float32(nil), c0...)
				if s.m > HalfDirectRows {
					Gemm(false, true, s.m, s.n, s.k, 0.5, a, s.k, b, ldb, 1, want, s.n)
				} else {
					for i := 0; i < s.m; i++ {
						for j := 0; j < s.n; j++ {
							d := Dot(a[i*s.k:(i+1)*s.k], b[j*ldb:j*ldb+s.k])
							if h == BF16 && hasBF16Rows() && s.k >= 16 {
								d = bf16RowsRef(a[i*s.k:(i+1)*s.k], bh[j*ldb:j*ldb+s.k])
							}
							want[i*s.n+j] = 0.5*d + want[i*s.n+j]
						}
					}
				}
				for _, th := range []int{1, 2, 3} {
					SetThreads(th)
					got := append([]float32(nil), c0...)
					GemmHalfBT(h, s.m, s.n, s.k, 0.5, a, s.k, bh, ldb, 1, got, s.n)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s %v %v threads %d: C[%d] = %v, Gemm on the widened B gives %v", kn, h, s, th, i, got[i], want[i])
						}
					}
				}
				got := append([]float32(nil), c0...)
				GemmHalfBTSerial(h, s.m, s.n, s.k, 0.5, a, s.k, bh, ldb, 1, got, s.n)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s %v %v serial: C[%d] = %v, want %v", kn, h, s, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestHalfWiden checks the conversions on values with known results.
func TestHalfWiden(t *testing.T) {
	cases := []struct {
		h    Half
		x    uint16
		want float32
	}{
		{BF16, 0x3f80, 1}, {BF16, 0xc000, -2}, {BF16, 0x0000, 0},
		{F16, 0x3c00, 1}, {F16, 0xc000, -2}, {F16, 0x7bff, 65504}, {F16, 0x0001, 1.0 / (1 << 24)},
		{F16, 0x8001, -1.0 / (1 << 24)}, {F16, 0x3555, 0.33325195},
	}
	for _, c := range cases {
		if got := c.h.Widen(c.x); got != c.want {
			t.Errorf("%v %#04x: %v, want %v", c.h, c.x, got, c.want)
		}
	}
	if !math.IsInf(float64(F16.Widen(0x7c00)), 1) || !math.IsNaN(float64(F16.Widen(0x7e00))) {
		t.Error("F16 Inf/NaN not preserved")
	}
}

// BenchmarkGemmHalfBT times the two paths of GemmHalfBT on Qwen2-0.5B's
// MLP shape against Gemm on float32 weights: decoding 8 tokens (the
// dot-product path) and forwards of 512 and 2,048 rows (the packing path;
// 2,048 is bench/llama_compare.sh's 8 × 256), in GFLOP/s, which with
// --bf16-dot is the ceiling of a BF16 reward forward on this CPU.
func BenchmarkGemmHalfBT(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{8, 512, 2048} {
		n, k := 4864, 896
		a := randSlice(rng, m*k)
		w := randSlice(rng, n*k)
		wh := make([]uint16, len(w))
		for i, f := range w {
			wh[i] = uint16(math.Float32bits(f) >> 16)
		}
		c := make([]float32, m*n)
		gflops := func(b *testing.B) {
			b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("m=%d/bf16", m), func(b *testing.B) {
			for range b.N {
				GemmHalfBT(BF16, m, n, k, 1, a, k, wh, k, 0, c, n)
			}
			gflops(b)
		})
		b.Run(fmt.Sprintf("m=%d/f32", m), func(b *testing.B) {
			for range b.N {
				Gemm(false, true, m, n, k, 1, a, k, w, k, 0, c, n)
			}
			gflops(b)
		})
		if BF16DotSupported() && m > HalfDirectRows {
			b.Run(fmt.Sprintf("m=%d/bf16-dot", m), func(b *testing.B) {
				SetBF16Dot(true)
				defer SetBF16Dot(false)
				for range b.N {
					GemmHalfBT(BF16, m, n, k, 1, a, k, wh, k, 0, c, n)
				}
				gflops(b)
			})
		}
	}
}

// TestWidenBF16 checks the assembly widening against the portable loop on
// every length around the 8-wide blocks and on every bit pattern.
func TestWidenBF16(t *testing.T) {
	src := make([]uint16, 1<<16)
	for i := range src {
		src[i] = uint16(i)
	}
	for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 1000, 1 << 16} {
		got, want := make([]float32, n), make([]float32, n)
		BF16.WidenInto(got, src[:n])
		widenBF16Generic(want, src[:n])
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: element %d (%#04x) widens to %#08x, want %#08x", n, i, src[i], math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
}

// bf16RowsRef is bf16Rows's sum for one row in Go: 16 lanes of fused
// multiply-adds over the columns p ≡ lane (mod 16), the fixed reduction
// tree, then the tail in order, rounded after each product.
func bf16RowsRef(a []float32, w []uint16) float32 {
	k16 := len(a) / 16
	var lane [16]float32
	for q := 0; q < k16; q++ {
		for l := range lane {
			p := 16*q + l
			lane[l] = float32(math.FMA(float64(a[p]), float64(BF16.Widen(w[p])), float64(lane[l])))
		}
	}
	s := sumLanes16(lane)
	for p := 16 * k16; p < len(a); p++ {
		s += float32(a[p] * BF16.Widen(w[p]))
	}
	return s
}

// sumLanes16 adds 16 lanes as the row kernels do: 8+8, 4+4, then
// (x0+x2) + (x1+x3).
func sumLanes16(lane [16]float32) float32 {
	var y [8]float32
	for l := range y {
		y[l] = lane[l] + lane[l+8]
	}
	var x [4]float32
	for l := range x {
		x[l] = y[l] + y[l+4]
	}
	return (x[0] + x[2]) + (x[1] + x[3])
}

// TestBF16Rows checks decoding's fused BF16 row products against
// bf16RowsRef, bit for bit, for 1 to 16 rows and lengths around 16.
func TestBF16Rows(t *testing.T) {
	if !hasBF16Rows() {
		t.Skip("no AVX-512 on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{16, 17, 31, 32, 100, 896} {
		for m := 1; m <= HalfDirectRows; m++ {
			lda := k + 5
			a := randSlice(rng, m*lda)
			w := make([]uint16, k)
			for i := range w {
				w[i] = roundBF16(float32(rng.NormFloat64()))
			}
			out := make([]float32, m)
			if !bf16Rows(a, lda, m, w, k, out) {
				t.Fatal("bf16Rows refused on a CPU with AVX-512")
			}
			for i := range out {
				if want := bf16RowsRef(a[i*lda:i*lda+k], w); math.Float32bits(out[i]) != math.Float32bits(want) {
					t.Fatalf("k=%d m=%d row %d: %v, reference %v", k, m, i, out[i], want)
				}
			}
		}
	}
}
