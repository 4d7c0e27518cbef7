//go:build !race

package kernels

// raceEnabled reports whether the race detector is on.
const raceEnabled = false
