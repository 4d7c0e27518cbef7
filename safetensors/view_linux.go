package safetensors

import (
	"os"

	"golang.org/x/sys/unix"
)

var pageSize = int64(os.Getpagesize())

// mapView maps n bytes at absolute file offset pos, populating the page
// tables at once (MAP_POPULATE: one system call instead of a fault per
// few pages).
func (f *File) mapView(pos int64, n int) (View, bool) {
	start := pos &^ (pageSize - 1)
	m, err := unix.Mmap(int(f.f.Fd()), start, int(pos-start)+n, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return View{}, false
	}
	return View{Data: m[pos-start:][:n:n], mapping: m}, true
}

// Release unmaps a mapped View; it does nothing for a buffer.
func (v *View) Release() error {
	if v.mapping == nil {
		return nil
	}
	m := v.mapping
	v.mapping, v.Data = nil, nil
	return unix.Munmap(m)
}
