package parallel_test

import (
	"fmt"

	"github.com/proxykit/proxykit/internal/parallel"
)

// Summing a slice in one range per goroutine, each writing its own slot.
func Example() {
	xs := make([]int, 10000)
	for i := range xs {
		xs[i] = i
	}
	workers := parallel.Workers(len(xs), 1024)
	sums := make([]int, workers)
	parallel.Split(len(xs), workers, func(k, lo, hi int) {
		for _, x := range xs[lo:hi] {
			sums[k] += x
		}
	})
	total := 0
	for _, s := range sums {
		total += s
	}
	fmt.Println(total)
	// Output: 49995000
}
