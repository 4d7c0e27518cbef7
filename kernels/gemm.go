package kernels

import "fmt"

// Gemm computes C = alpha*op(A)*op(B) + beta*C, where op(X) is X or its
// transpose, op(A) is m×k, op(B) is k×n and C is m×n. Matrices are row-major
// with leading dimensions lda, ldb and ldc. With beta == 0, C is overwritten
// and its previous contents (even NaN) are ignored. Gemm spreads the work over
// Threads() goroutines; call GemmSerial from code that is already parallel.
//
// The result is bit-identical for the same inputs whatever Threads() is, and
// equal to GemmSerial's: the work is split over rows or columns of C only,
// never over k, and every element of C is computed by the same sequence of
// operations wherever it falls in a tile.
//
// Gemm panics if a slice is too short for its shape or a leading dimension is
// smaller than its row width; both are programming errors.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(activeKernel(), Threads(), transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSerial is Gemm on the calling goroutine only: it never starts a
// goroutine, so it suits code that is already parallel (per attention head,
// for instance). Its result is bit-identical to Gemm's.
func GemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(activeKernel(), 1, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// serialFlops is the size (m*n*k) under which Gemm stays on the calling
// goroutine: below it, starting goroutines costs more than it saves.
const serialFlops = 96 * 96 * 96

// gemm checks the arguments, handles the cases that need no product, and
// runs the blocked algorithm with kernel kern on up to threads goroutines.
func gemm(kern *microKernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	if float64(m)*float64(n)*float64(k) < serialFlops {
		threads = 1
	}
	runGemm(kern, threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkGemm panics when a dimension is negative, a leading dimension is too
// small, or a slice is too short for the shape it is used with.
func checkGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	checkMatrix("C", m, n, c, ldc)
	if k == 0 || alpha == 0 {
		return
	}
	if transA {
		checkMatrix("A (transposed)", k, m, a, lda)
	} else {
		checkMatrix("A", m, k, a, lda)
	}
	if transB {
		checkMatrix("B (transposed)", n, k, b, ldb)
	} else {
		checkMatrix("B", k, n, b, ldb)
	}
}

// checkMatrix panics unless s holds a rows×cols row-major matrix with leading
// dimension ld (rows, cols > 0).
func checkMatrix(name string, rows, cols int, s []float32, ld int) {
	if ld < cols {
		panic(fmt.Sprintf("kernels: Gemm: %s has leading dimension %d < row width %d", name, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("kernels: Gemm: %s is %d×%d with leading dimension %d and needs %d elements, has %d", name, rows, cols, ld, need, len(s)))
	}
}

// scaleC sets C = beta*C (C = 0 when beta == 0, whatever C held).
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}
