package kernels

import (
	"fmt"
	"sync/atomic"
)

// active is the micro-kernel Gemm and GemmSerial use; by default the fastest
// one the CPU supports.
var active atomic.Pointer[microKernel]

func init() { active.Store(supportedKernels()[0]) }

// activeKernel returns the micro-kernel in use.
func activeKernel() *microKernel { return active.Load() }

// KernelName reports which GEMM micro-kernel this process uses: "avx512-8x32"
// (AVX-512F), "avx2-6x16" (AVX2 and FMA) or "generic4x2" (portable Go).
func KernelName() string { return activeKernel().name }

// Kernels lists the GEMM micro-kernels this CPU and build support, the
// default (fastest) first and the portable one last.
func Kernels() []string { return kernelNames(supportedKernels()) }

// SetKernel makes Gemm and GemmSerial use the named micro-kernel (one of
// Kernels()); the empty name restores the default. The SIMD kernels give
// bit-identical results; the portable one rounds differently (it does not
// fuse multiply-adds), so switching to or from it changes low-order bits.
func SetKernel(name string) error {
	ks := supportedKernels()
	if name == "" {
		active.Store(ks[0])
		return nil
	}
	for _, k := range ks {
		if k.name == name {
			active.Store(k)
			return nil
		}
	}
	return fmt.Errorf("kernels: GEMM kernel %q not supported here (have %v)", name, kernelNames(ks))
}

func kernelNames(ks []*microKernel) []string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.name
	}
	return names
}
