package lb

import (
	"testing"
)

// active returns the open-connection count per backend ID.
func active(s Scheduler) map[string]int64 {
	got := map[string]int64{}
	for _, b := range s.Backends() {
		got[b.ID] = b.Active()
	}
	return got
}

// pickN picks n times without Done and returns the picks.
func pickN(t *testing.T, s Scheduler, n int) []Backend {
	t.Helper()
	var out []Backend
	for i := range n {
		out = append(out, mustPick(t, s, clientKey(i)))
	}
	return out
}

// Open connections fill backends in proportion to what each algorithm
// weighs: lc ignores weights, wlc/sed/nq follow them.
func TestLeastConnBalance(t *testing.T) {
	bs := backends(3, 1, 2, 5)
	cases := map[string]map[string]int64{
		LeastConnection:         {"b0": 80, "b1": 80, "b2": 80},
		WeightedLeastConnection: {"b0": 30, "b1": 60, "b2": 150},
		ShortestExpectedDelay:   {"b0": 30, "b1": 60, "b2": 150},
		NeverQueue:              {"b0": 30, "b1": 60, "b2": 150},
	}
	for name, want := range cases {
		s := mustNew(t, name, bs)
		pickN(t, s, 240)
		got := active(s)
		for id, w := range want {
			if d := got[id] - w; d < -1 || d > 1 {
				t.Errorf("%s: %s has %d open, want %d±1 (all: %v)", name, id, got[id], w, got)
			}
		}
	}
}

// sed and nq differ from wlc on idle backends, as in IPVS.
func TestSEDAndNQ(t *testing.T) {
	bs := backends(2, 1, 100)
	// All idle: sed prefers the heavier ((0+1)/100 < (0+1)/1).
	for range 20 {
		s := mustNew(t, ShortestExpectedDelay, bs)
		if b := mustPick(t, s, clientKey(0)); b.ID != "b1" {
			t.Fatalf("sed picked %s with both idle", b.ID)
		}
	}
	// b1 busy with one connection, b0 idle: sed still prefers b1
	// ((1+1)/100 < (0+1)/1), nq takes the idle b0.
	for name, want := range map[string]string{ShortestExpectedDelay: "b1", NeverQueue: "b0"} {
		for range 20 {
			s := mustNew(t, name, bs)
			s.Backends()[1].st.active.Store(1)
			if b := mustPick(t, s, clientKey(1)); b.ID != want {
				t.Fatalf("%s picked %s, want %s", name, b.ID, want)
			}
		}
	}
}

// Ties are broken at random, not always towards the first backend.
func TestLeastConnTieBreak(t *testing.T) {
	s := mustNew(t, LeastConnection, backends(4))
	got := countPicks(t, s, 4000) // Done after each: always a 4-way tie
	checkShares(t, got, backends(4), 0.2)
}

func TestDoneAndUpdateKeepCounts(t *testing.T) {
	s := mustNew(t, LeastConnection, backends(3))
	picks := pickN(t, s, 6)                           // two each
	if err := s.Update(backends(4)[1:]); err != nil { // b0 leaves, b3 joins
		t.Fatal(err)
	}
	if got := active(s); got["b1"] != 2 || got["b2"] != 2 || got["b3"] != 0 {
		t.Fatalf("after Update: %v", got)
	}
	// New picks go to b3 until it catches up.
	for range 2 {
		if b := mustPick(t, s, clientKey(0)); b.ID != "b3" {
			t.Fatalf("picked %s, want b3", b.ID)
		}
	}
	for _, b := range picks { // closing conns of b0 (gone) is harmless
		s.Done(b)
		s.Done(b) // a double Done does not go negative
	}
	if got := active(s); got["b1"] != 0 || got["b2"] != 0 || got["b3"] != 2 {
		t.Errorf("after Done: %v", got)
	}
	s.Done(Backend{ID: "b3"}) // not from Pick: ignored
	if got := active(s); got["b3"] != 2 {
		t.Errorf("Done of a foreign Backend changed counts: %v", got)
	}
}

// Non-counting schedulers do not count, and Done does nothing.
func TestNonCountingDone(t *testing.T) {
	for _, name := range []string{RoundRobin, WeightedRoundRobin, Random, SourceHashing, DestinationHashing, MaglevHashing} {
		s := mustNew(t, name, backends(2))
		for _, b := range pickN(t, s, 10) {
			s.Done(b)
		}
		if got := active(s); got["b0"] != 0 || got["b1"] != 0 {
			t.Errorf("%s counts connections: %v", name, got)
		}
	}
}

// Switching algorithm with New(name, old.Backends()) keeps the counts, and
// Done through either scheduler releases them.
func TestSwitchSchedulerKeepsCounts(t *testing.T) {
	old := mustNew(t, WeightedLeastConnection, backends(2))
	picks := pickN(t, old, 4)
	s := mustNew(t, LeastConnection, old.Backends())
	if got := active(s); got["b0"] != 2 || got["b1"] != 2 {
		t.Fatalf("counts after switch: %v", got)
	}
	for _, b := range picks {
		old.Done(b)
	}
	if got := active(s); got["b0"] != 0 || got["b1"] != 0 {
		t.Errorf("counts after Done: %v", got)
	}
}
