package kernels

// Gemm computes C = alpha*op(A)*op(B) + beta*C, where op(X) is X or its
// transpose, op(A) is m×k, op(B) is k×n and C is m×n. Matrices are row-major
// with leading dimensions lda, ldb and ldc. With beta == 0, C is overwritten
// and its previous contents (even NaN) are ignored. Gemm spreads the work over
// Threads() goroutines; call GemmSerial from code that is already parallel.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ParallelFor(m, 16, func(lo, hi int) {
		gemmRef(transA, transB, hi-lo, n, k, alpha, offA(a, transA, lo, lda), lda, b, ldb, beta, c[lo*ldc:], ldc)
	})
}

// GemmSerial is Gemm on the calling goroutine only.
func GemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// offA returns A advanced to output row lo.
func offA(a []float32, transA bool, lo, lda int) []float32 {
	if transA {
		return a[lo:]
	}
	return a[lo*lda:]
}

// gemmRef is the portable reference implementation.
func gemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(ci)
		} else if beta != 1 {
			for j := range ci {
				ci[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var aip float32
			if transA {
				aip = a[p*lda+i]
			} else {
				aip = a[i*lda+p]
			}
			aip *= alpha
			if aip == 0 {
				continue
			}
			if transB {
				for j := 0; j < n; j++ {
					ci[j] += aip * b[j*ldb+p]
				}
			} else {
				bp := b[p*ldb : p*ldb+n]
				for j, v := range bp {
					ci[j] += aip * v
				}
			}
		}
	}
}
