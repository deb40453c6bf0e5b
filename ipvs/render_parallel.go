package ipvs

import (
	"runtime"
	"sync"

	"github.com/proxykit/proxykit/rulegen"
)

// parallelMin is the number of ports below which rendering stays on one
// goroutine.
const parallelMin = 256

// renderAll renders ports on up to GOMAXPROCS goroutines: a port's render
// only reads the renderer (its sets map included), never writes it.
func (r *portRenderer) renderAll(ports []*rulegen.PortPlan) []*portContrib {
	out := make([]*portContrib, len(ports))
	workers := min(runtime.GOMAXPROCS(0), len(ports)/parallelMin)
	if workers <= 1 {
		for i, pp := range ports {
			out[i] = r.render(pp)
		}
		return out
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(ports); i += workers {
				out[i] = r.render(ports[i])
			}
		})
	}
	wg.Wait()
	return out
}

// addAll adds contributions in order, as add does, the set entries on a
// goroutine of their own: they touch the sets and entryRefs only, the rest
// the services, addresses and addrRefs only.
func (b *builder) addAll(cs []*portContrib) {
	if len(cs) < parallelMin {
		for _, c := range cs {
			b.add(c)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, c := range cs {
			b.addEntries(c)
		}
	})
	for _, c := range cs {
		b.addServices(c)
	}
	wg.Wait()
}
