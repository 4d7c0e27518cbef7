//go:build !amd64 || purego

package model

// geluRow is biasGeluForward on one row (portable code).
func geluRow(out, th, x, bias []float32) { geluRowGeneric(out, th, x, bias) }

// expShift replaces every x[j] by e^(x[j]−mx) and returns their sum (portable
// code).
func expShift(x []float32, mx float32) float32 { return expShiftGeneric(x, mx) }

// rowMax returns the largest element of x (portable code).
func rowMax(x []float32) float32 { return rowMaxGeneric(x) }

// scaleRow multiplies x by s in place (portable code).
func scaleRow(x []float32, s float32) { scaleRowGeneric(x, s) }
