package kernels

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// runPacked packs the case's B with kernel kern on threads goroutines and
// runs GemmPacked with it on a copy of d.c.
func runPacked(kern *microKernel, threads int, tc gemmCase, d gemmData) []float32 {
	defer active.Store(active.Swap(kern))
	defer SetThreads(SetThreads(threads))
	pb := PackB(tc.transB, tc.k, tc.n, d.b, d.ldb)
	c := slices.Clone(d.c)
	GemmPacked(tc.m, tc.alpha, d.a, d.lda, pb, tc.beta, c, d.ldc)
	return c
}

// packedCases have edges in m, n and k for every kernel's tile (mr up to 8,
// nr up to 32), k over one and two k blocks, and n over several column
// blocks of packed B (bBlockFloats/kb columns: 192 with kb = 512), with
// both layouts of B, padded leading dimensions, alpha and beta.
var packedCases = []gemmCase{
	{m: 1, n: 1, k: 1, alpha: 1},
	{m: 19, n: 37, k: 23, padA: 3, padB: 1, padC: 2, alpha: 1, beta: 1},
	{transB: true, m: 19, n: 37, k: 23, padA: 1, padB: 2, padC: 3, alpha: -0.5, beta: 0.75},
	{m: 33, n: 65, k: 17, alpha: 1, nanC: true},
	{m: 21, n: 230, k: kcBlock*2 + 37, padA: 5, padC: 3, alpha: -0.5, beta: 0.75},
	{transB: true, m: 13, n: 250, k: kcBlock + 3, padB: 4, alpha: 2.5, beta: -1},
	{m: 70, n: 450, k: 600, alpha: 1, nanC: true},     // many strips, rows split
	{m: 9, n: 900, k: 130, alpha: 1, beta: 1},         // few strips: panels split
	{m: 130, n: 3 * 48, k: 48, alpha: 1, beta: 1},     // a model's qkv shape, small
	{transB: true, m: 67, n: 200, k: 96, alpha: 1},    // transposed, split on rows
	{m: 5, n: 17, k: 1000, padA: 2, alpha: 1},         // deep and narrow
	{m: 600, n: 300, k: 200, alpha: 1, beta: 0.5},     // Gemm packs B itself here
	{m: 100, n: 256, k: 100, padB: 0, alpha: 1},       // ldb = 256: Gemm packs B
	{m: 40, n: 96, k: 64, padB: 0, alpha: 1, beta: 0}, // Gemm reads B in place
}

// TestGemmPackedBitIdentical checks that GemmPacked gives exactly Gemm's
// bits, for every kernel, one and two threads (packing and product alike),
// against Gemm on one thread and on two.
func TestGemmPackedBitIdentical(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, kern := range kernelsUnderTest(t) {
		for _, tc := range packedCases {
			d := newGemmData(r, tc)
			want := runCase(kern, 1, tc, d)
			if got := runCase(kern, 2, tc, d); !bitEqual(got, want) {
				t.Fatalf("%s %v: Gemm on 2 threads differs from 1", kern.name, tc)
			}
			for _, threads := range []int{1, 2} {
				if got := runPacked(kern, threads, tc, d); !bitEqual(got, want) {
					t.Errorf("%s %v: GemmPacked on %d threads differs from Gemm", kern.name, tc, threads)
				}
			}
		}
	}
}

// TestGemmPackedRandom runs random edge-case shapes through GemmPacked and
// compares them with Gemm bit for bit, and with float64 within tolerance.
func TestGemmPackedRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	kerns := kernelsUnderTest(t)
	for i := range 60 {
		tc := randomCase(r)
		tc.transA = false
		d := newGemmData(r, tc)
		kern := kerns[i%len(kerns)]
		threads := 1 + i%2
		got := runPacked(kern, threads, tc, d)
		check64(t, tc, d, got)
		if want := runCase(kern, 3-threads, tc, d); !bitEqual(got, want) {
			t.Errorf("%s %v: GemmPacked (%d threads) differs from Gemm", kern.name, tc, threads)
		}
	}
}

// TestGemmPackedColumnBlock checks the case the model relies on: packing a
// block of columns of a wider matrix (the query or key/value columns of
// c_attn) gives Gemm's result on that block.
func TestGemmPackedColumnBlock(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	const C, N = 24, 37
	w := randSlice(r, C*3*C)
	a := randSlice(r, N*C)
	for _, kern := range kernelsUnderTest(t) {
		for _, cols := range [][2]int{{0, C}, {C, 3 * C}, {0, 3 * C}} {
			tc := gemmCase{m: N, n: cols[1] - cols[0], k: C, alpha: 1, beta: 1}
			d := gemmData{a: a, b: w[cols[0]:], c: randSlice(r, N*3*C), lda: C, ldb: 3 * C, ldc: 3 * C}
			want := runCase(kern, 2, tc, d)
			if got := runPacked(kern, 2, tc, d); !bitEqual(got, want) {
				t.Errorf("%s columns %v: GemmPacked differs from Gemm", kern.name, cols)
			}
		}
	}
}

// TestGemmPackedKernelChanged checks that panels packed for one kernel are
// not fed to another: after SetKernel, GemmPacked gives the new kernel's
// Gemm result.
func TestGemmPackedKernelChanged(t *testing.T) {
	ks := supportedKernels()
	if len(ks) < 2 {
		t.Skip("one GEMM kernel on this CPU")
	}
	r := rand.New(rand.NewPCG(27, 28))
	tc := gemmCase{m: 29, n: 77, k: 45, alpha: 1, beta: 0.5}
	d := newGemmData(r, tc)
	for _, from := range ks {
		prev := active.Swap(from)
		pb := PackB(false, tc.k, tc.n, d.b, d.ldb)
		active.Store(prev)
		if pb.Kernel() != from.name {
			t.Fatalf("packed for %s, want %s", pb.Kernel(), from.name)
		}
		for _, to := range ks {
			want := runCase(to, 2, tc, d)
			got := func() []float32 {
				defer active.Store(active.Swap(to))
				c := slices.Clone(d.c)
				GemmPacked(tc.m, tc.alpha, d.a, d.lda, pb, tc.beta, c, d.ldc)
				return c
			}()
			if !bitEqual(got, want) {
				t.Errorf("packed for %s, run with %s: differs from Gemm with %s", from.name, to.name, to.name)
			}
		}
	}
}

func TestGemmPackedDegenerate(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, tc := range []gemmCase{
		{m: 7, n: 5, k: 0, alpha: 1, beta: 0, nanC: true}, // C = 0
		{m: 7, n: 5, k: 0, alpha: 1, beta: 0.5},           // C = beta*C
		{m: 7, n: 5, k: 3, alpha: 0, beta: 2},             // alpha = 0
		{m: 7, n: 5, k: 3, alpha: 0, beta: 0, nanC: true},
	} {
		d := newGemmData(r, tc)
		check64(t, tc, d, runPacked(activeKernel(), 2, tc, d))
	}
	// Empty products do nothing, even with nil slices.
	GemmPacked(0, 1, nil, 3, PackB(false, 3, 5, make([]float32, 15), 5), 0, nil, 5)
	GemmPacked(4, 1, nil, 3, PackB(false, 3, 0, nil, 1), 0, nil, 1)
}

func TestGemmPackedPanicsOnBadArguments(t *testing.T) {
	a, b, c := make([]float32, 12), make([]float32, 16), make([]float32, 16)
	pb := PackB(false, 4, 4, b, 4)
	for name, f := range map[string]func(){
		"short A":   func() { GemmPacked(4, 1, a, 4, pb, 0, c, 4) },
		"short C":   func() { GemmPacked(4, 1, make([]float32, 16), 4, pb, 0, c[:15], 4) },
		"small lda": func() { GemmPacked(2, 1, a, 3, pb, 0, c, 4) },
		"small ldc": func() { GemmPacked(2, 1, a, 4, pb, 0, c, 3) },
		"short B":   func() { PackB(false, 4, 5, b, 5) },
		"small ldb": func() { PackB(true, 4, 4, b, 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestPackedBMatches checks the staleness probe: it passes on an
// unchanged B, for every start, and fails at the first call when all of B
// changed, and within a sweep of starts when one element did.
func TestPackedBMatches(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, transB := range []bool{false, true} {
		const k, n = kcBlock + 9, 45
		rows, ld := k, n+5
		if transB {
			rows, ld = n, k+5
		}
		b := randSlice(r, rows*ld)
		pb := PackB(transB, k, n, b, ld)
		const count = 64
		step := k * n / count
		for start := range step {
			if !pb.Matches(start, count) {
				t.Fatalf("transB=%v: Matches(%d) false on an unchanged B", transB, start)
			}
		}
		// One element changed (row/column past the first k block and an
		// edge panel): some start sees it.
		i, j := kcBlock+4, n-1
		idx := i*ld + j
		if transB {
			idx = j*ld + i
		}
		b[idx] += 1
		seen := false
		for start := range step {
			if !pb.Matches(start, count) {
				seen = true
			}
		}
		if !seen {
			t.Errorf("transB=%v: a changed element is never seen", transB)
		}
		b[idx] -= 1
		// Every element changed: the first call sees it.
		for x := range b {
			b[x] *= 0.5
		}
		if pb.Matches(0, count) {
			t.Errorf("transB=%v: Matches true after B was scaled", transB)
		}
	}
}
