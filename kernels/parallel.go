package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many goroutines the parallel kernels use (at least 1).
// It returns the previous value.
func SetThreads(n int) int {
	if n < 1 {
		n = 1
	}
	return int(threads.Swap(int32(n)))
}

// Threads reports how many goroutines the parallel kernels use.
func Threads() int { return int(threads.Load()) }

// ParallelFor splits [0, n) into contiguous chunks of at least grain items and
// calls fn(lo, hi) for each chunk on up to Threads() goroutines. It returns when
// every call has returned. fn must be safe to call concurrently on disjoint
// ranges. With one thread, or n <= grain, fn(0, n) runs on the caller's
// goroutine.
func ParallelFor(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if grain < 1 {
		grain = 1
	}
	t := Threads()
	chunks := (n + grain - 1) / grain
	if chunks < t {
		t = chunks
	}
	if t <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + t - 1) / t
	for lo := step; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, hi)
	}
	fn(0, min(step, n))
	wg.Wait()
}
