package kernels

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

// BF16 dot products: an opt-in way to multiply activations by BF16 weights
// at twice the F32 rate on CPUs with AVX512-BF16 (VDPBF16PS), the
// arithmetic PyTorch's BF16 matmuls use there.
//
// Numerics, exactly: each activation is rounded to bfloat16 (round to
// nearest even) and every element of C is one chain over k in pairs,
//
//	for p := 0; p < k/2; p++ {
//		acc = acc + a[2p+1]*b[2p+1]   // rounded to float32
//		acc = acc + a[2p]*b[2p]       // rounded to float32
//	}
//
// where each product of two bfloat16 values is exact in float32, inputs that
// are subnormal count as zero and subnormal sums are flushed to zero, as
// VDPBF16PS does. The chain never depends on the blocking, the tile or the
// thread count (a tile continues from the sum already in C), so results are
// bit-identical whatever Threads() is, and equal to bf16DotRef, the same
// chain in Go. What changes against the default (weights widened, F32
// products) is the rounding of the activations: a relative error of up to
// 2⁻⁹ in each, which is why it is off unless asked for.

var bf16DotOn atomic.Bool

// BF16DotSupported reports whether this CPU and build have the BF16 dot
// product kernel (AVX512-BF16 on amd64).
func BF16DotSupported() bool { return bf16DotKernel != nil }

// SetBF16Dot turns BF16 dot products on or off for GemmHalfBT with BF16
// weights (alpha 1 and beta 0, even k, and k a multiple of 32 for products
// of at most HalfDirectRows rows; others keep the default). Turning it on fails on a CPU without
// AVX512-BF16. Like the thread count, it is set once by the program.
func SetBF16Dot(on bool) error {
	if on && !BF16DotSupported() {
		return errors.New("kernels: BF16 dot products need a CPU with AVX512-BF16 (VDPBF16PS); this one has none")
	}
	bf16DotOn.Store(on)
	return nil
}

// BF16Dot reports whether BF16 dot products are on.
func BF16Dot() bool { return bf16DotOn.Load() }

// roundBF16 rounds x to the nearest bfloat16, ties to even; NaN stays a
// (quiet) NaN and a subnormal x becomes zero of its sign. VCVTNE2PS2BF16
// rounds the same way.
func roundBF16(x float32) uint16 {
	u := math.Float32bits(x)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	if u&0x7f800000 == 0 {
		return uint16(u>>16) & 0x8000
	}
	return uint16((u + 0x7fff + (u>>16)&1) >> 16)
}

// roundBF16Generic sets dst[i] = roundBF16(src[i]) in portable Go.
func roundBF16Generic(dst []uint16, src []float32) {
	for i, x := range src {
		dst[i] = roundBF16(x)
	}
}

// rowBlocks splits m rows into the blocks of 8, 4, 2 and 1 rows the row
// kernels take, largest first, calling fn(i, r) for rows [i, i+r).
func rowBlocks(m int, fn func(i, r int)) {
	for i := 0; i < m; {
		r := 8
		for r > m-i {
			r /= 2
		}
		fn(i, r)
		i += r
	}
}

// bf16Value is the float32 of a bfloat16, subnormals read as zero (DAZ).
func bf16Value(h uint16) float32 {
	if h&0x7f80 == 0 {
		h &= 0x8000
	}
	return math.Float32frombits(uint32(h) << 16)
}

// ftz flushes a subnormal float32 to zero of the same sign.
func ftz(x float32) float32 {
	if u := math.Float32bits(x); u&0x7f800000 == 0 {
		return math.Float32frombits(u & 0x80000000)
	}
	return x
}

// bf16DotRef is the BF16 dot product C = round(A)·Bᵀ in portable Go, the
// chain above element by element: the reference the kernel is tested
// against, and the definition of what it computes. k must be even.
func bf16DotRef(m, n, k int, a []float32, lda int, b []uint16, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ai := a[i*lda : i*lda+k]
		for j := 0; j < n; j++ {
			bj := b[j*ldb : j*ldb+k]
			var acc float32
			for p := 0; p < k; p += 2 {
				acc = ftz(acc + bf16Value(roundBF16(ai[p+1]))*bf16Value(bj[p+1]))
				acc = ftz(acc + bf16Value(roundBF16(ai[p]))*bf16Value(bj[p]))
			}
			c[i*ldc+j] = acc
		}
	}
}

// The kernel's tile and the blocking around it. A B micro-panel (kcPairs
// pairs × 32 columns, 16 KiB) stays in L1 while the rows of A pass; a B
// block (kcPairs × bf16NC) and the A rows it meets fit in L2.
const (
	bf16MR      = 8
	bf16NR      = 32
	bf16KCPairs = 128
	bf16NC      = 512
)

// bf16Bufs keeps the buffers of earlier products for the next ones: a
// forward pass makes hundreds of products of the same few shapes, and
// letting them become garbage would grow the heap by tens of megabytes
// before a collection (sync.Pool drops its buffers at every collection).
var bf16Bufs struct {
	sync.Mutex
	free [][]uint32
}

func getBF16Buf(n int) []uint32 {
	bf16Bufs.Lock()
	defer bf16Bufs.Unlock()
	for i, b := range bf16Bufs.free {
		if cap(b) >= n {
			last := len(bf16Bufs.free) - 1
			bf16Bufs.free[i] = bf16Bufs.free[last]
			bf16Bufs.free = bf16Bufs.free[:last]
			return b[:n]
		}
	}
	return make([]uint32, n)
}

func putBF16Buf(b []uint32) {
	bf16Bufs.Lock()
	bf16Bufs.free = append(bf16Bufs.free, b)
	bf16Bufs.Unlock()
}

// gemmBF16Dot computes C = round(A)·Bᵀ (A m×k float32, B n×k bfloat16, k
// even) with the BF16 dot kernel on up to threads goroutines. A is rounded
// to bfloat16 once, row by row (its pairs are then its own memory read 32
// bits at a time); the columns of C are split between goroutines in whole
// tiles; each element's chain is the same wherever its tile falls.
func gemmBF16Dot(threads, m, n, k int, a []float32, lda int, b []uint16, ldb int, c []float32, ldc int) {
	kp := k / 2
	panels := (m + bf16MR - 1) / bf16MR
	// Rows padded to a whole number of 8-row panels, the padding zero.
	ab := getBF16Buf(panels * bf16MR * kp)
	defer putBF16Buf(ab)
	ah := unsafe.Slice((*uint16)(unsafe.Pointer(&ab[0])), 2*len(ab))
	parallelFor(threads, panels, func(lo, hi int) {
		for i := lo * bf16MR; i < hi*bf16MR; i++ {
			row := ah[i*k : (i+1)*k]
			if i < m {
				roundBF16Into(row, a[i*lda:i*lda+k])
			} else {
				clear(row)
			}
		}
	})
	tiles := (n + bf16NR - 1) / bf16NR
	parallelFor(threads, tiles, func(lo, hi int) {
		bp := getBF16Buf(bf16KCPairs * bf16NC)
		defer putBF16Buf(bp)
		var edge [bf16MR * bf16NR]float32
		jhi := min(hi*bf16NR, n)
		for jc := lo * bf16NR; jc < jhi; jc += bf16NC {
			nc := min(bf16NC, jhi-jc)
			for pc := 0; pc < kp; pc += bf16KCPairs {
				kb := min(bf16KCPairs, kp-pc)
				for jr := 0; jr < nc; jr += bf16NR {
					packBF16B(b, ldb, jc+jr, min(bf16NR, nc-jr), pc, kb, bp[jr/bf16NR*kb*bf16NR:])
				}
				accum := 0
				if pc > 0 {
					accum = 1
				}
				for ir := 0; ir < panels; ir++ {
					i0 := ir * bf16MR
					rows := min(bf16MR, m-i0)
					arow := ab[i0*kp+pc:]
					for jr := 0; jr < nc; jr += bf16NR {
						j0, cols := jc+jr, min(bf16NR, nc-jr)
						bpan := bp[jr/bf16NR*kb*bf16NR:]
						if rows == bf16MR && cols == bf16NR {
							bf16DotKernel(kb, arow, kp, bpan, c[i0*ldc+j0:], ldc, accum)
							continue
						}
						for r := 0; r < bf16MR; r++ {
							for j := 0; j < bf16NR; j++ {
								var v float32
								if accum == 1 && r < rows && j < cols {
									v = c[(i0+r)*ldc+j0+j]
								}
								edge[r*bf16NR+j] = v
							}
						}
						bf16DotKernel(kb, arow, kp, bpan, edge[:], bf16NR, 1)
						for r := 0; r < rows; r++ {
							copy(c[(i0+r)*ldc+j0:(i0+r)*ldc+j0+cols], edge[r*bf16NR:r*bf16NR+cols])
						}
					}
				}
			}
		}
	})
}

// packBF16B writes columns [j0, j0+cols) of Bᵀ (rows of B) and pairs [pc,
// pc+kb) as one 32-wide panel: dst[p·32 + j] = the pair (b[2p], b[2p+1]) of
// row j0+j; columns from cols to 32 are zero. A row's pairs are its own
// memory read 32 bits at a time, so a 4-byte-aligned B is transposed as
// float32 words by packB's fast path.
func packBF16B(b []uint16, ldb, j0, cols, pc, kb int, dst []uint32) {
	dst = dst[:kb*bf16NR]
	if ldb%2 == 0 && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		words := unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/2)
		out := unsafe.Slice((*float32)(unsafe.Pointer(&dst[0])), len(dst))
		packBFast(true, words, ldb/2, pc, kb, j0, cols, bf16NR, out)
		return
	}
	if cols < bf16NR {
		clear(dst)
	}
	for j := 0; j < cols; j++ {
		row := b[(j0+j)*ldb:]
		for p := 0; p < kb; p++ {
			q := 2 * (pc + p)
			dst[p*bf16NR+j] = uint32(row[q]) | uint32(row[q+1])<<16
		}
	}
}

// gemmBF16DotRows is gemmBF16Dot for at most HalfDirectRows rows of A and k
// a multiple of 32 (decoding a few tokens): A is rounded to bfloat16 once,
// then each row of B, read once, is dotted with every row of A by
// VDPBF16PS, 16 lanes an accumulator and a fixed tree at the end
// (bf16DotRowsRef in the tests is the same sum in Go). The columns of C are
// split over up to threads goroutines.
func gemmBF16DotRows(threads, m, n, k int, a []float32, lda int, b []uint16, ldb int, c []float32, ldc int) {
	kp := k / 2
	ab := getBF16Buf(m * kp)
	defer putBF16Buf(ab)
	ah := unsafe.Slice((*uint16)(unsafe.Pointer(&ab[0])), 2*len(ab))
	for i := 0; i < m; i++ {
		roundBF16Into(ah[i*k:(i+1)*k], a[i*lda:i*lda+k])
	}
	parallelFor(min(threads, (n+63)/64), n, func(lo, hi int) {
		var out [HalfDirectRows]float32
		for j := lo; j < hi; j++ {
			bf16DotRowsKernel(ab, kp, m, b[j*ldb:j*ldb+k], k/32, out[:m])
			for i := 0; i < m; i++ {
				c[i*ldc+j] = out[i]
			}
		}
	})
}
