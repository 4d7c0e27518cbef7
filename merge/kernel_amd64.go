package merge

import (
	"golang.org/x/sys/cpu"
)

//go:noescape
func wsum64AVX2(dst *float32, srcs *[]float32, w *float64, m int, n int) bool

//go:noescape
func wsum32AVX2(dst *float32, srcs *[]float32, w *float32, m int, n int) bool

//go:noescape
func decodeBF16AVX2(dst *float32, src *byte, n int)

//go:noescape
func decodeF16F16C(dst *float32, src *byte, n int)

//go:noescape
func encodeBF16AVX2(dst *byte, src *float32, n int) bool

//go:noescape
func encodeF16F16C(dst *byte, src *float32, n int) bool

//go:noescape
func wsum64BF16AVX2(dst *float32, srcs *[]byte, w *float64, m int, n int) bool

//go:noescape
func wsum64F16F16C(dst *float32, srcs *[]byte, w *float64, m int, n int) bool

// useAVX2 selects the assembly kernels (tests switch it off to compare).
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasF16C

func init() {
	if useAVX2 {
		setKernels(true)
	}
}

// setKernels switches between the assembly and Go kernels.
func setKernels(avx bool) {
	if !avx || !(cpu.X86.HasAVX2 && cpu.X86.HasF16C) {
		wsum64, wsum32, wsum64BF16, wsum64F16 = wsum64Go, wsum32Go, wsum64BF16Go, wsum64F16Go
		decodeBF16, decodeF16, encodeBF16, encodeF16 = decodeBF16Go, decodeF16Go, encodeBF16Go, encodeF16Go
		return
	}
	wsum64, wsum32, wsum64BF16, wsum64F16 = wsum64Asm, wsum32Asm, wsum64BF16Asm, wsum64F16Asm
	decodeBF16, decodeF16, encodeBF16, encodeF16 = decodeBF16Asm, decodeF16Asm, encodeBF16Asm, encodeF16Asm
}

// checkSrcs panics unless every source holds n elements (the assembly
// reads them unchecked).
func checkSrcs(srcs [][]float32, n int) {
	for _, s := range srcs {
		if len(s) < n {
			panic("merge: kernel source shorter than destination")
		}
	}
}

func tails(srcs [][]float32, body int) [][]float32 {
	t := make([][]float32, len(srcs))
	for i, s := range srcs {
		t[i] = s[body:]
	}
	return t
}

func wsum64Asm(dst []float32, srcs [][]float32, w []float64) bool {
	n := len(dst)
	checkSrcs(srcs, n)
	_ = w[len(srcs)-1]
	body := n &^ 15
	bad := false
	if body > 0 {
		bad = wsum64AVX2(&dst[0], &srcs[0], &w[0], len(srcs), body)
	}
	if body < n {
		bad = wsum64Go(dst[body:], tails(srcs, body), w) || bad
	}
	return bad
}

func wsum32Asm(dst []float32, srcs [][]float32, w []float32) bool {
	n := len(dst)
	checkSrcs(srcs, n)
	_ = w[len(srcs)-1]
	body := n &^ 15
	bad := false
	if body > 0 {
		bad = wsum32AVX2(&dst[0], &srcs[0], &w[0], len(srcs), body)
	}
	if body < n {
		bad = wsum32Go(dst[body:], tails(srcs, body), w) || bad
	}
	return bad
}

func decodeBF16Asm(dst []float32, raw []byte) {
	raw = raw[:2*len(dst)]
	body := len(dst) &^ 15
	if body > 0 {
		decodeBF16AVX2(&dst[0], &raw[0], body)
	}
	decodeBF16Go(dst[body:], raw[2*body:])
}

func decodeF16Asm(dst []float32, raw []byte) {
	raw = raw[:2*len(dst)]
	body := len(dst) &^ 15
	if body > 0 {
		decodeF16F16C(&dst[0], &raw[0], body)
	}
	decodeF16Go(dst[body:], raw[2*body:])
}

func encodeBF16Asm(dst []byte, src []float32) bool {
	dst = dst[:2*len(src)]
	body := len(src) &^ 15
	bad := false
	if body > 0 {
		bad = encodeBF16AVX2(&dst[0], &src[0], body)
	}
	return encodeBF16Go(dst[2*body:], src[body:]) || bad
}

func encodeF16Asm(dst []byte, src []float32) bool {
	dst = dst[:2*len(src)]
	body := len(src) &^ 15
	bad := false
	if body > 0 {
		bad = encodeF16F16C(&dst[0], &src[0], body)
	}
	return encodeF16Go(dst[2*body:], src[body:]) || bad
}

func wsum16Asm(kernel func(*float32, *[]byte, *float64, int, int) bool, slow func([]float32, [][]byte, []float64) bool,
	dst []float32, srcs [][]byte, w []float64) bool {
	n := len(dst)
	for _, s := range srcs {
		if len(s) < 2*n {
			panic("merge: kernel source shorter than destination")
		}
	}
	_ = w[len(srcs)-1]
	body := n &^ 15
	bad := false
	if body > 0 {
		bad = kernel(&dst[0], &srcs[0], &w[0], len(srcs), body)
	}
	if body < n {
		t := make([][]byte, len(srcs))
		for i, s := range srcs {
			t[i] = s[2*body:]
		}
		bad = slow(dst[body:], t, w) || bad
	}
	return bad
}

func wsum64BF16Asm(dst []float32, srcs [][]byte, w []float64) bool {
	return wsum16Asm(wsum64BF16AVX2, wsum64BF16Go, dst, srcs, w)
}

func wsum64F16Asm(dst []float32, srcs [][]byte, w []float64) bool {
	return wsum16Asm(wsum64F16F16C, wsum64F16Go, dst, srcs, w)
}
