package safetensors

import "fmt"

// View is a piece of a tensor's data for reading without a copy where the
// platform allows: a read-only memory map of the file (Linux), else the
// bytes read into a buffer. Data is valid until Release.
//
// Reading a mapped View of a file that another process truncated after it
// was opened raises SIGBUS; a goroutine that reads Views should call
// debug.SetPanicOnFault(true) and recover, as the merge does.
type View struct {
	// Data holds the requested bytes.
	Data    []byte
	mapping []byte
}

// Mapped reports whether Data is a memory map (false: a buffer).
func (v *View) Mapped() bool { return v.mapping != nil }

// MinMapBytes is the smallest read that View maps; smaller ones are read
// into the buffer (a mapping costs two system calls and a TLB flush).
const MinMapBytes = 128 << 10

// View returns n bytes of t's data starting off bytes into it (t from this
// file's header). Reads smaller than MinMapBytes, and all reads where
// mapping is unavailable or fails, go into buf (reallocated if too small:
// keep Data of an unmapped View as the next buf).
func (f *File) View(t TensorInfo, off int64, n int, buf []byte) (View, error) {
	if off < 0 || n < 0 || off+int64(n) > t.ByteLen() {
		return View{}, fmt.Errorf("%s: tensor %q: view of %d bytes at %d outside its %d bytes", f.Path, t.Name, n, off, t.ByteLen())
	}
	if n >= MinMapBytes {
		if v, ok := f.mapView(f.DataStart+t.Begin+off, n); ok {
			return v, nil
		}
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if err := f.ReadRawAt(t, buf, off); err != nil {
		return View{}, err
	}
	return View{Data: buf}, nil
}

// View is File.View for a tensor of the Set.
func (s *Set) View(t SetTensor, off int64, n int, buf []byte) (View, error) {
	return s.Files[t.Shard].View(t.TensorInfo, off, n, buf)
}
