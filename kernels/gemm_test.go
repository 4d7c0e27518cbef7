package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// gemmCase is one Gemm call to check.
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	padA, padB     int // extra leading-dimension padding
	padC           int
	alpha, beta    float32
	nanC           bool // fill C with NaN (only meaningful with beta == 0)
}

func (c gemmCase) String() string {
	return fmt.Sprintf("%s m=%d n=%d k=%d pad=%d,%d,%d alpha=%g beta=%g nanC=%v",
		layout(c.transA, c.transB), c.m, c.n, c.k, c.padA, c.padB, c.padC, c.alpha, c.beta, c.nanC)
}

// gemmData holds the operands of a case, laid out with its leading
// dimensions.
type gemmData struct {
	a, b, c       []float32
	lda, ldb, ldc int
}

// newGemmData draws random operands for c from r.
func newGemmData(r *rand.Rand, c gemmCase) gemmData {
	var d gemmData
	rowsA, colsA := c.m, c.k
	if c.transA {
		rowsA, colsA = c.k, c.m
	}
	rowsB, colsB := c.k, c.n
	if c.transB {
		rowsB, colsB = c.n, c.k
	}
	d.lda, d.ldb, d.ldc = colsA+c.padA, colsB+c.padB, c.n+c.padC
	d.a = randSlice(r, max(0, (rowsA-1)*d.lda+colsA))
	d.b = randSlice(r, max(0, (rowsB-1)*d.ldb+colsB))
	d.c = randSlice(r, max(0, (c.m-1)*d.ldc+c.n))
	if c.nanC {
		for i := range d.c {
			d.c[i] = float32(math.NaN())
		}
	}
	return d
}

// ref64 is a float64 evaluation of a case with a per-element error bound.
type ref64 struct {
	tc        gemmCase
	d         gemmData
	want, tol []float64
}

// newRef64 evaluates tc on d in float64. The bound is the classic one for a
// length-k dot product in float32, (k+2)·eps·(|alpha|·Σ|a||b| + |beta·c|),
// which holds for any summation order, with a factor 2 to spare.
func newRef64(tc gemmCase, d gemmData) *ref64 {
	const eps = 1.0 / (1 << 24)
	r := &ref64{tc: tc, d: d, want: make([]float64, tc.m*tc.n), tol: make([]float64, tc.m*tc.n)}
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			var sum, mag float64
			for p := 0; p < tc.k; p++ {
				var av, bv float64
				if tc.transA {
					av = float64(d.a[p*d.lda+i])
				} else {
					av = float64(d.a[i*d.lda+p])
				}
				if tc.transB {
					bv = float64(d.b[j*d.ldb+p])
				} else {
					bv = float64(d.b[p*d.ldb+j])
				}
				sum += av * bv
				mag += math.Abs(av * bv)
			}
			want := float64(tc.alpha) * sum
			mag *= math.Abs(float64(tc.alpha))
			if tc.beta != 0 {
				old := float64(d.c[i*d.ldc+j])
				want += float64(tc.beta) * old
				mag += math.Abs(float64(tc.beta) * old)
			}
			r.want[i*tc.n+j] = want
			r.tol[i*tc.n+j] = 2 * float64(tc.k+2) * eps * mag
		}
	}
	return r
}

// check compares got, the C that Gemm produced from the case's data, with
// the float64 result, and checks that the padding between rows of C is
// untouched.
func (r *ref64) check(t *testing.T, got []float32) {
	t.Helper()
	tc, d := r.tc, r.d
	bad := 0
	for i := 0; i < tc.m; i++ {
		for j := 0; j < tc.n; j++ {
			g, want, tol := float64(got[i*d.ldc+j]), r.want[i*tc.n+j], r.tol[i*tc.n+j]
			if !(math.Abs(g-want) <= tol) {
				if bad < 5 {
					t.Errorf("%v: C[%d,%d] = %g, want %g (tolerance %g)", tc, i, j, g, want, tol)
				}
				bad++
			}
		}
	}
	for i := 0; i < tc.m-1; i++ {
		for j := tc.n; j < d.ldc; j++ {
			if got[i*d.ldc+j] != d.c[i*d.ldc+j] && !(tc.nanC && math.IsNaN(float64(got[i*d.ldc+j]))) {
				t.Fatalf("%v: padding C[%d,%d] changed from %g to %g", tc, i, j, d.c[i*d.ldc+j], got[i*d.ldc+j])
			}
		}
	}
	if bad > 0 {
		t.Errorf("%v: %d of %d elements out of tolerance", tc, bad, tc.m*tc.n)
	}
}

// check64 checks got against a float64 evaluation of tc on d.
func check64(t *testing.T, tc gemmCase, d gemmData, got []float32) {
	t.Helper()
	newRef64(tc, d).check(t, got)
}

// runCase runs Gemm (threads > 0) or GemmSerial (threads == 0) on a copy of
// d.c with kernel kern and returns the result.
func runCase(kern *microKernel, threads int, tc gemmCase, d gemmData) []float32 {
	defer active.Store(active.Swap(kern))
	c := slices.Clone(d.c)
	if threads == 0 {
		GemmSerial(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, d.a, d.lda, d.b, d.ldb, tc.beta, c, d.ldc)
	} else {
		defer SetThreads(SetThreads(threads))
		Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, d.a, d.lda, d.b, d.ldb, tc.beta, c, d.ldc)
	}
	return c
}

// kernelsUnderTest are every kernel this CPU runs: the SIMD ones and the
// portable one (forced, so the fallback is tested on every machine).
func kernelsUnderTest(t *testing.T) []*microKernel {
	ks := supportedKernels()
	t.Logf("kernels: %v (default %s)", kernelNames(ks), activeKernel().name)
	return ks
}

var (
	edgeSizes = []int{1, 2, 3, 7, 8, 9, 16, 17, 31, 33, 65, 129}
	alphas    = []float32{1, -0.5, 2.5}
	betas     = []float32{0, 1, 0.75, -1}
)

// randomCase draws a case with edge-case sizes and random padding,
// transposes, alpha and beta.
func randomCase(r *rand.Rand) gemmCase {
	pick := func(s []int) int { return s[r.IntN(len(s))] }
	tc := gemmCase{
		transA: r.IntN(2) == 1, transB: r.IntN(2) == 1,
		m: pick(edgeSizes), n: pick(edgeSizes), k: pick(edgeSizes),
		alpha: alphas[r.IntN(len(alphas))], beta: betas[r.IntN(len(betas))],
	}
	if r.IntN(2) == 1 {
		tc.padA, tc.padB, tc.padC = r.IntN(5), r.IntN(5), r.IntN(5)
	}
	tc.nanC = tc.beta == 0 && r.IntN(2) == 1
	return tc
}

func TestGemmAgainstFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var cases []gemmCase
	// Every transpose combination with every alpha and beta on a shape with
	// edges in all three dimensions and padded leading dimensions.
	for _, ta := range []bool{false, true} {
		for _, tb := range []bool{false, true} {
			for _, al := range alphas {
				for _, be := range betas {
					cases = append(cases, gemmCase{transA: ta, transB: tb, m: 19, n: 37, k: 23, padA: 3, padB: 1, padC: 2, alpha: al, beta: be})
				}
			}
			cases = append(cases,
				gemmCase{transA: ta, transB: tb, m: 1, n: 1, k: 1, alpha: 1, beta: 0},
				gemmCase{transA: ta, transB: tb, m: 33, n: 65, k: 17, alpha: 1, beta: 0, nanC: true},
				// Several k blocks (accumulation into C between blocks) and
				// several column blocks of packed B.
				gemmCase{transA: ta, transB: tb, m: 21, n: 230, k: kcBlock*2 + 37, padA: 5, padC: 3, alpha: -0.5, beta: 0.75},
				gemmCase{transA: ta, transB: tb, m: 70, n: 450, k: 600, alpha: 1, beta: 0, nanC: true},
			)
		}
	}
	for range 120 {
		cases = append(cases, randomCase(r))
	}
	kerns := kernelsUnderTest(t)
	for i, tc := range cases {
		d := newGemmData(r, tc)
		ref := newRef64(tc, d)
		threads := []int{0, 1, 2, 3}[i%4]
		for _, kern := range kerns {
			t.Run(kern.name, func(t *testing.T) { ref.check(t, runCase(kern, threads, tc, d)) })
		}
	}
}

// TestGemmShapes checks a few of the model's real shapes on the default
// kernel, including ones large enough for Gemm to split them over
// goroutines by rows and by columns.
func TestGemmShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []gemmCase{
		{m: 512, n: 384, k: 128, alpha: 1},
		{transB: true, m: 256, n: 1024, k: 128, alpha: 1},
		{transB: true, m: 512, n: 128, k: 384, alpha: 1, beta: 1},
		{transA: true, m: 128, n: 384, k: 1024, alpha: 1, beta: 1},
		{transA: true, transB: true, m: 100, n: 300, k: 257, alpha: 0.5, beta: -1},
		{m: 600, n: 300, k: 200, alpha: 1, beta: 0.5},    // many strips: B packed
		{m: 100, n: 256, k: 100, alpha: 1},               // ldb = 256: B packed
		{m: 5, n: 700, k: 300, alpha: 1},                 // too few rows: split on columns
		{transA: true, m: 12, n: 1000, k: 100, alpha: 1}, // idem
	} {
		d := newGemmData(r, tc)
		ref := newRef64(tc, d)
		for _, threads := range []int{1, 2, 3} {
			ref.check(t, runCase(activeKernel(), threads, tc, d))
		}
	}
}

func TestGemmDegenerate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, kern := range kernelsUnderTest(t) {
		for _, tc := range []gemmCase{
			{m: 7, n: 5, k: 0, alpha: 1, beta: 0, nanC: true}, // C = 0
			{m: 7, n: 5, k: 0, alpha: 1, beta: 0.5},           // C = beta*C
			{m: 7, n: 5, k: 3, alpha: 0, beta: 2},             // alpha = 0
			{m: 7, n: 5, k: 3, alpha: 0, beta: 0, nanC: true},
			{m: 7, n: 5, k: 3, alpha: 1, beta: float32(math.Copysign(0, -1)), nanC: true}, // -0 is 0
		} {
			d := newGemmData(r, tc)
			check64(t, tc, d, runCase(kern, 2, tc, d))
		}
		// Empty products do nothing, even with nil slices.
		Gemm(false, false, 0, 5, 3, 1, nil, 3, nil, 5, 0, nil, 5)
		Gemm(true, true, 4, 0, 3, 1, nil, 4, nil, 3, 0, nil, 1)
	}
}

func TestGemmPanicsOnBadArguments(t *testing.T) {
	a, b, c := make([]float32, 12), make([]float32, 12), make([]float32, 16)
	for name, f := range map[string]func(){
		"short A":        func() { Gemm(false, false, 4, 4, 4, 1, a, 4, b, 4, 0, c, 4) },
		"short B":        func() { Gemm(false, false, 3, 4, 4, 1, a, 4, b, 4, 0, c, 4) },
		"short C":        func() { Gemm(false, false, 4, 5, 2, 1, a, 2, b, 5, 0, c, 5) },
		"small lda":      func() { Gemm(false, false, 2, 2, 4, 1, a, 3, b, 2, 0, c, 2) },
		"small ldb (T)":  func() { Gemm(false, true, 2, 2, 4, 1, a, 4, b, 3, 0, c, 2) },
		"small ldc":      func() { Gemm(false, false, 2, 4, 2, 1, a, 2, b, 4, 0, c, 3) },
		"negative m":     func() { Gemm(false, false, -1, 4, 2, 1, a, 2, b, 4, 0, c, 4) },
		"serial short A": func() { GemmSerial(true, false, 4, 4, 4, 1, a, 4, b, 4, 0, c, 4) },
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

// TestGemmKernelsAgree checks that the SIMD kernels give bit-identical
// results (they all run the same fused multiply-add chain per element), so a
// run is reproducible across x86 machines with and without AVX-512.
func TestGemmKernelsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	var simd []*microKernel
	for _, k := range supportedKernels() {
		if k != genericKernel {
			simd = append(simd, k)
		}
	}
	if len(simd) < 2 {
		t.Skipf("only %d SIMD kernel(s) on this CPU", len(simd))
	}
	for range 40 {
		tc := randomCase(r)
		d := newGemmData(r, tc)
		want := runCase(simd[0], 1, tc, d)
		for _, k := range simd[1:] {
			if got := runCase(k, 2, tc, d); !bitEqual(got, want) {
				t.Errorf("%v: %s and %s differ", tc, k.name, simd[0].name)
			}
		}
	}
}

// TestGemmDeterministic checks that repeated calls, any thread count and
// GemmSerial all give bit-identical results, for every kernel.
func TestGemmDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	cases := []gemmCase{
		{m: 300, n: 200, k: 700, alpha: 1, beta: 0.5},                // split on rows, two k blocks
		{m: 600, n: 300, k: 200, alpha: 1},                           // B packed
		{transB: true, m: 130, n: 1000, k: 96, alpha: 1},             // several column blocks
		{transA: true, m: 64, n: 96, k: 2000, alpha: 1, beta: 1},     // dW-like
		{transA: true, transB: true, m: 9, n: 900, k: 130, alpha: 2}, // split on columns
	}
	for _, kern := range kernelsUnderTest(t) {
		for _, tc := range cases {
			d := newGemmData(r, tc)
			want := runCase(kern, 0, tc, d)
			for _, threads := range []int{1, 2, 3, 4, 1, 2} {
				if got := runCase(kern, threads, tc, d); !bitEqual(got, want) {
					t.Errorf("%s %v: %d threads differ from GemmSerial", kern.name, tc, threads)
				}
			}
		}
	}
}

func bitEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestGemmSerialDoesNotAllocate checks that a warm GemmSerial call (the
// attention path) allocates nothing.
func TestGemmSerialDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []gemmCase{
		{transB: true, m: 64, n: 64, k: 32, alpha: 1},
		{transA: true, m: 64, n: 32, k: 64, alpha: 1, beta: 1},
		{m: 61, n: 37, k: 64, alpha: 1},
	} {
		d := newGemmData(r, tc)
		allocs := testing.AllocsPerRun(20, func() {
			GemmSerial(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, d.a, d.lda, d.b, d.ldb, tc.beta, d.c, d.ldc)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per GemmSerial call", tc, allocs)
		}
	}
}

func TestGemmRefMatchesFloat64(t *testing.T) {
	// The reference the benchmarks and other packages may lean on is itself
	// checked against float64.
	r := rand.New(rand.NewPCG(13, 14))
	for range 30 {
		tc := randomCase(r)
		d := newGemmData(r, tc)
		c := slices.Clone(d.c)
		gemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, d.a, d.lda, d.b, d.ldb, tc.beta, c, d.ldc)
		check64(t, tc, d, c)
	}
}

// TestGemmSIMDExactOrder checks the SIMD kernels bit for bit against a model
// of the documented per-element computation: per block of kcBlock values of
// k, acc = a chain of fused multiply-adds in increasing k, then
// c = fma(beta, c, alpha*acc) (c = alpha*acc when beta == 0; beta = 1 after
// the first block). This is what makes Gemm's results independent of the
// thread count, the kernel and the position of an element in a tile.
func TestGemmSIMDExactOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	cases := []gemmCase{
		{transB: true, m: 3, n: 5, k: kcBlock + 70, alpha: 0.5, beta: -1},
		{transA: true, m: 9, n: 33, k: 17, padA: 2, padC: 1, alpha: 1, beta: 0, nanC: true},
	}
	for range 12 {
		tc := randomCase(r)
		tc.m, tc.n, tc.k = 1+r.IntN(40), 1+r.IntN(40), 1+r.IntN(40)
		cases = append(cases, tc)
	}
	for _, tc := range cases {
		d := newGemmData(r, tc)
		want := slices.Clone(d.c)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				c := &want[i*d.ldc+j]
				for pc := 0; pc < tc.k; pc += kcBlock {
					var acc float32
					for p := pc; p < min(pc+kcBlock, tc.k); p++ {
						var av, bv float32
						if tc.transA {
							av = d.a[p*d.lda+i]
						} else {
							av = d.a[i*d.lda+p]
						}
						if tc.transB {
							bv = d.b[j*d.ldb+p]
						} else {
							bv = d.b[p*d.ldb+j]
						}
						acc = fma32(av, bv, acc)
					}
					switch {
					case pc > 0:
						*c = fma32(1, *c, tc.alpha*acc)
					case tc.beta == 0:
						*c = tc.alpha * acc
					default:
						*c = fma32(tc.beta, *c, tc.alpha*acc)
					}
				}
			}
		}
		for _, kern := range supportedKernels() {
			if kern == genericKernel {
				continue
			}
			if got := runCase(kern, 2, tc, d); !bitEqual(got, want) {
				t.Errorf("%s %v: differs from the model of its operation order", kern.name, tc)
			}
		}
	}
}
