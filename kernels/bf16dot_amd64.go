//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// bf16DotKern8x32 is the VDPBF16PS micro-kernel (bf16dot_amd64.s); kp >= 1,
// lda and ldc in bytes, accum 0 or 1.
//
//go:noescape
func bf16DotKern8x32(kp int, a *uint32, lda int, b *uint32, c *float32, ldc int, accum int)

// bf16RoundRow rounds 32·n32 float32 to bfloat16 (bf16dot_amd64.s).
//
//go:noescape
func bf16RoundRow(dst *uint16, src *float32, n32 int)

var hasBF16 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BF16

// bf16DotKernel runs the micro-kernel on one 8×32 tile of c (ldc in
// elements) over kb pairs: 8 rows of a (row stride lda dwords) and the
// panel b. nil without AVX512-BF16.
var bf16DotKernel = func() func(kb int, a []uint32, lda int, b []uint32, c []float32, ldc, accum int) {
	if !hasBF16 {
		return nil
	}
	return func(kb int, a []uint32, lda int, b []uint32, c []float32, ldc, accum int) {
		_ = a[(bf16MR-1)*lda+kb-1]
		_ = b[kb*bf16NR-1]
		_ = c[(bf16MR-1)*ldc+bf16NR-1]
		bf16DotKern8x32(kb, &a[0], 4*lda, &b[0], &c[0], 4*ldc, accum)
	}
}()

// roundBF16Into sets dst[i] = roundBF16(src[i]), 32 at a time with
// VCVTNE2PS2BF16 where the CPU has it.
func roundBF16Into(dst []uint16, src []float32) {
	n32 := len(src) / 32
	if hasBF16 && n32 > 0 {
		_ = dst[32*n32-1]
		bf16RoundRow(&dst[0], &src[0], n32)
		dst, src = dst[32*n32:], src[32*n32:]
	}
	roundBF16Generic(dst, src)
}

// packBFast is packB with the AVX2 transposition where it applies.
func packBFast(transB bool, b []float32, ldb, pc, kb, j0, cols, nr int, dst []float32) {
	packBAsm(transB, b, ldb, pc, kb, j0, cols, nr, dst)
}

// bf16DotRows8 and its narrower forms are decoding's BF16 dot products
// (bf16dot_amd64.s): R rows of bfloat16 pairs against one weight row.
//
//go:noescape
func bf16DotRows8(a *uint32, lda int, w *uint16, k32 int, out *float32)

//go:noescape
func bf16DotRows4(a *uint32, lda int, w *uint16, k32 int, out *float32)

//go:noescape
func bf16DotRows2(a *uint32, lda int, w *uint16, k32 int, out *float32)

//go:noescape
func bf16DotRows1(a *uint32, lda int, w *uint16, k32 int, out *float32)

// bf16DotRowsKernel sets out[i] for i < m (m <= 16) to the BF16 dot
// product of row i of ab (bfloat16 pairs, row stride lda dwords) with the
// weight row w of k = 32·k32 values: 8, 4, 2 and 1 rows a call. nil without
// AVX512-BF16.
var bf16DotRowsKernel = func() func(ab []uint32, lda, m int, w []uint16, k32 int, out []float32) {
	if !hasBF16 {
		return nil
	}
	return func(ab []uint32, lda, m int, w []uint16, k32 int, out []float32) {
		_ = w[32*k32-1]
		_ = out[m-1]
		rowBlocks(m, func(i, r int) {
			_ = ab[(i+r-1)*lda+16*k32-1]
			switch r {
			case 8:
				bf16DotRows8(&ab[i*lda], 4*lda, &w[0], k32, &out[i])
			case 4:
				bf16DotRows4(&ab[i*lda], 4*lda, &w[0], k32, &out[i])
			case 2:
				bf16DotRows2(&ab[i*lda], 4*lda, &w[0], k32, &out[i])
			default:
				bf16DotRows1(&ab[i*lda], 4*lda, &w[0], k32, &out[i])
			}
		})
	}
}()
