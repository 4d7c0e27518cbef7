//go:build amd64 && !purego

package kernels

//go:noescape
func widenBF16AVX2(dst *float32, src *uint16, n int)

// widenBF16 sets dst[i] to the float32 of the bfloat16 src[i] (the same
// length), eight at a time with AVX2 where the CPU has it.
func widenBF16(dst []float32, src []uint16) {
	n8 := len(src) &^ 7
	if useVecAsm && n8 > 0 {
		widenBF16AVX2(&dst[0], &src[0], n8)
		dst, src = dst[n8:], src[n8:]
	}
	widenBF16Generic(dst, src)
}
