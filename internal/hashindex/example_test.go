package hashindex_test

import (
	"fmt"

	"github.com/proxykit/proxykit/internal/hashindex"
)

// Names indexed by position, with the index's answers checked against the
// names themselves, as a caller must.
func Example() {
	names := []string{"KUBE-SERVICES", "KUBE-NODEPORTS"}
	var x hashindex.Index
	for i, n := range names {
		x.Insert(hashindex.String(n), int32(i))
	}
	lookup := func(n string) bool {
		i, ok := x.Get(hashindex.String(n))
		return ok && names[i] == n
	}
	fmt.Println(lookup("KUBE-NODEPORTS"), lookup("KUBE-MARK-MASQ"))
	// Output: true false
}
