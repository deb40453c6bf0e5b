package ipvs

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// randEntry returns an entry from a small space, so that ties and repeats
// are common: IPv4 and IPv6 (sharing a /64), prefixes, ports, second
// addresses, and now and then no address at all.
func randEntry(r *rand.Rand, v6 bool) SetEntry {
	addr := func() netip.Prefix {
		if v6 {
			a := netip.MustParseAddr("fd00::").As16()
			a[14], a[15] = byte(r.IntN(3)), byte(r.IntN(256))
			if r.IntN(8) == 0 {
				a[3] = 1
			}
			return netip.PrefixFrom(netip.AddrFrom16(a), 120+r.IntN(9))
		}
		a := netip.AddrFrom4([4]byte{10, byte(r.IntN(2)), byte(r.IntN(4)), byte(r.IntN(256))})
		return netip.PrefixFrom(a, 24+r.IntN(9))
	}
	var a2 netip.Prefix
	if r.IntN(2) == 0 {
		a2 = addr()
	}
	a := addr()
	if r.IntN(50) == 0 {
		a = netip.Prefix{}
	}
	return NewSetEntry(a, []Protocol{0, TCP, UDP, SCTP}[r.IntN(4)], uint16(r.IntN(3)), a2)
}

// refCompare is the order netip gives: address, protocol, port, second
// address.
func refCompare(a, b SetEntry) int {
	pfx := func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), cmp.Compare(x.Bits(), y.Bits()))
	}
	return cmp.Or(pfx(a.Addr(), b.Addr()), cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port), pfx(a.Addr2(), b.Addr2()))
}

func TestCompareEntriesIsNetipOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		a, b := randEntry(r, r.IntN(2) == 0), randEntry(r, r.IntN(2) == 0)
		if got, want := compareEntries(a, b), refCompare(a, b); got != want {
			t.Fatalf("compare(%v, %v) = %d, want %d", a, b, got, want)
		}
	}
}

func TestSortEntries(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name  string
		n     int
		mixed bool
		v6    bool
	}{{"small", 100, false, false}, {"v4", 5000, false, false}, {"v6", 5000, false, true}, {"mixed", 3000, true, false}} {
		es := make([]SetEntry, tc.n)
		for i := range es {
			es[i] = randEntry(r, tc.v6 || (tc.mixed && r.IntN(2) == 0))
			for !tc.mixed && es[i].fam == 0 { // one family: radix-sorted
				es[i] = randEntry(r, tc.v6)
			}
		}
		want := slices.Clone(es)
		slices.SortFunc(want, refCompare)
		sortEntries(es)
		if !slices.Equal(es, want) {
			t.Errorf("%s: radix sort differs from a comparison sort", tc.name)
		}
	}
}

// TestEntrySetMatchesMap drives sets through random changes, single and in
// batches, past several merges of their overlays, and checks them, their
// clones and their differences against maps.
func TestEntrySetMatchesMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	a, b := NewIPSet("A", HashIPPortNet, false), NewIPSet("A", HashIPPortNet, false)
	ma, mb := map[SetEntry]struct{}{}, map[SetEntry]struct{}{}
	for step := range 3000 {
		set, m := a, ma
		if r.IntN(3) == 0 {
			set, m = b, mb
		}
		switch op := r.IntN(10); {
		case op < 5:
			e := randEntry(r, false)
			_, had := m[e]
			if set.entries.insert(e) == had {
				t.Fatalf("step %d: insert(%v) reported wrongly", step, e)
			}
			m[e] = struct{}{}
		case op < 9:
			e := randEntry(r, false)
			for k := range m { // half the time, one that is there
				if r.IntN(2) == 0 {
					e = k
				}
				break
			}
			_, had := m[e]
			if set.entries.remove(e) != had {
				t.Fatalf("step %d: remove(%v) reported wrongly", step, e)
			}
			delete(m, e)
		default:
			batch := make([]SetEntry, bulkMin+r.IntN(100))
			for i := range batch {
				batch[i] = randEntry(r, false)
				m[batch[i]] = struct{}{}
			}
			set.Add(batch...)
		}
		if step%97 == 0 {
			checkEntrySet(t, step, a, ma)
			checkEntrySet(t, step, b, mb)
			checkDiff(t, step, a, b, ma, mb)
			c := a.Clone()
			c.Add(randEntry(r, false))
			c.Delete(slices.Collect(maps.Keys(ma))[:min(3, len(ma))]...)
			checkEntrySet(t, step, a, ma)
		}
	}
}

func checkEntrySet(t *testing.T, step int, s *IPSet, m map[SetEntry]struct{}) {
	t.Helper()
	want := slices.SortedFunc(maps.Keys(m), refCompare)
	if got := slices.Collect(s.All()); s.Len() != len(m) || !slices.Equal(got, want) {
		t.Fatalf("step %d: set holds %d entries (%d listed), want %d", step, s.Len(), len(got), len(m))
	}
	for e := range m {
		if !s.Has(e) {
			t.Fatalf("step %d: lost %v", step, e)
		}
	}
}

func checkDiff(t *testing.T, step int, a, b *IPSet, ma, mb map[SetEntry]struct{}) {
	t.Helper()
	adds, dels := diffEntries(&a.entries, &b.entries)
	var wantAdds, wantDels []SetEntry
	for e := range mb {
		if _, ok := ma[e]; !ok {
			wantAdds = append(wantAdds, e)
		}
	}
	for e := range ma {
		if _, ok := mb[e]; !ok {
			wantDels = append(wantDels, e)
		}
	}
	slices.SortFunc(wantAdds, refCompare)
	slices.SortFunc(wantDels, refCompare)
	if !slices.Equal(adds, wantAdds) || !slices.Equal(dels, wantDels) {
		t.Fatalf("step %d: diff gave +%d -%d, want +%d -%d", step, len(adds), len(dels), len(wantAdds), len(wantDels))
	}
	if a.Equal(b) != (len(wantAdds)+len(wantDels) == 0) {
		t.Fatalf("step %d: Equal is wrong", step)
	}
}

// TestDiffClones diffs sets that share their sorted run, both changed
// since they were cloned.
func TestDiffClones(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	a := NewIPSet("A", HashIPPortNet, false)
	ma := map[SetEntry]struct{}{}
	batch := make([]SetEntry, 500)
	for i := range batch {
		batch[i] = randEntry(r, false)
		ma[batch[i]] = struct{}{}
	}
	a.Add(batch...)
	b, mb := a.Clone(), maps.Clone(ma)
	for i := range 40 {
		set, m := a, ma
		if i%2 == 0 {
			set, m = b, mb
		}
		e := batch[r.IntN(len(batch))]
		if i%3 == 0 {
			e = randEntry(r, false)
			set.Add(e)
			m[e] = struct{}{}
			continue
		}
		set.Delete(e)
		delete(m, e)
	}
	if !sameRun(a.entries.base, b.entries.base) {
		t.Fatal("the clones no longer share their run")
	}
	checkDiff(t, 0, a, b, ma, mb)
	checkDiff(t, 0, b, a, mb, ma)
}

// TestHostEntriesArePrefixes checks the shortcut constructors against
// NewSetEntry with full-length prefixes.
func TestHostEntriesArePrefixes(t *testing.T) {
	host := func(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }
	for _, s := range []string{"10.0.0.1", "fd00::1", "::ffff:10.0.0.1", "fe80::1%eth0", "::", "0.0.0.0"} {
		a := netip.MustParseAddr(s)
		b := netip.MustParseAddr("10.9.8.7")
		for _, c := range []struct{ got, want SetEntry }{
			{HostEntry(a), NewSetEntry(host(a), 0, 0, netip.Prefix{})},
			{PortEntry(a, UDP, 53), NewSetEntry(host(a), UDP, 53, netip.Prefix{})},
			{PortIPEntry(b, TCP, 80, a), NewSetEntry(host(b), TCP, 80, host(a))},
			{PortIPEntry(a, TCP, 80, a), NewSetEntry(host(a), TCP, 80, host(a))},
		} {
			if c.got != c.want {
				t.Errorf("%s: %v, want %v", s, c.got, c.want)
			}
		}
	}
	if HostEntry(netip.Addr{}) != NewSetEntry(netip.Prefix{}, 0, 0, netip.Prefix{}) {
		t.Error("no address is not the empty entry")
	}
}

// TestJoinRegions: regions of one buffer are moved together over the room
// they left; a region that outgrew its room is still joined.
func TestJoinRegions(t *testing.T) {
	e := func(i byte) SetEntry { return HostEntry(netip.AddrFrom4([4]byte{10, 0, 0, i})) }
	buf := make([]SetEntry, 6)
	a, b, c := buf[0:0:2], buf[2:2:4], buf[4:4:6]
	a = append(a, e(1))
	b = append(b, e(2), e(3))
	c = append(c, e(4))
	if got, want := joinRegions(buf, [][]SetEntry{a, b, c}), []SetEntry{e(1), e(2), e(3), e(4)}; !slices.Equal(got, want) || &got[0] != &buf[0] {
		t.Errorf("joined %v, want %v in place", got, want)
	}
	buf = make([]SetEntry, 4)
	a, b = buf[0:0:2], buf[2:2:4]
	a = append(a, e(1), e(2), e(3)) // outgrew its room
	b = append(b, e(4))
	if got, want := joinRegions(buf, [][]SetEntry{a, b}), []SetEntry{e(1), e(2), e(3), e(4)}; !slices.Equal(got, want) {
		t.Errorf("joined %v, want %v", got, want)
	}
	var none []SetEntry // no room at all, and an entry anyway
	if got := joinRegions(none, [][]SetEntry{append(none, e(1))}); !slices.Equal(got, []SetEntry{e(1)}) {
		t.Errorf("joined %v", got)
	}
}
