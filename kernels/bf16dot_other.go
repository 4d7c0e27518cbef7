//go:build !amd64 || purego

package kernels

// bf16DotKernel is nil: this build has no BF16 dot-product kernel.
var bf16DotKernel func(kb int, a []uint32, lda int, b []uint32, c []float32, ldc, accum int)

// roundBF16Into sets dst[i] = roundBF16(src[i]).
func roundBF16Into(dst []uint16, src []float32) { roundBF16Generic(dst, src) }

// packBFast is packB.
func packBFast(transB bool, b []float32, ldb, pc, kb, j0, cols, nr int, dst []float32) {
	packB(transB, b, ldb, pc, kb, j0, cols, nr, dst)
}

// bf16Rows reports false: this build has no fused BF16 row products.
func bf16Rows(a []float32, lda, m int, w []uint16, k int, out []float32) bool { return false }

// hasBF16Rows reports false.
func hasBF16Rows() bool { return false }

// bf16DotRowsKernel is nil: no BF16 dot products in this build.
var bf16DotRowsKernel func(ab []uint32, lda, m int, w []uint16, k32 int, out []float32)
