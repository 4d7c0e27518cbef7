package kernels

import (
	"fmt"
	"math"
	"sync"
)

// Half is a 16-bit floating-point format a weight matrix may be stored in.
// GemmHalfBT widens such weights to float32 while packing them, so a model
// whose checkpoint is BF16 or F16 keeps its weights at 2 bytes each in memory.
type Half uint8

// The 16-bit formats.
const (
	BF16 Half = iota + 1 // bfloat16: the top half of a float32
	F16                  // IEEE 754 binary16
)

// String names the format as safetensors does.
func (h Half) String() string {
	switch h {
	case BF16:
		return "BF16"
	case F16:
		return "F16"
	}
	return fmt.Sprintf("Half(%d)", uint8(h))
}

// Widen returns the float32 value of the 16-bit float x stored in format h.
// Both conversions are exact.
func (h Half) Widen(x uint16) float32 {
	if h == F16 {
		return f16Table()[x]
	}
	return math.Float32frombits(uint32(x) << 16)
}

// WidenInto sets dst[i] to the float32 value of src[i]; the slices must have
// the same length.
func (h Half) WidenInto(dst []float32, src []uint16) {
	if len(dst) != len(src) {
		panic("kernels: WidenInto: slices of different lengths")
	}
	if h == F16 {
		t := f16Table()
		for i, x := range src {
			dst[i] = t[x]
		}
		return
	}
	widenBF16(dst, src)
}

// widenBF16Generic is widenBF16 in portable Go.
func widenBF16Generic(dst []float32, src []uint16) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = math.Float32frombits(uint32(x) << 16)
	}
}

// GemmHalfBT computes C = alpha*A*Bᵀ + beta*C where A is m×k float32 (lda),
// C is m×n float32 (ldc) and B is n×k in the 16-bit format h (ldb): a
// weight matrix in PyTorch's Linear layout [out, in] as a checkpoint stores
// it. No float32 copy of B is ever held:
//
//   - with more than HalfDirectRows rows, B is widened as it is packed, one
//     block at a time, and the result is bit-identical to Gemm with transB
//     on the widened B; widening costs one pass over each packed block, a
//     few percent of a product with hundreds of rows;
//   - with at most HalfDirectRows rows (decoding a few tokens), each row of
//     B is widened once into a small buffer and dotted with every row of A
//     (Dot's summation order, so the last bits differ from Gemm's): packing
//     is a strided transposition of the whole matrix, which for so few rows
//     costs several times the products.
//
// With SetBF16Dot(true), BF16 weights (alpha 1, beta 0, even k; with at
// most HalfDirectRows rows, k a multiple of 32) are multiplied by BF16 dot
// products instead: the activations rounded to bfloat16, twice the F32 rate
// on CPUs with AVX512-BF16 (see bf16dot.go for the exact arithmetic).
//
// Either way the result does not depend on Threads().
func GemmHalfBT(h Half, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	gemmHalf(activeKernel(), Threads(), h, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmHalfBTSerial is GemmHalfBT on the calling goroutine only.
func GemmHalfBTSerial(h Half, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	gemmHalf(activeKernel(), 1, h, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmHalf(kern *microKernel, threads int, h Half, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	if h != BF16 && h != F16 {
		panic(fmt.Sprintf("kernels: GemmHalfBT: unknown format %v", h))
	}
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: GemmHalfBT: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if m > 0 && n > 0 {
		checkMatrix("C", m, n, c, ldc)
		if k > 0 && alpha != 0 {
			checkMatrix("A", m, k, a, lda)
			if ldb < k {
				panic(fmt.Sprintf("kernels: GemmHalfBT: B has leading dimension %d < row width %d", ldb, k))
			}
			if need := (n-1)*ldb + k; len(b) < need {
				panic(fmt.Sprintf("kernels: GemmHalfBT: B is %d×%d with leading dimension %d and needs %d elements, has %d", n, k, ldb, need, len(b)))
			}
		}
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if float64(m)*float64(n)*float64(k) < serialFlops {
		threads = 1
	}
	if h == BF16 && alpha == 1 && beta == 0 && k%2 == 0 && bf16DotOn.Load() {
		switch {
		case m > HalfDirectRows:
			gemmBF16Dot(threads, m, n, k, a, lda, b, ldb, c, ldc)
			return
		case k%32 == 0:
			gemmBF16DotRows(threads, m, n, k, a, lda, b, ldb, c, ldc)
			return
		}
	}
	if m <= HalfDirectRows {
		gemmHalfRows(threads, h, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	runGemmJob(kern, threads, func(j *gemmJob) { j.half, j.bh = h, b }, false, true, m, n, k, alpha, a, lda, nil, ldb, beta, c, ldc)
}

// HalfDirectRows is the most rows of A for which GemmHalfBT takes dot
// products with each widened row of B instead of packing B. It is a fixed
// constant: which path a product takes never depends on the thread count.
const HalfDirectRows = 16

// gemmHalfRows is GemmHalfBT for few rows of A: the columns of C (rows of
// B) are split over up to threads goroutines; each element of C is one
// fused row product (bf16Rows: BF16 weights on AVX-512) or one Dot with the
// widened row.
func gemmHalfRows(threads int, h Half, m, n, k int, alpha float32, a []float32, lda int, b []uint16, ldb int, beta float32, c []float32, ldc int) {
	work := func(lo, hi int) {
		buf := make([]float32, k)
		var dots [HalfDirectRows]float32
		for j := lo; j < hi; j++ {
			if h != BF16 || !bf16Rows(a, lda, m, b[j*ldb:j*ldb+k], k, dots[:m]) {
				h.WidenInto(buf, b[j*ldb:j*ldb+k])
				for i := 0; i < m; i++ {
					dots[i] = Dot(a[i*lda:i*lda+k], buf)
				}
			}
			for i := 0; i < m; i++ {
				v := alpha * dots[i]
				if beta != 0 {
					v += beta * c[i*ldc+j]
				}
				c[i*ldc+j] = v
			}
		}
	}
	parallelFor(min(threads, (n+63)/64), n, work)
}

// f16Table maps every binary16 bit pattern to its float32 value (256 KiB,
// built on first use): a table lookup is faster than the bit manipulation
// of subnormals and cheaper to get right.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for i := range t {
		t[i] = f16ToFloat32(uint16(i))
	}
	return t
})

// f16ToFloat32 converts an IEEE binary16 value exactly.
func f16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal: value = mant × 2⁻²⁴.
	f := float32(mant) * (1.0 / (1 << 24))
	if sign != 0 {
		f = -f
	}
	return f
}
