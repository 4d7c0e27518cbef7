package kernels

// The vector helpers below run AVX2+FMA assembly on x86 CPUs that have it
// and portable Go elsewhere. They are sequential (call them from inside
// parallel code) and deterministic: the same inputs give the same bits on
// every call, and the assembly gives the same bits on every x86 CPU that has
// AVX2, whatever else it has.

// Dot returns the dot product of x and y, which must have the same length.
// The sum runs in a fixed order: element i goes to partial sum i mod 32, the
// 32 partial sums are added pairwise (i with i+16, then i+8, ...), and the
// last len(x) mod 32 products are added one by one.
func Dot(x, y []float32) float32 {
	if len(x) != len(y) {
		panic("kernels: Dot: slices of different lengths")
	}
	if useVecAsm {
		return dotAsm(x, y)
	}
	return dotGeneric(x, y)
}

// Axpy sets y[i] += alpha*x[i]; x and y must have the same length.
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic("kernels: Axpy: slices of different lengths")
	}
	if useVecAsm {
		axpyAsm(alpha, x, y)
		return
	}
	axpyGeneric(alpha, x, y)
}

// Scal sets x[i] *= alpha.
func Scal(alpha float32, x []float32) {
	if useVecAsm {
		scalAsm(alpha, x)
		return
	}
	scalGeneric(alpha, x)
}

// dotGeneric is Dot in portable Go, in Dot's summation order (with separate
// multiplies and adds, so its last bits may differ from the assembly's). It
// accumulates the 32 partial sums 8 at a time so that they stay in registers.
func dotGeneric(x, y []float32) float32 {
	y = y[:len(x)]
	n := len(x) &^ 31
	var acc [32]float32
	for l := 0; l < 32; l += 8 {
		var s0, s1, s2, s3, s4, s5, s6, s7 float32
		for i := l; i < n; i += 32 {
			xs, ys := x[i:i+8:i+8], y[i:i+8:i+8]
			s0 += xs[0] * ys[0]
			s1 += xs[1] * ys[1]
			s2 += xs[2] * ys[2]
			s3 += xs[3] * ys[3]
			s4 += xs[4] * ys[4]
			s5 += xs[5] * ys[5]
			s6 += xs[6] * ys[6]
			s7 += xs[7] * ys[7]
		}
		acc[l], acc[l+1], acc[l+2], acc[l+3] = s0, s1, s2, s3
		acc[l+4], acc[l+5], acc[l+6], acc[l+7] = s4, s5, s6, s7
	}
	for w := 16; w >= 1; w /= 2 {
		for l := 0; l < w; l++ {
			acc[l] += acc[l+w]
		}
	}
	r := acc[0]
	for i := n; i < len(x); i++ {
		r += x[i] * y[i]
	}
	return r
}

func axpyGeneric(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func scalGeneric(alpha float32, x []float32) {
	for i := range x {
		x[i] *= alpha
	}
}
