package merge

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/warm-rm/warm/safetensors"
)

// littleEndian reports a little-endian host, where F32 data can be used
// in place.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// worker holds one goroutine's buffers.
type worker struct {
	p       *Plan
	raw     [][]byte    // per member: a read buffer
	data    [][]byte    // per member: the current chunk's raw bytes
	dec     [][]float32 // per member: a decoded block
	srcs    [][]float32
	rawSrcs [][]byte
	tmp     []float32
	acc     []float64
	contrib []int     // members with a non-zero weight
	zero    []int     // members with weight 0 (checked, not summed)
	w64     []float64 // weights of contrib
	w32     []float32
}

// decodeBlock is the number of elements decoded and summed at a time.
const decodeBlock = 8192

func (p *Plan) newWorker() *worker {
	n := len(p.Members)
	w := &worker{p: p, raw: make([][]byte, n), data: make([][]byte, n), dec: make([][]float32, n)}
	for i, m := range p.Members {
		if m.Weight == 0 {
			w.zero = append(w.zero, i)
			continue
		}
		w.contrib = append(w.contrib, i)
		w.w64 = append(w.w64, m.Weight)
		w.w32 = append(w.w32, float32(m.Weight))
	}
	w.srcs = make([][]float32, len(w.contrib))
	w.rawSrcs = make([][]byte, len(w.contrib))
	return w
}

func (w *worker) rawBuf(m, n int) []byte {
	if cap(w.raw[m]) < n {
		w.raw[m] = make([]byte, n)
	}
	return w.raw[m][:n]
}

func (w *worker) process(c chunk, out []byte) error {
	t := c.t
	if c.n == 0 {
		return nil
	}
	if !t.Average {
		return w.copyChunk(c, out)
	}
	n := int(c.n)
	for m, mem := range w.p.Members {
		sz := t.InDTypes[m].Size()
		buf := w.rawBuf(m, n*sz)
		if err := mem.Set.ReadRawAt(t.refs[m], buf, c.lo*int64(sz)); err != nil {
			return fmt.Errorf("%s: %w", mem.Label, err)
		}
		w.data[m] = buf
	}
	if w.p.opts.Accumulate == AccumulateF64 && (t.OutDType == safetensors.F64 || slices.Contains(t.InDTypes, safetensors.F64)) {
		return w.average64(c, out)
	}
	osz := t.OutDType.Size()
	// Members all BF16 (or all F16) are summed straight from their bytes.
	fused := safetensors.DType("")
	if w.p.opts.Accumulate == AccumulateF64 {
		fused = t.InDTypes[w.contrib[0]]
		for _, m := range w.contrib {
			if t.InDTypes[m] != fused {
				fused = ""
			}
		}
	}
	for b0 := 0; b0 < n; b0 += decodeBlock {
		bn := min(decodeBlock, n-b0)
		if fused == safetensors.BF16 || fused == safetensors.F16 {
			for k, m := range w.contrib {
				w.rawSrcs[k] = w.data[m][2*b0 : 2*(b0+bn)]
			}
		} else {
			for k, m := range w.contrib {
				w.srcs[k] = w.view(m, t.InDTypes[m], b0, bn)
			}
		}
		direct := t.OutDType == safetensors.F32 && littleEndian
		var dst []float32
		if direct {
			dst = f32s(out[b0*4 : (b0+bn)*4])
		} else {
			if cap(w.tmp) < decodeBlock {
				w.tmp = make([]float32, decodeBlock)
			}
			dst = w.tmp[:bn]
		}
		var bad bool
		switch {
		case w.p.opts.Accumulate == AccumulateF32:
			bad = wsum32(dst, w.srcs, w.w32)
		case fused == safetensors.BF16:
			bad = wsum64BF16(dst, w.rawSrcs, w.w64)
		case fused == safetensors.F16:
			bad = wsum64F16(dst, w.rawSrcs, w.w64)
		default:
			bad = wsum64(dst, w.srcs, w.w64)
		}
		if bad {
			i := nonFinite32(dst)
			return w.nonFinite(c, b0, bn, c.lo+int64(b0+i), float64(dst[i]))
		}
		for _, m := range w.zero {
			if i := nonFinite32(w.view(m, t.InDTypes[m], b0, bn)); i >= 0 {
				return w.nonFinite(c, b0, bn, c.lo+int64(b0+i), math.NaN())
			}
		}
		if !direct {
			o := out[b0*osz : (b0+bn)*osz]
			over := false
			switch t.OutDType {
			case safetensors.BF16:
				over = encodeBF16(o, dst)
			case safetensors.F16:
				over = encodeF16(o, dst)
			default:
				if err := safetensors.EncodeFloat32(t.OutDType, dst, o); err != nil {
					return fmt.Errorf("tensor %q: %w", t.Name, err)
				}
			}
			if over {
				i := overflowed(t.OutDType, o)
				return fmt.Errorf("tensor %q: the average %v at element %d overflows %s; choose a wider output dtype", t.Name, dst[i], c.lo+int64(b0+i), t.OutDType)
			}
		}
	}
	return nil
}

// view returns member m's elements [b0, b0+bn) of the current chunk as
// float32, decoding into the worker's buffer when needed.
func (w *worker) view(m int, dt safetensors.DType, b0, bn int) []float32 {
	sz := dt.Size()
	raw := w.data[m][b0*sz : (b0+bn)*sz]
	if dt == safetensors.F32 && littleEndian {
		return f32s(raw)
	}
	if cap(w.dec[m]) < decodeBlock {
		w.dec[m] = make([]float32, decodeBlock)
	}
	d := w.dec[m][:bn]
	switch dt {
	case safetensors.BF16:
		decodeBF16(d, raw)
	case safetensors.F16:
		decodeF16(d, raw)
	default:
		safetensors.DecodeFloat32(dt, raw, d) // sizes match by construction
	}
	return d
}

// average64 is the general path for F64 inputs or output, summing in
// float64 with the same order and rounding as the fast path.
func (w *worker) average64(c chunk, out []byte) error {
	t := c.t
	n := int(c.n)
	if cap(w.acc) < n {
		w.acc = make([]float64, n)
	}
	acc := w.acc[:n]
	val := func(m, i int) float64 {
		dt := t.InDTypes[m]
		raw := w.data[m]
		switch dt {
		case safetensors.F64:
			return math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
		case safetensors.F32:
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
		case safetensors.BF16:
			return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16))
		default:
			return float64(safetensors.F16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:])))
		}
	}
	for k, m := range w.contrib {
		wm := w.w64[k]
		for i := range acc {
			if k == 0 {
				acc[i] = val(m, i) * wm
			} else {
				acc[i] += float64(val(m, i) * wm)
			}
		}
	}
	for i, v := range acc {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return w.nonFinite(c, 0, n, c.lo+int64(i), v)
		}
	}
	for _, m := range w.zero {
		for i := range n {
			if v := val(m, i); math.IsNaN(v) || math.IsInf(v, 0) {
				return w.nonFinite(c, 0, n, c.lo+int64(i), v)
			}
		}
	}
	osz := t.OutDType.Size()
	f32 := make([]float32, 1)
	for i, v := range acc {
		o := out[i*osz : (i+1)*osz]
		if t.OutDType == safetensors.F64 {
			binary.LittleEndian.PutUint64(o, math.Float64bits(v))
			continue
		}
		f32[0] = float32(v)
		safetensors.EncodeFloat32(t.OutDType, f32, o)
		if overflowed(t.OutDType, o) >= 0 {
			return fmt.Errorf("tensor %q: the average %v at element %d overflows %s; choose a wider output dtype", t.Name, v, c.lo+int64(i), t.OutDType)
		}
	}
	return nil
}

// nonFinite builds the error for a NaN or infinity at element elem (within
// block [b0, b0+bn) of chunk c): it names the member holding a non-finite
// value there, or says the finite members' average overflowed.
func (w *worker) nonFinite(c chunk, b0, bn int, elem int64, avg float64) error {
	t := c.t
	i := int(elem - c.lo)
	for m, mem := range w.p.Members {
		dt := t.InDTypes[m]
		sz := dt.Size()
		one := make([]float32, 1)
		var v float64
		if dt == safetensors.F64 {
			v = math.Float64frombits(binary.LittleEndian.Uint64(w.data[m][8*i:]))
		} else {
			safetensors.DecodeFloat32(dt, w.data[m][sz*i:sz*(i+1)], one)
			v = float64(one[0])
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return &CheckError{Member: mem.Label, Tensor: t.Name, Msg: fmt.Sprintf("value %v at element %d %v; non-finite weights cannot be averaged (nothing was written)", v, elem, unravel(elem, t.Shape))}
		}
	}
	return fmt.Errorf("tensor %q: the weighted average is %v at element %d %v although every member is finite (overflow); nothing was written", t.Name, avg, elem, unravel(elem, t.Shape))
}

// copyChunk copies an integer or bool chunk after checking that every
// member holds the same bytes.
func (w *worker) copyChunk(c chunk, out []byte) error {
	t := c.t
	sz := int64(t.OutDType.Size())
	ms := w.p.Members
	if err := ms[0].Set.ReadRawAt(t.refs[0], out, c.lo*sz); err != nil {
		return fmt.Errorf("%s: %w", ms[0].Label, err)
	}
	for m := 1; m < len(ms); m++ {
		raw := w.rawBuf(m, len(out))
		if err := ms[m].Set.ReadRawAt(t.refs[m], raw, c.lo*sz); err != nil {
			return fmt.Errorf("%s: %w", ms[m].Label, err)
		}
		if !bytes.Equal(raw, out) {
			i := 0
			for raw[i] == out[i] {
				i++
			}
			elem := c.lo + int64(i)/sz
			return &CheckError{Member: ms[m].Label, Tensor: t.Name, Ref: ms[0].Label,
				Msg: fmt.Sprintf("%s tensor differs from the reference at element %d %v; integer and bool tensors are copied, so they must be identical in every member (nothing was written)", t.OutDType, elem, unravel(elem, t.Shape))}
		}
	}
	return nil
}

// overflowed returns the index of the first infinite (or NaN) element of
// F16 or BF16 data, or -1.
func overflowed(dt safetensors.DType, o []byte) int {
	var mask uint16
	switch dt {
	case safetensors.F16:
		mask = 0x7c00
	case safetensors.BF16:
		mask = 0x7f80
	default:
		return -1
	}
	for i := 0; i+1 < len(o); i += 2 {
		if binary.LittleEndian.Uint16(o[i:])&mask == mask {
			return i / 2
		}
	}
	return -1
}

// f32s views little-endian bytes as float32s (no copy).
func f32s(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// unravel turns a flat element index into a multi-dimensional one.
func unravel(i int64, shape []int64) []int64 {
	idx := make([]int64, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			idx[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return idx
}
