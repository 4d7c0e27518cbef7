// Package kernels holds warm's float32 compute kernels: the general matrix
// multiply that dominates every forward and backward pass, and the parallel-for
// helper the rest of the engine uses to spread work over goroutines.
//
// All matrices are row-major float32 slices with an explicit leading
// dimension (the distance, in elements, between the starts of two rows), as in
// CBLAS with CblasRowMajor.
package kernels
