package iptables

import (
	"runtime"
	"sync"
)

// splitWorkers returns how many goroutines should share n items when each
// should get at least minPer: 1 for small work, at most GOMAXPROCS.
func splitWorkers(n, minPer int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/minPer))
}

// forSplit calls fn(k, lo, hi) for k < workers on consecutive ranges
// covering [0, n), each on its own goroutine when workers > 1, and waits.
func forSplit(n, workers int, fn func(k, lo, hi int)) {
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
