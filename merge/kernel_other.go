//go:build !amd64

package merge

// setKernels exists for the tests; only the Go kernels exist here.
func setKernels(bool) {}

var useAVX2 = false
