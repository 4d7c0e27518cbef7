package kernels

import (
	"fmt"
	"math"
)

// PackedB is a matrix op(B) (k×n) laid out once in the panels the blocked
// GEMM feeds its micro-kernel: for each block of kcBlock rows of op(B), every
// nr-wide panel in turn, each the kb×nr panel that Gemm would pack for that
// block. GemmPacked reads them in place instead of packing B on every call,
// which is what an inference-only holder of frozen weights wants: the same
// weight matrix is multiplied in every forward pass.
//
// A PackedB is a copy: it costs as much memory as B again (k·n floats, plus
// at most nr-1 zero columns of padding per row). It is a snapshot of B's
// contents when PackB ran; it also keeps B (not a copy) for the fallback
// of GemmPacked and for Matches. A PackedB is never modified after PackB,
// so it is safe for concurrent use.
type PackedB struct {
	kern   *microKernel
	transB bool
	k, n   int
	b      []float32 // the packed matrix, as given to PackB
	ldb    int
	np     int       // nr-wide panels per block of k: ceil(n/nr)
	data   []float32 // the panels, 64-byte aligned (a view of mem)
	mem    []float32
}

// PackB packs op(B) (k×n, row-major with leading dimension ldb; op(B) is B
// or, with transB, its transpose) for GemmPacked with the micro-kernel in
// use now (KernelName). Packing is a copy of every element, spread over
// Threads() goroutines; the panels are the same whatever the thread count.
// B must not change while the PackedB is used (see Matches).
//
// PackB panics if b is too short for its shape or ldb is smaller than its
// row width, as Gemm does.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: PackB: negative dimension k=%d n=%d", k, n))
	}
	kern := activeKernel()
	nr := kern.nr
	p := &PackedB{kern: kern, transB: transB, k: k, n: n, b: b, ldb: ldb, np: (n + nr - 1) / nr}
	if k == 0 || n == 0 {
		return p
	}
	if transB {
		checkMatrix("B (transposed)", n, k, b, ldb)
	} else {
		checkMatrix("B", k, n, b, ldb)
	}
	p.data = alignedFloats(&p.mem, p.np*nr*k)
	nkb := (k + kcBlock - 1) / kcBlock
	ParallelFor(nkb*p.np, 16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			pc, panel := i/p.np*kcBlock, i%p.np
			kb := min(kcBlock, k-pc)
			j0 := panel * nr
			dst := p.data[pc*p.np*nr+panel*kb*nr:][:kb*nr]
			kern.packB(transB, b, ldb, pc, kb, j0, min(nr, n-j0), nr, dst)
		}
	})
	return p
}

// K returns the number of rows of op(B).
func (p *PackedB) K() int { return p.k }

// N returns the number of columns of op(B).
func (p *PackedB) N() int { return p.n }

// Kernel names the micro-kernel p was packed for (KernelName when PackB
// ran).
func (p *PackedB) Kernel() string { return p.kern.name }

// Bytes returns the memory the panels take.
func (p *PackedB) Bytes() int { return 4 * len(p.data) }

// block returns the panels of rows [pc, pc+kb) and columns [jc, jc+panels*nr)
// of op(B): where runGemmJob would otherwise pack them. jc is a multiple of
// nr (column blocks are).
func (p *PackedB) block(pc, kb, jc, panels int) []float32 {
	nr := p.kern.nr
	off := pc*p.np*nr + jc/nr*kb*nr
	return p.data[off : off+panels*kb*nr]
}

// at returns element (i, j) of op(B) as packed.
func (p *PackedB) at(i, j int) float32 {
	nr := p.kern.nr
	pc := i / kcBlock * kcBlock
	kb := min(kcBlock, p.k-pc)
	return p.data[pc*p.np*nr+j/nr*kb*nr+(i-pc)*nr+j%nr]
}

// Matches compares about count elements of op(B), evenly spaced over its
// k·n elements in row-major order starting from element start modulo the
// spacing, with their packed copies, bit for bit, and reports whether all
// are equal. It is a cheap check that B has not changed since PackB
// (comparing every element costs as much as packing): calling it with
// start = 0, 1, 2, … checks every element once over k·n/count calls, and a
// change to most of B (an optimiser step, a new average, other weights
// loaded) shows at the first call.
func (p *PackedB) Matches(start, count int) bool {
	total := p.k * p.n
	if total == 0 || count < 1 {
		return true
	}
	step := max(1, total/count)
	for e := start % step; e < total; e += step {
		i, j := e/p.n, e%p.n
		var src float32
		if p.transB {
			src = p.b[j*p.ldb+i]
		} else {
			src = p.b[i*p.ldb+j]
		}
		if math.Float32bits(src) != math.Float32bits(p.at(i, j)) {
			return false
		}
	}
	return true
}

// GemmPacked computes C = alpha*A*op(B) + beta*C, where A is m×k (lda), C is
// m×n (ldc) and op(B) is the k×n matrix packed in pb, as Gemm does but
// without packing B: its panels are read from pb. beta == 0 overwrites C,
// as in Gemm. The work is spread over Threads() goroutines.
//
// The result is bit-identical to Gemm(false, transB, m, n, k, alpha, a,
// lda, b, ldb, beta, c, ldc) on the matrix pb was packed from, for any
// Threads(): it is the same blocked algorithm with the same k blocks, and
// a micro-kernel does the same chain of fused multiply-adds per element
// whether it reads B packed or in place; only where the panels come from
// differs.
//
// When the micro-kernel in use is not the one pb was packed for
// (SetKernel was called since PackB), the panels do not fit it: GemmPacked
// then runs Gemm on the matrix pb was packed from, which gives Gemm's
// result with the current kernel (and costs the packing pb saves).
//
// GemmPacked panics if a or c is too short for its shape or a leading
// dimension is smaller than its row width.
func GemmPacked(m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	gemmPacked(activeKernel(), Threads(), m, alpha, a, lda, pb, beta, c, ldc)
}

func gemmPacked(kern *microKernel, threads, m int, alpha float32, a []float32, lda int, pb *PackedB, beta float32, c []float32, ldc int) {
	n, k := pb.n, pb.k
	if kern != pb.kern {
		gemm(kern, threads, false, pb.transB, m, n, k, alpha, a, lda, pb.b, pb.ldb, beta, c, ldc)
		return
	}
	if m < 0 {
		panic(fmt.Sprintf("kernels: GemmPacked: negative dimension m=%d", m))
	}
	if m == 0 || n == 0 {
		return
	}
	checkMatrix("C", m, n, c, ldc)
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	checkMatrix("A", m, k, a, lda)
	if float64(m)*float64(n)*float64(k) < serialFlops {
		threads = 1
	}
	runGemmJob(kern, threads, func(j *gemmJob) { j.pre = pb }, false, pb.transB, m, n, k, alpha, a, lda, nil, 0, beta, c, ldc)
}
