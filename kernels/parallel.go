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
	chunks := (n + grain - 1) / grain
	parallelFor(min(Threads(), chunks), n, fn)
}

// parallelFor runs fn over [0, items) split into up to threads contiguous
// ranges of equal size (the last shorter), on the calling goroutine when
// threads is 1, and returns when every call has returned.
func parallelFor(threads, items int, fn func(lo, hi int)) {
	threads = min(threads, items)
	if threads <= 1 {
		fn(0, items)
		return
	}
	var wg sync.WaitGroup
	step := (items + threads - 1) / threads
	for lo := step; lo < items; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+step, items))
	}
	fn(0, min(step, items))
	wg.Wait()
}
