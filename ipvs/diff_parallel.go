package ipvs

import (
	"encoding/binary"

	"github.com/proxykit/proxykit/internal/parallel"
)

// diffServices diffs every virtual server into d. Without graceful
// termination (whose bookkeeping is not shared between goroutines) a large
// state is split by key over up to GOMAXPROCS goroutines, each with its own
// differ: comparing the real servers, which costs a few cache misses per
// virtual server, is most of a full Diff.
func (d *differ) diffServices() {
	cur, des := d.cur.Services, d.des.Services
	workers := parallel.Workers(max(len(cur), len(des)), parallelMin)
	if d.term != nil || workers <= 1 {
		forEachPair(cur, des, d.servicePair)
		return
	}
	parts := make([]differ, workers)
	both := make([]int, workers)
	parallel.Each(workers, func(w int) {
		parts[w] = differ{cur: d.cur, des: d.des, buckets: map[OpKind]Ops{}}
		for k, x := range cur {
			if vsPart(k, workers) == w {
				y, ok := des[k]
				if ok {
					both[w]++
				}
				parts[w].servicePair(k, x, true, y, ok)
			}
		}
	})
	if sum(both) < len(des) { // some are added
		parallel.Each(workers, func(w int) {
			for k, y := range des {
				if vsPart(k, workers) != w {
					continue
				}
				if _, ok := cur[k]; !ok {
					parts[w].servicePair(k, nil, false, y, true)
				}
			}
		})
	}
	for _, p := range parts {
		for kind, ops := range p.buckets {
			d.buckets[kind] = append(d.buckets[kind], ops...)
		}
	}
}

// vsPart spreads virtual server keys over n parts.
func vsPart(k VSKey, n int) int {
	a := k.Addr.As16()
	return int((binary.BigEndian.Uint32(a[12:]) ^ uint32(k.Port) ^ k.FWMark) % uint32(n))
}

func sum(ns []int) int {
	t := 0
	for _, n := range ns {
		t += n
	}
	return t
}
