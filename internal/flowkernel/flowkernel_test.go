package flowkernel

import (
	"fmt"
	"testing"
)

func TestSampleSpecValid(t *testing.T) {
	if err := SampleSpec().Validate(); err != nil {
		t.Fatal(err)
	}
	if probesFor(1) < 4 || probesFor(3) < 30 {
		t.Fatal("too few probes to see every endpoint")
	}
}

func ExampleSampleSpec() {
	spec := SampleSpec()
	fmt.Println(len(spec.Pods), "pods,", len(spec.Clients), "clients, bridge", spec.Node.Bridge)
	// Output: 5 pods, 2 clients, bridge pkbr0
}
