//go:build amd64 && !purego

package model

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2+FMA kernels of simd_amd64.s. They follow the
// portable code's arithmetic (same approximations, same constants), but
// fused multiply-adds and lane-wise sums round differently: results are
// reproducible on a given CPU, not across CPUs with and without AVX2.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func geluAVX2(out, th, x, bias *float32, n int)

// geluRow is biasGeluForward on one row: x += bias (x keeps the
// pre-activation), th = tanh(√(2/π)(x + 0.044715x³)), out = 0.5x(1 + th).
// Blocks of 8 go through the AVX2 kernel when the CPU has AVX2 and FMA.
func geluRow(out, th, x, bias []float32) {
	n := len(x)
	out, th, bias = out[:n], th[:n], bias[:n]
	if useAVX2 && n >= 8 {
		n8 := n &^ 7
		geluAVX2(&out[0], &th[0], &x[0], &bias[0], n8)
		if n8 == n {
			return
		}
		out, th, x, bias = out[n8:], th[n8:], x[n8:], bias[n8:]
	}
	geluRowGeneric(out, th, x, bias)
}

//go:noescape
func expShiftAVX2(x *float32, n int, mx float32) float32

// expShift replaces every x[j] by e^(x[j]−mx) (inputs at most mx) and
// returns their sum; see expShiftGeneric.
func expShift(x []float32, mx float32) float32 {
	if !useAVX2 || len(x) < 8 {
		return expShiftGeneric(x, mx)
	}
	n8 := len(x) &^ 7
	s := expShiftAVX2(&x[0], n8, mx)
	if n8 < len(x) {
		s += expShiftGeneric(x[n8:], mx)
	}
	return s
}

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(x *float32, n int, s float32)

// rowMax returns the largest element of x (not empty, no NaNs).
func rowMax(x []float32) float32 {
	if !useAVX2 || len(x) < 8 {
		return rowMaxGeneric(x)
	}
	n8 := len(x) &^ 7
	m := maxAVX2(&x[0], n8)
	if n8 < len(x) {
		m = max(m, rowMaxGeneric(x[n8:]))
	}
	return m
}

// scaleRow multiplies x by s in place.
func scaleRow(x []float32, s float32) {
	if !useAVX2 || len(x) < 8 {
		scaleRowGeneric(x, s)
		return
	}
	n8 := len(x) &^ 7
	scaleAVX2(&x[0], n8, s)
	scaleRowGeneric(x[n8:], s)
}
