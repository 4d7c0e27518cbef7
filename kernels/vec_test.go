package kernels

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// vecPaths runs f with the assembly helpers (where this build has them) and
// with the portable ones.
func vecPaths(t *testing.T, f func(t *testing.T)) {
	defer func(old bool) { useVecAsm = old }(useVecAsm)
	paths := []bool{false}
	if useVecAsm {
		paths = append(paths, true)
	}
	for _, asm := range paths {
		useVecAsm = asm
		t.Run(map[bool]string{false: "portable", true: "asm"}[asm], f)
	}
}

var vecLengths = []int{0, 1, 2, 7, 8, 15, 31, 32, 33, 63, 64, 65, 100, 1000, 4097}

func TestDot(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 1))
		for _, n := range vecLengths {
			x, y := randSlice(r, n), randSlice(r, n+3)[:n] // y has spare capacity
			var want, mag float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
				mag += math.Abs(float64(x[i]) * float64(y[i]))
			}
			got := Dot(x, y)
			if tol := float64(n+2) / (1 << 23) * mag; !(math.Abs(float64(got)-want) <= tol) {
				t.Errorf("n=%d: Dot = %g, want %g (tolerance %g)", n, got, want, tol)
			}
			if again := Dot(x, y); math.Float32bits(again) != math.Float32bits(got) {
				t.Errorf("n=%d: Dot not deterministic: %g then %g", n, got, again)
			}
		}
	})
}

func TestAxpyScal(t *testing.T) {
	vecPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(2, 2))
		for _, n := range vecLengths {
			x, y := randSlice(r, n), randSlice(r, n+5)
			y0 := slices.Clone(y)
			Axpy(-1.5, x, y[:n])
			for i := range y {
				want, tol := float64(y0[i]), 0.0
				if i < n {
					want += -1.5 * float64(x[i])
					// One rounding (fused) or two (portable): within an
					// ulp of the largest term.
					tol = 2 * (math.Abs(float64(y0[i])) + 1.5*math.Abs(float64(x[i]))) / (1 << 24)
				}
				if math.Abs(float64(y[i])-want) > tol {
					t.Fatalf("n=%d: Axpy y[%d] = %g, want %g", n, i, y[i], want)
				}
			}
			z := slices.Clone(y0)
			Scal(0.25, z[:n])
			for i := range z {
				want := y0[i]
				if i < n {
					want *= 0.25
				}
				if z[i] != want {
					t.Fatalf("n=%d: Scal z[%d] = %g, want %g", n, i, z[i], want)
				}
			}
		}
	})
}

func TestVecLengthMismatchPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"Dot":  func() { Dot(make([]float32, 3), make([]float32, 4)) },
		"Axpy": func() { Axpy(1, make([]float32, 4), make([]float32, 3)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic on mismatched lengths", name)
				}
			}()
			f()
		}()
	}
}

// BenchmarkVec times Dot, Axpy and Scal on L1-sized (d=256) and
// L2-sized vectors, assembly against portable, in GB/s of inputs read.
func BenchmarkVec(b *testing.B) {
	defer func(old bool) { useVecAsm = old }(useVecAsm)
	r := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{256, 64 * 1024} {
		x, y := randSlice(r, n), randSlice(r, n)
		for _, asm := range []bool{true, false} {
			path := map[bool]string{false: "portable", true: "asm"}[asm]
			var sink float32
			for _, op := range []struct {
				name  string
				bytes int
				f     func()
			}{
				{"Dot", 8 * n, func() { sink += Dot(x, y) }},
				{"Axpy", 8 * n, func() { Axpy(1e-9, x, y) }},
				{"Scal", 4 * n, func() { Scal(1, y) }},
			} {
				b.Run(fmt.Sprintf("%s/n%d/%s", op.name, n, path), func(b *testing.B) {
					useVecAsm = asm && useVecAsmDefault
					b.SetBytes(int64(op.bytes))
					for i := 0; i < b.N; i++ {
						op.f()
					}
				})
			}
			_ = sink
		}
	}
}

// fma32 returns x*y+z rounded once to float32, as a fused multiply-add does
// (x*y is exact in float64; big.Float rounds the sum once to 24 bits).
func fma32(x, y, z float32) float32 {
	p := new(big.Float).SetFloat64(float64(x) * float64(y))
	s := new(big.Float).SetPrec(24).SetMode(big.ToNearestEven)
	s.Add(p, new(big.Float).SetFloat64(float64(z)))
	f, _ := s.Float32()
	return f
}

// TestVecAsmExactOrder checks the assembly Dot and Axpy bit for bit against
// a model of their documented operation order, so that the documented
// determinism (same bits on every x86 CPU with AVX2) rests on a test.
func TestVecAsmExactOrder(t *testing.T) {
	if !useVecAsm {
		t.Skip("no assembly vector helpers on this CPU/build")
	}
	r := rand.New(rand.NewPCG(4, 4))
	for _, n := range vecLengths {
		x, y := randSlice(r, n), randSlice(r, n)
		var lanes [32]float32
		n32 := n &^ 31
		for i := 0; i < n32; i++ {
			lanes[i%32] = fma32(x[i], y[i], lanes[i%32])
		}
		for w := 16; w >= 1; w /= 2 {
			for l := 0; l < w; l++ {
				lanes[l] += lanes[l+w]
			}
		}
		want := lanes[0]
		for i := n32; i < n; i++ {
			want = fma32(x[i], y[i], want)
		}
		if got := Dot(x, y); math.Float32bits(got) != math.Float32bits(want) {
			t.Errorf("n=%d: Dot = %g, model of its order gives %g", n, got, want)
		}
		z := slices.Clone(y)
		Axpy(0.3, x, z)
		for i := range z {
			if w := fma32(0.3, x[i], y[i]); math.Float32bits(z[i]) != math.Float32bits(w) {
				t.Fatalf("n=%d: Axpy y[%d] = %g, fused model gives %g", n, i, z[i], w)
			}
		}
	}
}
