package kernels

// genericKernel is the portable pure-Go micro-kernel: a 4×4 register tile
// over packed A and B. It runs on every architecture and is what Gemm uses
// when the CPU has no supported SIMD kernel (or under the purego build tag).
var genericKernel = &microKernel{name: "generic4x4", mr: 4, nr: 4, run: kernGeneric4x4, packB: packB}

// kernGeneric4x4 implements microKernel.run for a 4×4 tile; A must be a
// packed strip (rsA == 1, csA == 4) and B packed panels (rsB == 4,
// psB == 4*kb).
func kernGeneric4x4(kb int, a []float32, _, _ int, b []float32, _, _ int, c []float32, ldc, np int, alpha, beta float32, accum bool) {
	a = a[:4*kb]
	for t := 0; t < np; t++ {
		bp := b[t*4*kb : (t+1)*4*kb]
		ap := a
		var c00, c01, c02, c03 float32
		var c10, c11, c12, c13 float32
		var c20, c21, c22, c23 float32
		var c30, c31, c32, c33 float32
		for len(ap) >= 4 && len(bp) >= 4 {
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			a0 := ap[0]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 := ap[1]
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			a2 := ap[2]
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			a3 := ap[3]
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
			ap, bp = ap[4:], bp[4:]
		}
		ct := c[t*4:]
		store4(ct[0*ldc:0*ldc+4], c00, c01, c02, c03, alpha, beta, accum)
		store4(ct[1*ldc:1*ldc+4], c10, c11, c12, c13, alpha, beta, accum)
		store4(ct[2*ldc:2*ldc+4], c20, c21, c22, c23, alpha, beta, accum)
		store4(ct[3*ldc:3*ldc+4], c30, c31, c32, c33, alpha, beta, accum)
	}
}

// store4 writes alpha*acc (+ beta*c when accum) into one row of a tile.
func store4(c []float32, x0, x1, x2, x3, alpha, beta float32, accum bool) {
	c = c[:4]
	x0, x1, x2, x3 = alpha*x0, alpha*x1, alpha*x2, alpha*x3
	if accum {
		x0 += beta * c[0]
		x1 += beta * c[1]
		x2 += beta * c[2]
		x3 += beta * c[3]
	}
	c[0], c[1], c[2], c[3] = x0, x1, x2, x3
}
