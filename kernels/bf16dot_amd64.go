//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// bf16DotKern8x32 is the VDPBF16PS micro-kernel (bf16dot_amd64.s); kp >= 1,
// ldc in bytes, accum 0 or 1.
//
//go:noescape
func bf16DotKern8x32(kp int, a *uint32, b *uint32, c *float32, ldc int, accum int)

// bf16DotKernel runs the micro-kernel on one 8×32 tile of c (ldc in
// elements) over kb pairs of the panels a and b; nil without AVX512-BF16.
var bf16DotKernel = func() func(kb int, a, b []uint32, c []float32, ldc, accum int) {
	if !cpu.X86.HasAVX512F || !cpu.X86.HasAVX512BF16 {
		return nil
	}
	return func(kb int, a, b []uint32, c []float32, ldc, accum int) {
		_ = a[kb*bf16MR-1]
		_ = b[kb*bf16NR-1]
		_ = c[(bf16MR-1)*ldc+bf16NR-1]
		bf16DotKern8x32(kb, &a[0], &b[0], &c[0], 4*ldc, accum)
	}
}()

// packBFast is packB with the AVX2 transposition where it applies.
func packBFast(transB bool, b []float32, ldb, pc, kb, j0, cols, nr int, dst []float32) {
	packBAsm(transB, b, ldb, pc, kb, j0, cols, nr, dst)
}
