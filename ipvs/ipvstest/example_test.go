package ipvstest_test

import (
	"fmt"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/ipvs/ipvstest"
)

// The suite's sample states, and what it takes to go from one to the other.
func Example() {
	ops := ipvs.Diff(ipvstest.Sample(), ipvstest.Changed(), ipvs.DiffOptions{})
	kinds := map[ipvs.OpKind]int{}
	for _, o := range ops {
		kinds[o.Kind]++
	}
	fmt.Println(len(ipvstest.Sample().Services), "virtual servers;", len(ops), "operations")
	fmt.Println(kinds[ipvs.OpAddService], "added,", kinds[ipvs.OpDelService], "deleted,", kinds[ipvs.OpUpdateService], "updated")
	// Output:
	// 8 virtual servers; 17 operations
	// 2 added, 1 deleted, 1 updated
}
