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

// addAll adds contributions in order, as add does, on two goroutines that
// touch different maps: the entries of big (the hairpin set, an entry per
// endpoint), and the rest. A shared entry's
// reference count (entryRefs) is kept per goroutine and merged.
func (b *builder) addAll(cs []*portContrib, big *IPSet) {
	if len(cs) < parallelMin {
		for _, c := range cs {
			b.add(c)
		}
		return
	}
	bigRefs := map[setRef]int{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, c := range cs {
			addEntriesOf(c, big, true, bigRefs)
		}
	})
	for _, c := range cs {
		b.addServices(c)
		addEntriesOf(c, big, false, b.entryRefs)
	}
	wg.Wait()
	for e, n := range bigRefs {
		b.entryRefs[e] += n
	}
}
