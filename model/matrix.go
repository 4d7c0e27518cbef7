package model

import (
	"fmt"

	"github.com/warm-rm/warm/kernels"
)

// Matrix is a weight matrix in PyTorch's Linear layout, Rows × Cols (out ×
// in), row-major, as a checkpoint stores it. It holds float32 values (F32)
// or 16-bit ones (H, in format Half), which the GEMM widens to float32 as
// it packs them: a BF16 checkpoint stays at 2 bytes a weight in memory and
// every product is computed in float32, bit-identical to widening the whole
// matrix first.
type Matrix struct {
	Rows, Cols int
	F32        []float32
	Half       kernels.Half
	H          []uint16
}

// check reports a Matrix whose storage does not match its shape.
func (w *Matrix) check(name string) error {
	n := w.Rows * w.Cols
	switch {
	case w.Rows <= 0 || w.Cols <= 0:
		return fmt.Errorf("model: %s has shape [%d %d]", name, w.Rows, w.Cols)
	case w.H != nil && w.F32 != nil:
		return fmt.Errorf("model: %s holds both float32 and 16-bit values", name)
	case w.H != nil && (w.Half != kernels.BF16 && w.Half != kernels.F16):
		return fmt.Errorf("model: %s has 16-bit values of unknown format %v", name, w.Half)
	case w.H != nil && len(w.H) != n, w.H == nil && len(w.F32) != n:
		return fmt.Errorf("model: %s is [%d %d] but holds %d values", name, w.Rows, w.Cols, max(len(w.H), len(w.F32)))
	}
	return nil
}

// Bytes is the memory the values take.
func (w *Matrix) Bytes() int64 {
	if w.H != nil {
		return 2 * int64(len(w.H))
	}
	return 4 * int64(len(w.F32))
}

// mul sets out ([N, Rows]) = inp ([N, Cols]) · Wᵀ.
func (w *Matrix) mul(out, inp []float32, N int) {
	if w.H != nil {
		kernels.GemmHalfBT(w.Half, N, w.Rows, w.Cols, 1, inp, w.Cols, w.H, w.Cols, 0, out, w.Rows)
		return
	}
	kernels.Gemm(false, true, N, w.Rows, w.Cols, 1, inp, w.Cols, w.F32, w.Cols, 0, out, w.Rows)
}

// row writes row i, widened, into dst (Cols floats).
func (w *Matrix) row(i int, dst []float32) {
	if w.H != nil {
		w.Half.WidenInto(dst[:w.Cols], w.H[i*w.Cols:(i+1)*w.Cols])
		return
	}
	copy(dst[:w.Cols], w.F32[i*w.Cols:(i+1)*w.Cols])
}
