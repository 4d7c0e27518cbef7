package kernels

// genericKernel is the portable pure-Go micro-kernel: a 4×2 register tile
// over packed A and B. It runs on every architecture and is what Gemm uses
// when the CPU has no supported SIMD kernel (or under the purego build tag).
// The tile is small because the Go compiler keeps at most 15 float values in
// registers on amd64: 8 accumulators, 4 values of A and 2 of B fit, while a
// 4×4 tile spilled and ran at half the speed.
var genericKernel = &microKernel{name: "generic4x2", mr: 4, nr: 2, run: kernGeneric4x2, packB: packB}

// kernGeneric4x2 implements microKernel.run for a 4×2 tile; A must be a
// packed strip (rsA == 1, csA == 4) and B packed panels (rsB == 2,
// psB == 2*kb).
func kernGeneric4x2(kb int, a []float32, _, _ int, b []float32, _, _ int, c []float32, ldc, np int, alpha, beta float32, accum bool) {
	a = a[:4*kb]
	for t := 0; t < np; t++ {
		bp := b[t*2*kb : (t+1)*2*kb]
		var c00, c01, c10, c11, c20, c21, c30, c31 float32
		for p := 0; p < kb; p++ {
			av := a[4*p : 4*p+4 : 4*p+4]
			bv := bp[2*p : 2*p+2 : 2*p+2]
			b0, b1 := bv[0], bv[1]
			a0 := av[0]
			c00 += a0 * b0
			c01 += a0 * b1
			a1 := av[1]
			c10 += a1 * b0
			c11 += a1 * b1
			a2 := av[2]
			c20 += a2 * b0
			c21 += a2 * b1
			a3 := av[3]
			c30 += a3 * b0
			c31 += a3 * b1
		}
		ct := c[t*2:]
		store2(ct[0*ldc:0*ldc+2], c00, c01, alpha, beta, accum)
		store2(ct[1*ldc:1*ldc+2], c10, c11, alpha, beta, accum)
		store2(ct[2*ldc:2*ldc+2], c20, c21, alpha, beta, accum)
		store2(ct[3*ldc:3*ldc+2], c30, c31, alpha, beta, accum)
	}
}

// store2 writes alpha*acc (+ beta*c when accum) into one row of a tile.
func store2(c []float32, x0, x1, alpha, beta float32, accum bool) {
	c = c[:2]
	x0, x1 = alpha*x0, alpha*x1
	if accum {
		x0 += beta * c[0]
		x1 += beta * c[1]
	}
	c[0], c[1] = x0, x1
}
