// Package parallel spreads a loop over the CPUs: the renderers and diffs of
// iptables and ipvs split their ports or chains into one consecutive range
// per goroutine, and stay on the calling goroutine when the work is small.
package parallel

import (
	"runtime"
	"sync"
)

// Workers returns how many goroutines should share n items when each
// should get at least minPer: 1 for small work, at most GOMAXPROCS.
func Workers(n, minPer int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/max(minPer, 1)))
}

// Split calls fn(k, lo, hi) for k < workers on consecutive ranges covering
// [0, n), each on its own goroutine when workers > 1, and waits.
func Split(n, workers int, fn func(k, lo, hi int)) {
	if workers <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() { fn(k, n*k/workers, n*(k+1)/workers) })
	}
	wg.Wait()
}

// Each calls fn(k) for k < n, each on its own goroutine when n > 1, and
// waits.
func Each(n int, fn func(k int)) {
	Split(n, n, func(k, _, _ int) { fn(k) })
}
