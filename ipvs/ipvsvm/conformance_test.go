package ipvsvm

import (
	"testing"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/ipvs/ipvstest"
)

// TestRealConformance runs the suite the Fake passes against the kernel.
func TestRealConformance(t *testing.T) {
	ipvstest.Run(t, func(t *testing.T) ipvstest.Opener {
		ns := newNS(t)
		return func(t *testing.T, opts ipvs.Options) ipvs.Kernel { return ns.open(t, opts) }
	})
}
