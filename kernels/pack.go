package kernels

// packA copies rows [i0, i0+rows) and columns [pc, pc+kb) of op(A) into dst
// as an mr-row strip: dst[p*mr+r] = op(A)[i0+r][pc+p]. Rows from rows to mr
// are zero. op(A)[i][p] is a[i*lda+p], or a[p*lda+i] when transA.
func packA(transA bool, a []float32, lda, i0, rows, pc, kb, mr int, dst []float32) {
	dst = dst[:kb*mr]
	if transA {
		for p := 0; p < kb; p++ {
			d := dst[p*mr : p*mr+mr]
			src := a[(pc+p)*lda+i0:]
			copy(d[:rows], src)
			clear(d[rows:])
		}
		return
	}
	if rows < mr {
		clear(dst)
	}
	for r := 0; r < rows; r++ {
		src := a[(i0+r)*lda+pc : (i0+r)*lda+pc+kb]
		for p, v := range src {
			dst[p*mr+r] = v
		}
	}
}

// packB copies rows [pc, pc+kb) and columns [j0, j0+cols) of op(B) into dst
// as one nr-wide panel: dst[p*nr+j] = op(B)[pc+p][j0+j]. Columns from cols to
// nr are zero. op(B)[p][j] is b[p*ldb+j], or b[j*ldb+p] when transB.
func packB(transB bool, b []float32, ldb, pc, kb, j0, cols, nr int, dst []float32) {
	dst = dst[:kb*nr]
	if !transB {
		for p := 0; p < kb; p++ {
			d := dst[p*nr : p*nr+nr]
			copy(d[:cols], b[(pc+p)*ldb+j0:])
			clear(d[cols:])
		}
		return
	}
	if cols < nr {
		clear(dst)
	}
	for j := 0; j < cols; j++ {
		src := b[(j0+j)*ldb+pc : (j0+j)*ldb+pc+kb]
		for p, v := range src {
			dst[p*nr+j] = v
		}
	}
}
