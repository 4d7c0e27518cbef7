package kernels

import (
	"sync"
	"sync/atomic"
	"unsafe"
)

// The blocked GEMM follows the BLIS/GotoBLAS loop nest, ordered for warm's
// shapes (C has thousands of rows and at most a few thousand columns; B is a
// weight matrix of at most a few hundred thousand elements):
//
//	for each block of kcBlock values of k:          (C += alpha*A[:,kb]*B[kb,:])
//	  for each block of at most bBlockFloats/kb columns of C:
//	    pack that k×n block of op(B) into nr-wide panels (shared, in L2),
//	    or find them in a PackedB (GemmPacked: packed once, by PackB)
//	    for each mr-row strip of C (split over goroutines):
//	      read the strip of op(A) in place, or pack it (transposed A, edges)
//	      run the micro-kernel over every panel of the block
//
// The A strip (mr×kb) stays in L1 while the packed B block streams from L2.
// When C has too few strips to go round, the goroutines split the panels
// instead. Each element of C is always the same chain of fused multiply-adds
// over k in increasing order, one chain per k block, followed by
// c = alpha*acc + beta*c; neither the thread count nor the position of the
// element in a tile changes it, so results are bit-identical across thread
// counts and between Gemm and GemmSerial.
const (
	// kcBlock is the k-block depth. It fixes the summation order, so it must
	// not depend on the thread count or the instruction set.
	kcBlock = 512
	// bBlockFloats bounds a packed B block (kb × columns), so that it stays in
	// the L2 cache (1 MiB per core on Zen 4) next to the C rows being written.
	bBlockFloats = 96 * 1024
	// maxTile bounds mr*nr over all micro-kernels.
	maxTile = 16 * 48
	// directBFloats is the largest B block (kb × columns) that kernels able
	// to read B in place do read in place instead of packing it. Packing
	// costs little next to a large product but a lot next to a small one
	// (attention); reading a large B in place risks cache-set conflicts
	// when ldb is a multiple of a large power of two, and was measured 5-10%
	// slower on the forward shapes at d=256.
	directBFloats = 16 * 1024
	// directBStrips is the most strips of C for which B is read in place
	// whatever its size: with few strips to reuse a packed panel, packing
	// costs more than it saves (measured +10% on the dW shapes, m = 128..512).
	directBStrips = 64
)

// microKernel is one register-tile kernel and its tile shape.
type microKernel struct {
	name string
	// mr and nr are the rows and columns of the C tile it computes.
	mr, nr int
	// direct reports whether the kernel can read A and B in place through
	// their strides; otherwise A strips are packed (rsA = 1, csA = mr) and B
	// panels too (rsB = nr, psB = kb*nr).
	direct bool
	// run computes np consecutive mr×nr tiles of C. Element (i, p) of the A
	// strip is a[i*rsA+p*csA]; element (p, j) of panel t of B is
	// b[t*psB+p*rsB+j]; tile t starts at c[t*nr] with rows ldc apart. Each
	// element is acc = sum over p of A(i,p)*B(p,j) (fused multiply-adds in
	// increasing p), stored as alpha*acc, plus beta*c when accum is set.
	run func(kb int, a []float32, rsA, csA int, b []float32, rsB, psB int, c []float32, ldc, np int, alpha, beta float32, accum bool)
	// packB packs one panel of op(B), as the function packB does.
	packB func(transB bool, b []float32, ldb, pc, kb, j0, cols, nr int, dst []float32)
}

// The phases a gemmJob runs over its goroutines.
const (
	phasePackB  = iota // pack panels [lo, hi) of the B block
	phaseStrips        // compute strips [lo, hi) of C over every panel
	phasePanels        // compute panels [lo, hi) of every strip of C
)

// gemmJob holds one GEMM call's arguments, blocking state and buffers. Jobs
// are pooled, so a call allocates nothing once warm.
type gemmJob struct {
	kern           *microKernel
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
	// half and bh replace b when B is a transposed 16-bit matrix
	// (GemmHalfBT): it is widened as it is packed, never read in place.
	half Half
	bh   []uint16
	// pre holds B already packed (GemmPacked): its panels are read in
	// place of packing b, which is nil.
	pre *PackedB

	pc, kb  int     // current k block: rows [pc, pc+kb) of op(B)
	bet     float32 // beta for the current k block (1 after the first)
	accum   bool    // whether the current k block adds into C
	jc      int     // current column block starts at column jc
	panels  int     // nr-wide panels in the current column block
	directB bool    // full panels of B are read in place, not packed
	strips  int     // mr-row strips of C

	bPack   []float32 // packed B block (64-byte aligned view of bMem)
	bMem    []float32
	scratch []gemmScratch // per goroutine

	phase, items, chunk int
	next                atomic.Int64
	wg                  sync.WaitGroup
}

// gemmScratch is one goroutine's private buffers.
type gemmScratch struct {
	aMem []float32
	hMem []float32 // widened rows of a 16-bit B (GemmHalfBT)
	tile [maxTile]float32
}

var jobPool = sync.Pool{New: func() any { return new(gemmJob) }}

// runGemm runs the blocked algorithm; the arguments are already checked and
// m, n, k > 0, alpha != 0.
func runGemm(kern *microKernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	runGemmJob(kern, threads, nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// runGemmJob is runGemm with a hook that sets up the job further (a 16-bit
// B) before the loops start.
func runGemmJob(kern *microKernel, threads int, setup func(*gemmJob), transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	j := jobPool.Get().(*gemmJob)
	*j = gemmJob{
		kern: kern, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta, a: a, b: b, c: c, lda: lda, ldb: ldb, ldc: ldc,
		bMem: j.bMem, scratch: j.scratch,
	}
	if setup != nil {
		setup(j)
	}
	if len(j.scratch) < threads {
		j.scratch = append(j.scratch, make([]gemmScratch, threads-len(j.scratch))...)
	}
	mr, nr := kern.mr, kern.nr
	j.strips = (m + mr - 1) / mr
	for j.pc = 0; j.pc < k; j.pc += kcBlock {
		j.kb = min(kcBlock, k-j.pc)
		j.bet, j.accum = beta, beta != 0
		if j.pc > 0 {
			j.bet, j.accum = 1, true
		}
		ncb := max(nr, bBlockFloats/j.kb/nr*nr)
		for j.jc = 0; j.jc < n; j.jc += ncb {
			nb := min(ncb, n-j.jc)
			j.panels = (nb + nr - 1) / nr
			if j.pre != nil {
				// Pre-packed B: the block's panels are laid out already,
				// as the packing below would lay them out.
				j.bPack = j.pre.block(j.pc, j.kb, j.jc, j.panels)
				j.computeBlock(threads)
				continue
			}
			j.bPack = alignedFloats(&j.bMem, j.panels*nr*j.kb)
			packThreads := threads
			if j.panels*nr*j.kb < 16*1024 {
				packThreads = 1
			}
			j.directB = kern.direct && !transB && j.half == 0 &&
				(j.panels*nr*j.kb <= directBFloats || j.strips <= directBStrips && ldb%256 != 0)
			if j.directB {
				// Only a partial last panel needs packing.
				if nb%nr != 0 {
					j.do(0, phasePackB, j.panels-1, j.panels)
				}
			} else {
				j.parallel(packThreads, phasePackB, j.panels, max(1, j.panels/(4*packThreads)))
			}
			j.computeBlock(threads)
		}
	}
	j.a, j.b, j.c, j.bPack, j.bh, j.pre = nil, nil, nil, nil, nil, nil
	jobPool.Put(j)
}

// computeBlock runs the micro-kernel over the current block of packed B
// for every strip of C, split over strips or, when C has too few to go
// round, over panels.
func (j *gemmJob) computeBlock(threads int) {
	if j.strips >= 2*threads || j.panels == 1 {
		j.parallel(threads, phaseStrips, j.strips, max(1, j.strips/(8*threads)))
	} else {
		j.parallel(threads, phasePanels, j.panels, max(1, j.panels/(4*threads)))
	}
}

// parallel runs phase over items [0, items) in chunks of chunk items on up to
// threads goroutines (the caller's included), handing chunks out dynamically
// so that a goroutine slowed down by other load does not hold the rest up.
func (j *gemmJob) parallel(threads, phase, items, chunk int) {
	workers := min(threads, (items+chunk-1)/chunk)
	if workers <= 1 {
		j.do(0, phase, 0, items)
		return
	}
	j.phase, j.items, j.chunk = phase, items, chunk
	j.next.Store(0)
	j.wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go j.worker(w)
	}
	j.work(0)
	j.wg.Wait()
}

func (j *gemmJob) worker(w int) {
	defer j.wg.Done()
	j.work(w)
}

// work takes chunks of the current phase until none is left.
func (j *gemmJob) work(w int) {
	for {
		hi := int(j.next.Add(int64(j.chunk)))
		lo := hi - j.chunk
		if lo >= j.items {
			return
		}
		j.do(w, j.phase, lo, min(hi, j.items))
	}
}

// do runs items [lo, hi) of phase on goroutine w.
func (j *gemmJob) do(w, phase, lo, hi int) {
	switch phase {
	case phasePackB:
		nr := j.kern.nr
		for p := lo; p < hi; p++ {
			j0 := j.jc + p*nr
			if j.half != 0 {
				// Widen the panel's rows of B (contiguous runs) into
				// scratch, then transpose them with the kernel's packer.
				cols := min(nr, j.n-j0)
				tmp := alignedFloats(&j.scratch[w].hMem, cols*j.kb)
				for c := 0; c < cols; c++ {
					src := j.bh[(j0+c)*j.ldb+j.pc:][:j.kb]
					j.half.WidenInto(tmp[c*j.kb:(c+1)*j.kb], src)
				}
				j.kern.packB(true, tmp, j.kb, 0, j.kb, 0, cols, nr, j.bPack[p*nr*j.kb:(p+1)*nr*j.kb])
				continue
			}
			j.kern.packB(j.transB, j.b, j.ldb, j.pc, j.kb, j0, min(nr, j.n-j0), nr, j.bPack[p*nr*j.kb:(p+1)*nr*j.kb])
		}
	case phaseStrips:
		for s := lo; s < hi; s++ {
			j.strip(w, s, 0, j.panels)
		}
	case phasePanels:
		for s := 0; s < j.strips; s++ {
			j.strip(w, s, lo, hi)
		}
	}
}

// strip computes panels [p0, p1) of strip s of C for the current blocks.
func (j *gemmJob) strip(w, s, p0, p1 int) {
	kern, sc := j.kern, &j.scratch[w]
	mr, nr, kb := kern.mr, kern.nr, j.kb
	i0 := s * mr
	rows := min(mr, j.m-i0)
	var as []float32
	var rs, cs int
	switch {
	case kern.direct && !j.transA && rows == mr:
		as, rs, cs = j.a[i0*j.lda+j.pc:], j.lda, 1
	case kern.direct && rows == mr:
		// Transposed A is read in place too: each step of p reads mr
		// consecutive floats, a pattern the hardware prefetcher follows.
		// (Packing it measured 15-60% slower on the dW shapes.)
		as, rs, cs = j.a[j.pc*j.lda+i0:], 1, j.lda
	default:
		as, rs, cs = alignedFloats(&sc.aMem, mr*kb), 1, mr
		packA(j.transA, j.a, j.lda, i0, rows, j.pc, kb, mr, as)
	}
	if full := min(p1, (j.n-j.jc)/nr); rows == mr && full > p0 {
		c0 := i0*j.ldc + j.jc + p0*nr
		if j.directB {
			kern.run(kb, as, rs, cs, j.b[j.pc*j.ldb+j.jc+p0*nr:], j.ldb, nr, j.c[c0:], j.ldc, full-p0, j.alpha, j.bet, j.accum)
		} else {
			kern.run(kb, as, rs, cs, j.bPack[p0*nr*kb:], nr, nr*kb, j.c[c0:], j.ldc, full-p0, j.alpha, j.bet, j.accum)
		}
		p0 = full
	}
	// Edge tiles: compute the whole tile into scratch and copy back the part
	// inside C. The kernel does the same arithmetic as for a full tile.
	tile := sc.tile[:mr*nr]
	for p := p0; p < p1; p++ {
		col := j.jc + p*nr
		cols := min(nr, j.n-col)
		c0 := i0*j.ldc + col
		if j.accum {
			clear(tile)
			for r := 0; r < rows; r++ {
				copy(tile[r*nr:r*nr+cols], j.c[c0+r*j.ldc:])
			}
		}
		if j.directB && cols == nr {
			kern.run(kb, as, rs, cs, j.b[j.pc*j.ldb+col:], j.ldb, nr, tile, nr, 1, j.alpha, j.bet, j.accum)
		} else {
			kern.run(kb, as, rs, cs, j.bPack[p*nr*kb:], nr, nr*kb, tile, nr, 1, j.alpha, j.bet, j.accum)
		}
		for r := 0; r < rows; r++ {
			copy(j.c[c0+r*j.ldc:c0+r*j.ldc+cols], tile[r*nr:])
		}
	}
}

// alignedFloats returns a 64-byte aligned slice of n floats backed by *mem,
// growing *mem when it is too small. The contents are unspecified.
func alignedFloats(mem *[]float32, n int) []float32 {
	const pad = 64 / 4
	if cap(*mem) < n+pad {
		*mem = make([]float32, n+pad)
	}
	s := (*mem)[:cap(*mem)]
	off := int(uintptr(unsafe.Pointer(&s[0]))%64) / 4
	if off != 0 {
		off = pad - off
	}
	return s[off : off+n]
}
