package ipvs

import (
	"slices"
	"sync"

	"github.com/proxykit/proxykit/internal/parallel"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// parallelMin is the number of ports below which rendering stays on one
// goroutine.
const parallelMin = 256

// chunk is what one goroutine rendered of a run of ports: their
// contributions, one per port or (for a plain Render) summed into one, and
// their set entries by set (an entry two ports share repeats).
type chunk struct {
	contribs []*portContrib
	at       []portAt // per contribution, when one per port
	sets     [numSetKeys][]SetEntry
}

// loopKeys are the hairpin sets, an entry per cluster endpoint: the big
// ones.
var loopKeys = [2]setKey{keyOf(false, idLoopback), keyOf(true, idLoopback)}

// renderChunks renders every service port of plan, in runs of consecutive
// names on up to GOMAXPROCS goroutines (a port's render only reads the
// renderer and the plan). The chunks come in the order of names.
// The hairpin entries of all chunks go to one buffer per family, a region
// each, where addChunks sorts them in place.
func (r *portRenderer) renderChunks(plan *rulegen.Plan, perPort bool) ([]chunk, [2][]SetEntry) {
	sps := plan.ServicePlans()
	workers := parallel.Workers(len(sps), parallelMin)
	out := make([]chunk, workers)
	runs := make([][]*rulegen.PortPlan, workers)
	eps := make([][2]int, workers) // cluster endpoints per goroutine and family
	parallel.Split(len(sps), workers, func(w, lo, hi int) {
		runs[w], out[w].at = portsOf(sps[lo:hi], perPort)
		for _, pp := range runs[w] {
			i := 0
			if pp.Family == servicemodel.IPv6 {
				i = 1
			}
			eps[w][i] += len(pp.ClusterEndpoints)
		}
	})
	var loops [2][]SetEntry
	for i, k := range loopKeys {
		total := 0
		for _, n := range eps {
			total += n[i]
		}
		loops[i] = make([]SetEntry, total)
		off := 0
		for w, n := range eps {
			out[w].sets[k] = loops[i][off : off : off+n[i]]
			off += n[i]
		}
	}
	parallel.Each(workers, func(w int) { r.renderChunk(&out[w], runs[w], perPort) })
	return out, loops
}

// parallel runs f(0..n-1) on n goroutines and waits for them.
func (r *portRenderer) renderChunk(ch *chunk, ports []*rulegen.PortPlan, perPort bool) {
	arena := &vsArena{}
	if perPort {
		ch.contribs = make([]*portContrib, len(ports))
		for i, pp := range ports {
			c := &portContrib{name: pp.Name, arena: arena}
			r.renderInto(c, pp)
			c.arena = nil // later changes of this port allocate their own
			ch.contribs[i] = c
		}
		ch.bucket()
		return
	}
	c := &portContrib{arena: arena, sets: &ch.sets, services: make([]*VirtualServer, 0, len(ports)+len(ports)/4)}
	ch.sets[keyOf(false, idClusterIP)] = make([]SetEntry, 0, len(ports))
	for _, pp := range ports {
		r.renderInto(c, pp)
	}
	c.arena, c.sets = nil, nil
	ch.contribs = []*portContrib{c}
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
		if ch.sets[k] == nil {
			ch.sets[k] = make([]SetEntry, 0, n[k])
		}
	}
	for _, c := range ch.contribs {
		for _, e := range c.entries {
			ch.sets[e.set] = append(ch.sets[e.set], e.entry)
		}
	}
}

// addChunks puts rendered chunks into the builder's state, which must be
// empty: the virtual servers and addresses on this goroutine, the set
// entries (sorted, an entry's repeats counted as references) on another.
func (b *builder) addChunks(chunks []chunk, loops [2][]SetEntry) {
	refs := map[setRef]int{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for k, set := range b.r.sets {
			parts := make([][]SetEntry, len(chunks))
			for i := range chunks {
				parts[i] = chunks[i].sets[k]
			}
			var es []SetEntry
			if i := slices.Index(loopKeys[:], setKey(k)); i >= 0 {
				es = joinRegions(loops[i], parts)
			} else {
				es = slices.Concat(parts...)
			}
			sortEntries(es)
			es = dedupSorted(es, func(e SetEntry) { refs[setRef{e, setKey(k)}]++ })
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

// joinRegions returns the parts, consecutive regions of buf as
// renderChunks carves them, moved together at its start (over the room a
// part left unused); a new slice if a part left its region.
func joinRegions(buf []SetEntry, parts [][]SetEntry) []SetEntry {
	all := buf[:cap(buf)]
	n, off := 0, 0
	for _, p := range parts {
		if cap(p) > 0 && (off >= len(all) || &p[:1][0] != &all[off]) {
			return slices.Concat(parts...)
		}
		n += copy(all[n:], p)
		off += cap(p)
	}
	return all[:n:n]
}
