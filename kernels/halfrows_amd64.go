//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

var hasAVX512 = cpu.X86.HasAVX512F

// bf16Rows sets out[i] = Σ_p a[i·lda + p]·bf16(w[p]) for i < m (m <= 16),
// p < k, widening w in registers: 8, 4, 2 and 1 rows a call of the AVX-512
// kernels over the first 16·⌊k/16⌋ columns, then the rest in order. It
// reports false, doing nothing, on a CPU without AVX-512. Each lane l of a
// row's accumulator sums the columns p ≡ l (mod 16) by fused multiply-adds
// in increasing p; the 16 lanes are then added in a fixed tree (8+8, 4+4,
// 2+2, 1+1) and the tail after it: bf16RowsRef in the tests is the same
// sum in Go.
func bf16Rows(a []float32, lda, m int, w []uint16, k int, out []float32) bool {
	if !hasAVX512 || k < 16 {
		return false
	}
	k16 := k / 16
	_ = w[k-1]
	_ = out[m-1]
	rowBlocks(m, func(i, r int) {
		_ = a[(i+r-1)*lda+k-1]
		switch r {
		case 8:
			bf16RowsAVX512x8(&a[i*lda], 4*lda, &w[0], k16, &out[i])
		case 4:
			bf16RowsAVX512x4(&a[i*lda], 4*lda, &w[0], k16, &out[i])
		case 2:
			bf16RowsAVX512x2(&a[i*lda], 4*lda, &w[0], k16, &out[i])
		default:
			bf16RowsAVX512x1(&a[i*lda], 4*lda, &w[0], k16, &out[i])
		}
	})
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		for p := 16 * k16; p < k; p++ {
			out[i] += float32(ai[p] * BF16.Widen(w[p])) // rounded, never fused: the same bits on every build
		}
	}
	return true
}

// hasBF16Rows reports whether bf16Rows runs here.
func hasBF16Rows() bool { return hasAVX512 }
