package ipvs

import (
	"maps"
	"slices"
)

// entrySet holds a set's entries as a sorted run (compareEntries order, no
// duplicates), which clones share and nobody writes, plus overlays of the
// entries added and deleted since, merged into a new run once they grow. A
// bulk load sorts once; comparing two sets walks two slices; a single change
// costs a map operation, whatever the size of the set.
type entrySet struct {
	base []SetEntry
	add  map[SetEntry]struct{} // entries not in base
	del  map[SetEntry]struct{} // entries of base that are gone
}

// bulkMin is the batch size from which IPSet.Add sorts and merges, and the
// overlay size below which it is never merged.
const bulkMin = 64

func (s *entrySet) len() int { return len(s.base) - len(s.del) + len(s.add) }

func (s *entrySet) inBase(e SetEntry) bool {
	_, ok := slices.BinarySearchFunc(s.base, e, compareEntries)
	return ok
}

func (s *entrySet) has(e SetEntry) bool {
	if _, ok := s.add[e]; ok {
		return true
	}
	if _, ok := s.del[e]; ok {
		return false
	}
	return s.inBase(e)
}

// insert adds e and reports whether it was absent.
func (s *entrySet) insert(e SetEntry) bool {
	if _, ok := s.add[e]; ok {
		return false
	}
	if _, ok := s.del[e]; ok {
		delete(s.del, e)
		return true
	}
	if s.inBase(e) {
		return false
	}
	s.note(&s.add, e)
	return true
}

// remove deletes e and reports whether it was present.
func (s *entrySet) remove(e SetEntry) bool {
	if _, ok := s.add[e]; ok {
		delete(s.add, e)
		return true
	}
	if _, ok := s.del[e]; ok || !s.inBase(e) {
		return false
	}
	s.note(&s.del, e)
	return true
}

// note puts e in an overlay.
func (s *entrySet) note(overlay *map[SetEntry]struct{}, e SetEntry) {
	if *overlay == nil {
		*overlay = map[SetEntry]struct{}{}
	}
	(*overlay)[e] = struct{}{}
	s.maybeCompact()
}

// maybeCompact merges the overlays into a new run once they hold a quarter
// of the run: amortised, a change costs O(1) entry copies.
func (s *entrySet) maybeCompact() {
	if n := len(s.add) + len(s.del); n >= bulkMin && 4*n >= len(s.base) {
		s.base, s.add, s.del = s.view(), nil, nil
	}
}

// view returns the entries in order: the shared run itself when there is
// no overlay (the caller must not write it), else a new slice.
func (s *entrySet) view() []SetEntry {
	if len(s.add) == 0 && len(s.del) == 0 {
		return s.base
	}
	adds := make([]SetEntry, 0, len(s.add))
	for e := range s.add {
		adds = append(adds, e)
	}
	sortEntries(adds)
	out := make([]SetEntry, 0, s.len())
	for _, e := range s.base {
		if _, gone := s.del[e]; !gone {
			out = append(out, e)
		}
	}
	return mergeSorted(out, adds)
}

// union adds es (which it may reorder and keep).
func (s *entrySet) union(es []SetEntry) {
	sortEntries(es)
	es = dedupSorted(es, nil)
	if s.len() == 0 {
		s.base, s.add, s.del = es, nil, nil
		return
	}
	s.base, s.add, s.del = dedupSorted(mergeSorted(s.view(), es), nil), nil, nil
}

func (s *entrySet) clone() entrySet {
	return entrySet{base: s.base, add: maps.Clone(s.add), del: maps.Clone(s.del)}
}

func (s *entrySet) equal(o *entrySet) bool {
	if s == o {
		return true
	}
	if s.len() != o.len() {
		return false
	}
	a, b := s.view(), o.view()
	return sameRun(a, b) || slices.Equal(a, b)
}

// sameRun reports whether a and b are the same slice.
func sameRun(a, b []SetEntry) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// diffEntries returns, in order, the entries of des that cur lacks and those
// of cur that des lacks: one walk of two sorted runs.
func diffEntries(cur, des *entrySet) (adds, dels []SetEntry) {
	if cur == des {
		return nil, nil
	}
	if len(cur.base) > 0 && sameRun(cur.base, des.base) {
		return diffOverlays(cur, des)
	}
	a, b := cur.view(), des.view()
	if sameRun(a, b) {
		return nil, nil
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, y := &a[i], &b[j]
		switch {
		case *x == *y:
			i++
			j++
		case compareEntries(*x, *y) < 0:
			dels = append(dels, *x)
			i++
		default:
			adds = append(adds, *y)
			j++
		}
	}
	return append(adds, b[j:]...), append(dels, a[i:]...)
}

// diffOverlays is diffEntries for two sets that share their run (one a
// clone of the other): only what their overlays name can differ.
func diffOverlays(cur, des *entrySet) (adds, dels []SetEntry) {
	seen := map[SetEntry]struct{}{}
	for _, m := range []map[SetEntry]struct{}{cur.add, cur.del, des.add, des.del} {
		for e := range m {
			if !insertNew(seen, e) {
				continue
			}
			switch inCur, inDes := cur.has(e), des.has(e); {
			case inDes && !inCur:
				adds = append(adds, e)
			case inCur && !inDes:
				dels = append(dels, e)
			}
		}
	}
	slices.SortFunc(adds, compareEntries)
	slices.SortFunc(dels, compareEntries)
	return adds, dels
}

// mergeSorted merges two sorted runs into a new one (duplicates kept).
func mergeSorted(a, b []SetEntry) []SetEntry {
	switch {
	case len(b) == 0:
		return a
	case len(a) == 0:
		return b
	}
	out := make([]SetEntry, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if compareEntries(a[i], b[j]) <= 0 {
			out = append(out, a[i])
			i++
		} else {
			out = append(out, b[j])
			j++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// dedupSorted drops repeated entries of a sorted run in place, calling dup
// (when not nil) for each copy dropped.
func dedupSorted(es []SetEntry, dup func(SetEntry)) []SetEntry {
	if len(es) < 2 {
		return es
	}
	n := 1
	for i := 1; i < len(es); i++ {
		if es[i] == es[n-1] {
			if dup != nil {
				dup(es[i])
			}
			continue
		}
		if n != i {
			es[n] = es[i]
		}
		n++
	}
	return es[:n:n]
}
