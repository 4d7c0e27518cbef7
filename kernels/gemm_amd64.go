//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

//go:generate go run -C internal/asmgen . -out ../../asm_amd64.s -stubs ../../asm_stubs_amd64.go -pkg kernels

// asmKernelFunc is the signature of the generated assembly micro-kernels
// (strides in bytes, accum 0 or 1).
type asmKernelFunc func(kb int, a *float32, rsA, csA int, b *float32, rsB, psB int, c *float32, ldc, np int, alpha, beta float32, accum int)

// asmKernel wraps an assembly micro-kernel as a microKernel. The wrapper
// checks that the slices cover everything the kernel will touch.
func asmKernel(name string, mr, nr int, f asmKernelFunc) *microKernel {
	return &microKernel{name: name, mr: mr, nr: nr, direct: true, packB: packBAsm,
		run: func(kb int, a []float32, rsA, csA int, b []float32, rsB, psB int, c []float32, ldc, np int, alpha, beta float32, accum bool) {
			_ = a[(mr-1)*rsA+(kb-1)*csA]
			_ = b[(np-1)*psB+(kb-1)*rsB+nr-1]
			_ = c[(mr-1)*ldc+np*nr-1]
			acc := 0
			if accum {
				acc = 1
			}
			f(kb, &a[0], 4*rsA, 4*csA, &b[0], 4*rsB, 4*psB, &c[0], 4*ldc, np, alpha, beta, acc)
		}}
}

// The two x86 kernels. Both keep their accumulators in registers (12 ymm of
// 16, 16 zmm of 32). On Zen 4, whose 512-bit FMAs are double-pumped (the same
// 32 flops/cycle as two 256-bit FMAs), the AVX-512 tile was still measured
// faster: 0-8% on the dense shapes, about 15% on the dW ones and 15-75% on
// the attention-sized ones (1 thread, CPU time), as it halves the
// instructions and the B loads per flop. Other tiles tried (AVX-512 12x32,
// 6x48, and 8x32 with embedded broadcasts) were no faster. The AVX-512 kernel
// needs only AVX512F; the AVX2 one needs AVX and FMA3 (AVX2 is required as
// well, for simplicity).
var (
	avx2Kernel   = asmKernel("avx2-6x16", 6, 16, gemmKernAVX2x6x16)
	avx512Kernel = asmKernel("avx512-8x32", 8, 32, gemmKernAVX512x8x32)
)

// supportedKernels lists the micro-kernels this CPU can run, fastest first;
// the last one is always the portable kernel.
func supportedKernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return append(ks, genericKernel)
}

// packBAsm is packB with the transposing case done 8×8 blocks at a time by
// packTrans8x8 (AVX2); the rest is left to packB.
func packBAsm(transB bool, b []float32, ldb, pc, kb, j0, cols, nr int, dst []float32) {
	if !transB || cols < nr || kb < 8 || nr%8 != 0 {
		packB(transB, b, ldb, pc, kb, j0, cols, nr, dst)
		return
	}
	dst = dst[:kb*nr]
	kb8 := kb &^ 7
	for j := 0; j < nr; j += 8 {
		src := b[(j0+j)*ldb+pc:]
		_ = src[7*ldb+kb8-1]
		_ = dst[(kb8-1)*nr+j+7]
		packTrans8x8(kb8/8, &src[0], 4*ldb, &dst[j], 4*nr)
	}
	for j := 0; j < nr; j++ {
		src := b[(j0+j)*ldb+pc : (j0+j)*ldb+pc+kb]
		for p := kb8; p < kb; p++ {
			dst[p*nr+j] = src[p]
		}
	}
}

// useVecAsm selects the assembly vector helpers (Dot, Axpy, Scal).
var useVecAsm = useVecAsmDefault

// useVecAsmDefault records whether this CPU has the assembly helpers.
var useVecAsmDefault = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func dotAsm(x, y []float32) float32         { return dotAVX2(x, y) }
func axpyAsm(alpha float32, x, y []float32) { axpyAVX2(alpha, x, y) }
func scalAsm(alpha float32, x []float32)    { scalAVX2(alpha, x) }
