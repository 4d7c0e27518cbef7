//go:build !amd64 || purego

package kernels

// supportedKernels lists the micro-kernels this build can run: only the
// portable one.
func supportedKernels() []*microKernel { return []*microKernel{genericKernel} }

// useVecAsm is false: there are no assembly vector helpers in this build.
var useVecAsm = useVecAsmDefault

// useVecAsmDefault is false: this build has no assembly.
const useVecAsmDefault = false

func dotAsm(x, y []float32) float32         { return dotGeneric(x, y) }
func axpyAsm(alpha float32, x, y []float32) { axpyGeneric(alpha, x, y) }
func scalAsm(alpha float32, x []float32)    { scalGeneric(alpha, x) }

// widenBF16 sets dst[i] to the float32 of the bfloat16 src[i] (portable).
func widenBF16(dst []float32, src []uint16) { widenBF16Generic(dst, src) }
