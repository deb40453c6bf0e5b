package lb

import (
	"net/netip"
	"testing"
	"time"
)

// fakeClock is a settable clock for lblc/lblcr expiry.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// toDest returns a key for destination address 172.16.0.d.
func toDest(d int) PickKey {
	return PickKey{
		Client: netip.MustParseAddrPort("10.0.0.100:40000"),
		Dest:   netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(d >> 8), byte(d)}), 80),
	}
}

// A destination sticks to its backend while it is not overloaded; new
// destinations go to the least loaded.
func TestLocalitySticks(t *testing.T) {
	for _, name := range []string{LocalityBasedLeastConnection, LocalityBasedLeastConnectionRepl} {
		s := mustNew(t, name, backends(4, 100, 100, 100, 100))
		first := map[int]string{}
		for d := range 4 {
			first[d] = mustPick(t, s, toDest(d)).ID
		}
		if len(map[string]bool{first[0]: true, first[1]: true, first[2]: true, first[3]: true}) != 4 {
			t.Errorf("%s: 4 destinations on fewer than 4 backends: %v", name, first)
		}
		for range 50 {
			for d := range 4 {
				if b := mustPick(t, s, toDest(d)); b.ID != first[d] {
					t.Fatalf("%s: destination %d moved from %s to %s", name, d, first[d], b.ID)
				}
			}
		}
	}
}

// Overload (more connections than weight while another backend is below
// half its weight) moves lblc's destination and grows lblcr's set.
func TestLocalityOverload(t *testing.T) {
	bs := backends(2, 1, 1)
	s := mustNew(t, LocalityBasedLeastConnection, bs)
	a := mustPick(t, s, toDest(0))
	if b := mustPick(t, s, toDest(0)); b.ID != a.ID { // 1 conn = weight: fine
		t.Fatalf("lblc moved at 1 connection: %s -> %s", a.ID, b.ID)
	}
	b := mustPick(t, s, toDest(0)) // a has 2 > 1, the other 0 < 1/2
	if b.ID == a.ID {
		t.Fatalf("lblc stayed on overloaded %s", a.ID)
	}
	if c := mustPick(t, s, toDest(0)); c.ID != b.ID {
		t.Errorf("lblc did not remember %s (picked %s)", b.ID, c.ID)
	}

	r := mustNew(t, LocalityBasedLeastConnectionRepl, bs)
	a = mustPick(t, r, toDest(0))
	mustPick(t, r, toDest(0))
	b = mustPick(t, r, toDest(0)) // overloaded: the set grows to {a, b}
	if b.ID == a.ID {
		t.Fatalf("lblcr stayed on overloaded %s", a.ID)
	}
	if e := r.(*locality).cache[toDest(0).Dest.Addr()]; len(e.ids) != 2 {
		t.Fatalf("lblcr set = %v, want two members", e.ids)
	}
	// The set's least loaded member (b, 1 conn vs 2) serves next.
	if c := mustPick(t, r, toDest(0)); c.ID != b.ID {
		t.Errorf("lblcr picked %s, want least loaded member %s", c.ID, b.ID)
	}
}

// Unused entries expire; lblcr sets shrink after the expiry without change.
func TestLocalityExpiry(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	opts := []Option{WithClock(clk.now), WithLocalityExpiry(time.Minute)}
	s := mustNew(t, LocalityBasedLeastConnection, backends(2, 10, 10), opts...)
	a := mustPick(t, s, toDest(0)) // a: 1 open, other: 0
	clk.t = clk.t.Add(30 * time.Second)
	if b := mustPick(t, s, toDest(0)); b.ID != a.ID { // used within expiry
		t.Fatalf("moved before expiry: %s -> %s", a.ID, b.ID)
	}
	clk.t = clk.t.Add(61 * time.Second)
	if b := mustPick(t, s, toDest(0)); b.ID == a.ID { // forgotten: wlc picks the idle one
		t.Errorf("entry did not expire: still %s", a.ID)
	}

	clk.t = time.Unix(1000, 0)
	r := mustNew(t, LocalityBasedLeastConnectionRepl, backends(2, 1, 1), opts...)
	for range 3 {
		mustPick(t, r, toDest(0)) // overload grows the set to two
	}
	e := r.(*locality).cache[toDest(0).Dest.Addr()]
	if len(e.ids) != 2 {
		t.Fatalf("set = %v", e.ids)
	}
	clk.t = clk.t.Add(59 * time.Second)
	mustPick(t, r, toDest(0))
	clk.t = clk.t.Add(2 * time.Second) // set unchanged for > 1 min, entry used recently
	mustPick(t, r, toDest(0))
	if len(e.ids) != 1 {
		t.Errorf("set did not shrink: %v", e.ids)
	}
}

// A remembered backend that leaves or is drained (weight 0) is replaced.
func TestLocalityBackendLeaves(t *testing.T) {
	for _, name := range []string{LocalityBasedLeastConnection, LocalityBasedLeastConnectionRepl} {
		bs := backends(3, 5, 5, 5)
		s := mustNew(t, name, bs)
		a := mustPick(t, s, toDest(0))
		s.Done(a)
		var rest []Backend
		for _, b := range bs {
			if b.ID != a.ID {
				rest = append(rest, b)
			}
		}
		if err := s.Update(rest); err != nil {
			t.Fatal(err)
		}
		if b := mustPick(t, s, toDest(0)); b.ID == a.ID {
			t.Errorf("%s: picked removed backend %s", name, a.ID)
		}
		drained := append([]Backend(nil), bs...)
		for i := range drained {
			drained[i].Weight = 0
		}
		drained[2].Weight = 5
		if err := s.Update(drained); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if b := mustPick(t, s, toDest(0)); b.ID != "b2" {
				t.Errorf("%s: picked %s, the only live backend is b2", name, b.ID)
			}
		}
	}
}

// The cache stays within its size.
func TestLocalityCacheBound(t *testing.T) {
	for _, name := range []string{LocalityBasedLeastConnection, LocalityBasedLeastConnectionRepl} {
		s := mustNew(t, name, backends(3, 1000, 1000, 1000), WithLocalityCacheSize(8))
		for d := range 100 {
			s.Done(mustPick(t, s, toDest(d)))
			if n := len(s.(*locality).cache); n > 8 {
				t.Fatalf("%s: cache holds %d > 8 entries", name, n)
			}
		}
	}
}
