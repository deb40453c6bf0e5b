package parallel

import (
	"sync/atomic"
	"testing"
)

// TestSplitCoversOnce: the ranges cover every item exactly once, in order
// of k, for any number of workers; Each calls every k once.
func TestSplitCoversOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		for _, workers := range []int{1, 2, 3, 8} {
			seen := make([]atomic.Int32, n)
			lows := make([]int, workers)
			Split(n, workers, func(k, lo, hi int) {
				lows[k] = lo
				for i := lo; i < hi; i++ {
					seen[i].Add(1)
				}
			})
			for i := range seen {
				if seen[i].Load() != 1 {
					t.Fatalf("n=%d workers=%d: item %d seen %d times", n, workers, i, seen[i].Load())
				}
			}
			for k := 1; k < workers; k++ {
				if lows[k] < lows[k-1] {
					t.Fatalf("n=%d workers=%d: ranges out of order", n, workers)
				}
			}
		}
	}
	var calls [5]atomic.Int32
	Each(5, func(k int) { calls[k].Add(1) })
	for k := range calls {
		if calls[k].Load() != 1 {
			t.Fatalf("Each called %d %d times", k, calls[k].Load())
		}
	}
	if Workers(10, 100) != 1 || Workers(1<<30, 1) < 1 || Workers(5, 0) < 1 {
		t.Fatal("Workers out of range")
	}
}
