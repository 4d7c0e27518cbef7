package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randBF16Matrix(rng *rand.Rand, n int, scale float32) []uint16 {
	b := make([]uint16, n)
	for i := range b {
		b[i] = roundBF16(scale * float32(rng.NormFloat64()))
	}
	return b
}

func randFloats(rng *rand.Rand, n int, scale float32) []float32 {
	a := make([]float32, n)
	for i := range a {
		a[i] = scale * float32(rng.NormFloat64())
	}
	return a
}

// TestBF16DotMatchesReference: the kernel path gives bf16DotRef's bits for
// edge tiles in m and n, k across several blocks, unaligned B, padded
// leading dimensions, and 1 to 3 threads.
func TestBF16DotMatchesReference(t *testing.T) {
	if !BF16DotSupported() {
		t.Skip("no AVX512-BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ m, n, k, pad int }{
		{8, 32, 2, 0}, {17, 33, 6, 0}, {1, 1, 2, 3}, {40, 96, 256, 0}, {23, 70, 2 * bf16KCPairs * 2, 5},
		{64, bf16NC + 40, 300, 0}, {9, 31, 258, 2}, {130, 65, 2*bf16KCPairs + 2, 1},
	}
	for _, s := range shapes {
		lda, ldb, ldc := s.k+s.pad, s.k+2*s.pad, s.n+s.pad
		a := randFloats(rng, s.m*lda, 1)
		buf := randBF16Matrix(rng, s.n*ldb+1, 0.1)
		for _, off := range []int{0, 1} { // B 4-byte aligned, or not
			b := buf[off : off+s.n*ldb]
			want := make([]float32, s.m*ldc)
			bf16DotRef(s.m, s.n, s.k, a, lda, b, ldb, want, ldc)
			for _, th := range []int{1, 2, 3} {
				got := make([]float32, s.m*ldc)
				gemmBF16Dot(th, s.m, s.n, s.k, a, lda, b, ldb, got, ldc)
				for i := 0; i < s.m; i++ {
					for j := 0; j < s.n; j++ {
						g, w := got[i*ldc+j], want[i*ldc+j]
						if math.Float32bits(g) != math.Float32bits(w) {
							t.Fatalf("m=%d n=%d k=%d off=%d threads=%d: C[%d][%d] = %g, reference %g", s.m, s.n, s.k, off, th, i, j, g, w)
						}
					}
				}
			}
		}
	}
}

// TestBF16DotAccuracy: against the exact product of the widened weights, the
// only error is the activations' rounding to bfloat16 (and float32 sums).
func TestBF16DotAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m, n, k := 16, 40, 512
	a := randFloats(rng, m*k, 1)
	b := randBF16Matrix(rng, n*k, 0.05)
	got := make([]float32, m*n)
	bf16DotRef(m, n, k, a, k, b, k, got, n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var exact, mag float64
			for p := 0; p < k; p++ {
				x := float64(a[i*k+p]) * float64(BF16.Widen(b[j*k+p]))
				exact += x
				mag += math.Abs(x)
			}
			if d := math.Abs(float64(got[i*n+j]) - exact); d > mag/256 {
				t.Fatalf("C[%d][%d] = %g, exact %g: error %g above 2⁻⁸ of Σ|terms| %g", i, j, got[i*n+j], exact, d, mag)
			}
		}
	}
}

func TestRoundBF16(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x3f808001, 0x3f81}, // above the tie
		{0x7f7fffff, 0x7f80}, // max float rounds to +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7f800001, 0x7fc0}, // signalling NaN becomes quiet
		{0x80000000, 0x8000}, // -0
	} {
		if got := roundBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("roundBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

func TestSetBF16Dot(t *testing.T) {
	defer SetBF16Dot(false)
	err := SetBF16Dot(true)
	if BF16DotSupported() != (err == nil) || BF16Dot() != (err == nil) {
		t.Fatalf("SetBF16Dot(true) = %v with support %v, on %v", err, BF16DotSupported(), BF16Dot())
	}
	if err := SetBF16Dot(false); err != nil || BF16Dot() {
		t.Fatalf("SetBF16Dot(false) = %v, on %v", err, BF16Dot())
	}
}

// TestGemmHalfBTBF16Dot: GemmHalfBT takes the BF16 dot products only when
// they are on and the product qualifies, and keeps the widening path's bits
// otherwise.
func TestGemmHalfBTBF16Dot(t *testing.T) {
	if !BF16DotSupported() {
		t.Skip("no AVX512-BF16 on this CPU")
	}
	defer SetBF16Dot(false)
	rng := rand.New(rand.NewPCG(5, 6))
	m, n, k := 40, 50, 64
	a := randFloats(rng, m*k, 1)
	b := randBF16Matrix(rng, n*k, 0.1)
	widened := make([]float32, m*n)
	GemmHalfBT(BF16, m, n, k, 1, a, k, b, k, 0, widened, n)
	dot := make([]float32, m*n)
	bf16DotRef(m, n, k, a, k, b, k, dot, n)
	run := func(m int, alpha, beta float32) []float32 {
		c := make([]float32, m*n)
		GemmHalfBT(BF16, m, n, k, alpha, a, k, b, k, beta, c, n)
		return c
	}
	if err := SetBF16Dot(true); err != nil {
		t.Fatal(err)
	}
	same := func(x, y []float32) bool {
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(y[i]) {
				return false
			}
		}
		return true
	}
	if !same(run(m, 1, 0), dot) {
		t.Fatal("with BF16 dot products on, GemmHalfBT differs from bf16DotRef")
	}
	if same(dot, widened) {
		t.Fatal("the test cannot tell the two paths apart")
	}
	// Few rows (k a multiple of 32) take the row products.
	few := run(HalfDirectRows, 1, 0)
	for i := 0; i < HalfDirectRows; i++ {
		for j := 0; j < n; j++ {
			if want := bf16DotRowsRef(a[i*k:(i+1)*k], b[j*k:(j+1)*k]); math.Float32bits(few[i*n+j]) != math.Float32bits(want) {
				t.Fatalf("few rows: C[%d][%d] = %v, bf16DotRowsRef %v", i, j, few[i*n+j], want)
			}
		}
	}
	// alpha ≠ 1, and few rows with k not a multiple of 32, keep the widening path.
	SetBF16Dot(false)
	want2 := run(m, 2, 0)
	k = 62
	wantOdd := run(HalfDirectRows, 1, 0)
	SetBF16Dot(true)
	gotOdd := run(HalfDirectRows, 1, 0)
	k = 64
	if !same(run(m, 2, 0), want2) || !same(gotOdd, wantOdd) {
		t.Fatal("a product that does not qualify took the BF16 dot path")
	}
}

// bf16DotRowsRef is gemmBF16DotRows's sum for one pair of rows in Go
// (len(a) a multiple of 32): lane l takes the pairs 16q+l, each pair odd
// element first, subnormal sums flushed; then the fixed tree of additions.
func bf16DotRowsRef(a []float32, w []uint16) float32 {
	var lane [16]float32
	for p := 0; p < len(a)/2; p++ {
		l := p % 16
		lane[l] = ftz(lane[l] + bf16Value(roundBF16(a[2*p+1]))*bf16Value(w[2*p+1]))
		lane[l] = ftz(lane[l] + bf16Value(roundBF16(a[2*p]))*bf16Value(w[2*p]))
	}
	return sumLanes16(lane)
}

// TestBF16DotRows checks decoding's BF16 dot products against
// bf16DotRowsRef bit for bit, for 1 to 16 rows, on 1 and 2 threads.
func TestBF16DotRows(t *testing.T) {
	if !BF16DotSupported() {
		t.Skip("no AVX512-BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, k := range []int{32, 64, 896} {
		n, lda := 70, k+3
		b := randBF16Matrix(rng, n*k, 0.1)
		for m := 1; m <= HalfDirectRows; m++ {
			a := randFloats(rng, m*lda, 1)
			for _, th := range []int{1, 2} {
				c := make([]float32, m*n)
				gemmBF16DotRows(th, m, n, k, a, lda, b, k, c, n)
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						if want := bf16DotRowsRef(a[i*lda:i*lda+k], b[j*k:(j+1)*k]); math.Float32bits(c[i*n+j]) != math.Float32bits(want) {
							t.Fatalf("k=%d m=%d threads=%d: C[%d][%d] = %v, reference %v", k, m, th, i, j, c[i*n+j], want)
						}
					}
				}
			}
		}
	}
}

// TestRoundBF16Into checks the vectorised rounding against roundBF16 on
// special values (ties, subnormals, NaNs, infinities) and random bit
// patterns, at lengths around its 32-wide blocks.
func TestRoundBF16Into(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	special := []uint32{0, 0x80000000, 1, 0x807fffff, 0x007fffff, 0x00800000, 0x3f808000, 0x3f818000, 0x7f7fffff,
		0x7f800000, 0xff800000, 0x7f800001, 0xffc00001, 0x7fffffff, 0x3effffff}
	src := make([]float32, 4096+37)
	for i := range src {
		if i < len(special) {
			src[i] = math.Float32frombits(special[i])
		} else {
			src[i] = math.Float32frombits(rng.Uint32())
		}
	}
	for _, n := range []int{0, 1, 31, 32, 33, 64, 95, len(src)} {
		got := make([]uint16, n)
		roundBF16Into(got, src[:n])
		for i, x := range src[:n] {
			if want := roundBF16(x); got[i] != want {
				t.Fatalf("n=%d: %#08x rounds to %#04x, want %#04x", n, math.Float32bits(x), got[i], want)
			}
		}
	}
}
