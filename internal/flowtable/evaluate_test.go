package flowtable

import (
	"testing"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/rulegen"
)

func samplePlan(t *testing.T) *rulegen.Plan {
	t.Helper()
	snap, err := sample.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := rulegen.Compile(snap, sample.Node(), sample.Config())
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

func TestCasesAgainstPlan(t *testing.T) {
	plan := samplePlan(t)
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			got := Evaluate(plan, c)
			if !got.Want.Equal(c.Want) {
				t.Errorf("%s\n got: %+v (service %q)", c, got.Want, got.Service)
			}
		})
	}
}
