package ipvs_test

import (
	"testing"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/ipvs/ipvstest"
)

func TestFakeConformance(t *testing.T) {
	ipvstest.Run(t, func(t *testing.T) ipvstest.Opener {
		f := ipvs.NewFake(ipvs.Options{})
		return func(t *testing.T, opts ipvs.Options) ipvs.Kernel { return f.Open(opts) }
	})
}
