package flowtable

import (
	"testing"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/rulegen"
)

func TestCasesAgainstPlan(t *testing.T) {
	snap, err := sample.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	plans := map[string]*rulegen.Plan{}
	for _, v := range Variants() {
		cfg, err := Config(v)
		if err != nil {
			t.Fatal(err)
		}
		if plans[v], err = rulegen.Compile(snap, sample.Node(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range Cases() {
		plan := plans[c.Variant]
		t.Run(c.Name, func(t *testing.T) {
			got := Evaluate(plan, c)
			if !got.Want.Equal(c.Want) {
				t.Errorf("%s\n got: %+v (service %q)", c, got.Want, got.Service)
			}
		})
	}
}

func TestUnknownVariant(t *testing.T) {
	if _, err := Config("bogus"); err == nil {
		t.Fatal("unknown variant accepted")
	}
}
