package ipvs

import (
	"runtime"
	"sync"

	"github.com/proxykit/proxykit/rulegen"
)

// parallelMin is the number of ports below which rendering stays on one
// goroutine.
const parallelMin = 256

// chunk is what one goroutine rendered of a run of ports: their
// contributions, one per port or (for a plain Render) summed into one, and
// their set entries by set, each sorted (an entry two ports share repeats).
type chunk struct {
	contribs []*portContrib
	sets     [numSetKeys][]SetEntry
}

// renderChunks renders ports, in runs of consecutive ports on up to
// GOMAXPROCS goroutines (a port's render only reads the renderer). The
// chunks come in the order of ports.
func (r *portRenderer) renderChunks(ports []*rulegen.PortPlan, perPort bool) []chunk {
	workers := max(1, min(runtime.GOMAXPROCS(0), len(ports)/parallelMin))
	out := make([]chunk, workers)
	var wg sync.WaitGroup
	for w := range workers {
		run := ports[w*len(ports)/workers : (w+1)*len(ports)/workers]
		wg.Go(func() { out[w] = r.renderChunk(run, perPort) })
	}
	wg.Wait()
	return out
}

func (r *portRenderer) renderChunk(ports []*rulegen.PortPlan, perPort bool) chunk {
	arena := &vsArena{}
	var ch chunk
	if perPort {
		ch.contribs = make([]*portContrib, len(ports))
		for i, pp := range ports {
			c := &portContrib{name: pp.Name, arena: arena}
			r.renderInto(c, pp)
			c.arena = nil // later changes of this port allocate their own
			ch.contribs[i] = c
		}
		ch.bucket()
	} else {
		c := &portContrib{arena: arena, sets: &ch.sets, services: make([]*VirtualServer, 0, len(ports)+len(ports)/4)}
		eps := 0
		for _, pp := range ports {
			eps += len(pp.ClusterEndpoints)
		}
		ch.sets[keyOf(false, idLoopback)] = make([]SetEntry, 0, eps)
		ch.sets[keyOf(false, idClusterIP)] = make([]SetEntry, 0, len(ports))
		for _, pp := range ports {
			r.renderInto(c, pp)
		}
		c.arena, c.sets = nil, nil
		ch.contribs = []*portContrib{c}
	}
	for k := range ch.sets {
		sortEntries(ch.sets[k])
	}
	return ch
}

// bucket copies the contributions' entries into sets.
func (ch *chunk) bucket() {
	var n [numSetKeys]int
	for _, c := range ch.contribs {
		for _, e := range c.entries {
			n[e.set]++
		}
	}
	for k := range ch.sets {
		ch.sets[k] = make([]SetEntry, 0, n[k])
	}
	for _, c := range ch.contribs {
		for _, e := range c.entries {
			ch.sets[e.set] = append(ch.sets[e.set], e.entry)
		}
	}
}

// addChunks puts rendered chunks into the builder's state, which must be
// empty: the virtual servers and addresses on this goroutine, the set
// entries (merged from the chunks' sorted runs, an entry's repeats counted
// as references) on another.
func (b *builder) addChunks(chunks []chunk) {
	refs := map[setRef]int{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for k, set := range b.r.sets {
			runs := make([][]SetEntry, len(chunks))
			for i := range chunks {
				runs[i] = chunks[i].sets[k]
			}
			es := dedupSorted(mergeRuns(runs), func(e SetEntry) { refs[setRef{e, setKey(k)}]++ })
			set.entries = entrySet{base: es}
		}
	})
	for _, ch := range chunks {
		for _, c := range ch.contribs {
			b.addServices(c)
		}
	}
	wg.Wait()
	for e, n := range refs {
		b.entryRefs[e] += n
	}
}

// mergeRuns merges sorted runs into one, pairwise in rounds.
func mergeRuns(runs [][]SetEntry) []SetEntry {
	if len(runs) == 0 {
		return nil
	}
	for len(runs) > 1 {
		next := runs[:0:0]
		for i := 0; i < len(runs); i += 2 {
			if i+1 < len(runs) {
				next = append(next, mergeSorted(runs[i], runs[i+1]))
			} else {
				next = append(next, runs[i])
			}
		}
		runs = next
	}
	return runs[0]
}
