package merge

import (
	"encoding/binary"
	"math"

	"github.com/warm-rm/warm/safetensors"
)

// The kernels below are the arithmetic of every merge. They define the
// result bit for bit: the sum starts from the first term (not from 0, so
// that a lone term -0 stays -0 and λ=0/1 reproduce a member exactly), adds
// the other terms in member order, and each product is rounded before it is
// added (the explicit conversions forbid fused multiply-add, so every
// platform and the assembly versions give the same bits).

// kernelBlock is the number of elements the Go kernels sum at a time (the
// accumulator stays in L1).
const kernelBlock = 512

// wsum64Go sets dst[i] = float32(Σ_j w[j]·srcs[j][i]), summed in float64,
// and reports whether any dst[i] is NaN or infinite.
func wsum64Go(dst []float32, srcs [][]float32, w []float64) bool {
	var acc [kernelBlock]float64
	n := len(dst)
	bad := false
	for lo := 0; lo < n; lo += kernelBlock {
		hi := min(lo+kernelBlock, n)
		a := acc[:hi-lo]
		x := srcs[0][lo:hi]
		x = x[:len(a)]
		w0 := w[0]
		for i := range a {
			a[i] = float64(x[i]) * w0
		}
		for j := 1; j < len(srcs); j++ {
			x := srcs[j][lo:hi]
			x = x[:len(a)]
			wj := w[j]
			for i := range a {
				a[i] += float64(float64(x[i]) * wj)
			}
		}
		d := dst[lo:hi]
		d = d[:len(a)]
		for i := range a {
			v := float32(a[i])
			d[i] = v
			if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
				bad = true
			}
		}
	}
	return bad
}

// wsum32Go is wsum64Go summing in float32.
func wsum32Go(dst []float32, srcs [][]float32, w []float32) bool {
	n := len(dst)
	bad := false
	for lo := 0; lo < n; lo += kernelBlock {
		hi := min(lo+kernelBlock, n)
		d := dst[lo:hi]
		x := srcs[0][lo:hi]
		x = x[:len(d)]
		w0 := w[0]
		for i := range d {
			d[i] = x[i] * w0
		}
		for j := 1; j < len(srcs); j++ {
			x := srcs[j][lo:hi]
			x = x[:len(d)]
			wj := w[j]
			for i := range d {
				d[i] += float32(x[i] * wj)
			}
		}
		for _, v := range d {
			if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
				bad = true
			}
		}
	}
	return bad
}

// decodeBF16Go converts little-endian bfloat16 values to float32 (exact).
func decodeBF16Go(dst []float32, raw []byte) {
	raw = raw[:2*len(dst)]
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
	}
}

// decodeF16Go converts little-endian IEEE half values to float32 (exact).
func decodeF16Go(dst []float32, raw []byte) {
	raw = raw[:2*len(dst)]
	for i := range dst {
		dst[i] = safetensors.F16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
}

// encodeBF16Go rounds finite float32 values to bfloat16 (nearest even) and
// reports whether one overflowed to infinity.
func encodeBF16Go(dst []byte, src []float32) bool {
	dst = dst[:2*len(src)]
	bad := false
	for i, v := range src {
		h := safetensors.Float32ToBF16(v)
		binary.LittleEndian.PutUint16(dst[2*i:], h)
		if h&0x7f80 == 0x7f80 {
			bad = true
		}
	}
	return bad
}

// encodeF16Go rounds finite float32 values to IEEE half (nearest even) and
// reports whether one overflowed to infinity.
func encodeF16Go(dst []byte, src []float32) bool {
	dst = dst[:2*len(src)]
	bad := false
	for i, v := range src {
		h := safetensors.Float32ToF16(v)
		binary.LittleEndian.PutUint16(dst[2*i:], h)
		if h&0x7c00 == 0x7c00 {
			bad = true
		}
	}
	return bad
}

// wsum16Go is wsum64Go on 16-bit sources, decoded by decode in blocks.
func wsum16Go(decode func([]float32, []byte), dst []float32, srcs [][]byte, w []float64) bool {
	views := make([][]float32, len(srcs))
	for i := range views {
		views[i] = make([]float32, kernelBlock)
	}
	bad := false
	for lo := 0; lo < len(dst); lo += kernelBlock {
		hi := min(lo+kernelBlock, len(dst))
		for i, s := range srcs {
			decode(views[i][:hi-lo], s[2*lo:2*hi])
			views[i] = views[i][:hi-lo]
		}
		if wsum64Go(dst[lo:hi], views, w) {
			bad = true
		}
		for i := range views {
			views[i] = views[i][:kernelBlock]
		}
	}
	return bad
}

// wsum64BF16Go is wsum64Go reading bfloat16 sources.
func wsum64BF16Go(dst []float32, srcs [][]byte, w []float64) bool {
	return wsum16Go(decodeBF16Go, dst, srcs, w)
}

// wsum64F16Go is wsum64Go reading IEEE half sources.
func wsum64F16Go(dst []float32, srcs [][]byte, w []float64) bool {
	return wsum16Go(decodeF16Go, dst, srcs, w)
}

// nonFinite32 returns the index of the first NaN or infinity in x, or -1.
func nonFinite32(x []float32) int {
	for i, v := range x {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
			return i
		}
	}
	return -1
}

// The kernels the merge calls: the Go versions above, or assembly where the
// CPU allows (kernel_amd64.go).
var (
	wsum64     = wsum64Go
	wsum32     = wsum32Go
	decodeBF16 = decodeBF16Go
	decodeF16  = decodeF16Go
	encodeBF16 = encodeBF16Go
	encodeF16  = encodeF16Go
	wsum64BF16 = wsum64BF16Go
	wsum64F16  = wsum64F16Go
)
