package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchShape is one GEMM shape the model runs. batch > 0 marks an attention
// shape: batch independent problems, each run by GemmSerial inside
// ParallelFor, as the model does per (sequence, head).
type benchShape struct {
	name           string
	transA, transB bool
	m, n, k        int
	beta           float32
	batch          int
}

// benchShapes are warm's GEMMs at d=128 (4 heads of 32) and d=256 (4 heads
// of 64), T=64, with 4096 rows (64 sequences) in the dense layers and 2048
// in the LM head. bench/gemm_compare.sh parses the sub-benchmark names (see
// fullName) to time the same shapes with PyTorch and NumPy.
var benchShapes = []benchShape{
	{name: "d128/fwd_qkv", m: 4096, n: 384, k: 128},
	{name: "d128/fwd_proj", m: 4096, n: 128, k: 128},
	{name: "d128/fwd_mlp_up", m: 4096, n: 512, k: 128},
	{name: "d128/fwd_mlp_down", m: 4096, n: 128, k: 512},
	{name: "d128/lm_head", transB: true, m: 2048, n: 4096, k: 128},
	{name: "d128/bwd_dx_qkv", transB: true, m: 4096, n: 128, k: 384},
	{name: "d128/bwd_dx_mlp_down", transB: true, m: 4096, n: 512, k: 128},
	{name: "d128/bwd_dw_qkv", transA: true, m: 128, n: 384, k: 4096, beta: 1},
	{name: "d128/bwd_dw_mlp_down", transA: true, m: 512, n: 128, k: 4096, beta: 1},
	{name: "d128/attn_qk", transB: true, m: 64, n: 64, k: 32, batch: 256},
	{name: "d128/attn_pv", m: 64, n: 32, k: 64, batch: 256},
	{name: "d128/attn_bwd_dv", transA: true, m: 64, n: 32, k: 64, batch: 256},
	{name: "d128/attn_bwd_dk", transA: true, m: 64, n: 32, k: 64, batch: 256},
	{name: "d128/attn_bwd_dq", m: 64, n: 32, k: 64, batch: 256},
	{name: "d256/fwd_qkv", m: 4096, n: 768, k: 256},
	{name: "d256/fwd_proj", m: 4096, n: 256, k: 256},
	{name: "d256/fwd_mlp_up", m: 4096, n: 1024, k: 256},
	{name: "d256/fwd_mlp_down", m: 4096, n: 256, k: 1024},
	{name: "d256/lm_head", transB: true, m: 2048, n: 4096, k: 256},
	{name: "d256/bwd_dx_qkv", transB: true, m: 4096, n: 256, k: 768},
	{name: "d256/bwd_dw_qkv", transA: true, m: 256, n: 768, k: 4096, beta: 1},
	{name: "d256/attn_qk", transB: true, m: 64, n: 64, k: 64, batch: 256},
	{name: "d256/attn_pv", m: 64, n: 64, k: 64, batch: 256},
	{name: "d256/attn_bwd_dk", transA: true, m: 64, n: 64, k: 64, batch: 256},
}

// layout names a transpose combination as BLAS does: NN, NT, TN or TT.
func layout(transA, transB bool) string {
	s := [2]string{"N", "T"}
	return s[b2i(transA)] + s[b2i(transB)]
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// fullName is the sub-benchmark name of s, such as
// "d128/fwd_qkv/NN_4096x384x128", "d128/attn_qk/NT_64x64x32_b256" or
// "d128/bwd_dw_qkv/TN_128x384x4096_beta1".
func (s benchShape) fullName() string {
	name := fmt.Sprintf("%s/%s_%dx%dx%d", s.name, layout(s.transA, s.transB), s.m, s.n, s.k)
	if s.batch > 0 {
		name += fmt.Sprintf("_b%d", s.batch)
	}
	if s.beta != 0 {
		name += fmt.Sprintf("_beta%g", s.beta)
	}
	return name
}

// BenchmarkGemm times every shape with the SIMD kernel this CPU uses
// ("simd") and the portable one ("portable"), on 1 and 2 threads, and
// reports GFLOP/s (2*m*n*k per product) of wall time. On 1 thread it also
// reports GFLOP/s-cpu, per second of the thread's CPU time, which other
// processes competing for the cores disturb far less.
func BenchmarkGemm(b *testing.B) {
	b.Logf("GEMM kernel: simd = %s (supported: %v)", KernelName(), Kernels())
	kerns := []*microKernel{activeKernel()}
	if kerns[0] != genericKernel {
		kerns = append(kerns, genericKernel)
	}
	for _, s := range benchShapes {
		for _, kern := range kerns {
			label := "simd"
			if kern == genericKernel {
				label = "portable"
			}
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/%s/t%d", s.fullName(), label, threads), func(b *testing.B) {
					benchGemm(b, kern, threads, s)
				})
			}
		}
	}
}

// BenchmarkGemmKernels compares every micro-kernel this CPU supports on the
// dense shapes at 1 thread (used to pick the default kernel).
func BenchmarkGemmKernels(b *testing.B) {
	for _, s := range benchShapes {
		for _, kern := range supportedKernels() {
			if kern == genericKernel {
				continue
			}
			b.Run(s.fullName()+"/"+kern.name, func(b *testing.B) { benchGemm(b, kern, 1, s) })
		}
	}
}

// benchGemm times shape s with kernel kern on threads goroutines.
func benchGemm(b *testing.B, kern *microKernel, threads int, s benchShape) {
	defer SetThreads(SetThreads(threads))
	defer active.Store(active.Swap(kern))
	batch := max(s.batch, 1)
	r := rand.New(rand.NewPCG(1, 1))
	a := randSlice(r, batch*s.m*s.k)
	bm := randSlice(r, batch*s.k*s.n)
	c := randSlice(r, batch*s.m*s.n)
	lda, ldb := s.k, s.n
	if s.transA {
		lda = s.m
	}
	if s.transB {
		ldb = s.k
	}
	run := func() {
		if s.batch == 0 {
			Gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, s.beta, c, s.n)
			return
		}
		ParallelFor(s.batch, 1, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				GemmSerial(s.transA, s.transB, s.m, s.n, s.k, 1, a[i*s.m*s.k:], lda, bm[i*s.k*s.n:], ldb, s.beta, c[i*s.m*s.n:], s.n)
			}
		})
	}
	if threads == 1 {
		// Everything runs on this goroutine: pin it to its thread so that
		// the thread's CPU time measures the work.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
	}
	run()
	cpu0, cpuOK := threadCPUTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run()
	}
	b.StopTimer()
	flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(batch) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu1, _ := threadCPUTime(); threads == 1 && cpuOK && cpu1 > cpu0 {
		b.ReportMetric(flops/(cpu1-cpu0).Seconds()/1e9, "GFLOP/s-cpu")
	}
}

// randSlice returns n uniform values in [-1, 1).
func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}
