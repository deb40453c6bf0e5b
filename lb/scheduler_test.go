package lb

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestNewEveryName(t *testing.T) {
	if len(Names()) != 12 {
		t.Fatalf("Names() = %v, want 12 names", Names())
	}
	for _, name := range Names() {
		s := mustNew(t, name, backends(3))
		if s.Name() != name {
			t.Errorf("New(%q).Name() = %q", name, s.Name())
		}
		b := mustPick(t, s, clientKey(1))
		if !slices.ContainsFunc(backends(3), func(x Backend) bool { return x.ID == b.ID && x.Addr == b.Addr }) {
			t.Errorf("%s picked %+v, not one of the set", name, b)
		}
		s.Done(b)
	}
}

func TestNewUnknownName(t *testing.T) {
	_, err := New("fastest", backends(2))
	var u *UnknownSchedulerError
	if !errors.As(err, &u) || u.Name != "fastest" {
		t.Fatalf("err = %v, want *UnknownSchedulerError for fastest", err)
	}
	if !errors.Is(err, ErrUnknownScheduler) {
		t.Errorf("errors.Is(%v, ErrUnknownScheduler) = false", err)
	}
}

func TestInvalidBackends(t *testing.T) {
	addr := netip.MustParseAddrPort("10.244.1.5:8080")
	cases := map[string][]Backend{
		"empty ID":         {{ID: "", Addr: addr, Weight: 1}},
		"negative weight":  {{ID: "a", Addr: addr, Weight: -1}},
		"too heavy":        {{ID: "a", Addr: addr, Weight: MaxWeight + 1}},
		"invalid address":  {{ID: "a", Weight: 1}},
		"duplicate ID":     {{ID: "a", Addr: addr, Weight: 1}, {ID: "a", Addr: addr, Weight: 2}},
		"second one wrong": {{ID: "a", Addr: addr, Weight: 1}, {ID: "b", Weight: 1}},
	}
	for what, bs := range cases {
		for _, name := range Names() {
			_, err := New(name, bs)
			var be *BackendError
			if !errors.As(err, &be) {
				t.Errorf("%s, %s: err = %v, want *BackendError", what, name, err)
			}
			s := mustNew(t, name, backends(2))
			if err := s.Update(bs); !errors.As(err, &be) {
				t.Errorf("%s, %s: Update err = %v, want *BackendError", what, name, err)
			}
			if got := s.Backends(); len(got) != 2 {
				t.Errorf("%s, %s: failed Update changed the set to %v", what, name, got)
			}
		}
	}
}

func TestInvalidOptions(t *testing.T) {
	for what, opt := range map[string]Option{
		"table not prime":  WithTableSize(65536),
		"table too small":  WithTableSize(2),
		"table too large":  WithTableSize(1<<24 + 43),
		"zero expiry":      WithLocalityExpiry(0),
		"zero cache":       WithLocalityCacheSize(0),
		"nil clock":        WithClock(nil),
		"negative cache":   WithLocalityCacheSize(-1),
		"negative expiry":  WithLocalityExpiry(-1),
		"table size 1":     WithTableSize(1),
		"table size 65539": WithTableSize(65539 * 3),
	} {
		var oe *OptionError
		if _, err := New(MaglevHashing, backends(2), opt); !errors.As(err, &oe) {
			t.Errorf("%s: err = %v, want *OptionError", what, err)
		}
	}
	// Options that do not apply are ignored; nil options too.
	mustNew(t, RoundRobin, backends(2), WithTableSize(251), WithPort(), nil)
}

func TestNoBackend(t *testing.T) {
	sets := map[string][]Backend{
		"nil":         nil,
		"empty":       {},
		"all weight0": backends(3, 0, 0, 0),
	}
	for what, bs := range sets {
		for _, name := range Names() {
			s := mustNew(t, name, bs)
			for i := range 3 {
				b, err := s.Pick(clientKey(i))
				if !errors.Is(err, ErrNoBackend) || b.ID != "" {
					t.Errorf("%s, %s: Pick = %+v, %v; want ErrNoBackend", what, name, b, err)
				}
				s.Done(b) // harmless
			}
			if err := s.Update(backends(2)); err != nil {
				t.Fatal(err)
			}
			mustPick(t, s, clientKey(0))
			if err := s.Update(nil); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Pick(clientKey(0)); !errors.Is(err, ErrNoBackend) {
				t.Errorf("%s, %s: after Update(nil): err = %v", what, name, err)
			}
		}
	}
}

// The zero PickKey (invalid addresses) is scheduled, not rejected.
func TestZeroKey(t *testing.T) {
	for _, name := range Names() {
		mustPick(t, mustNew(t, name, backends(3)), PickKey{})
	}
}

func TestWeightZeroNeverPicked(t *testing.T) {
	bs := backends(4, 1, 0, 3, 0)
	for _, name := range Names() {
		s := mustNew(t, name, bs)
		for i := range 2000 {
			b := mustPick(t, s, clientKey(i))
			if b.Weight == 0 {
				t.Fatalf("%s picked weight-0 backend %s", name, b.ID)
			}
			s.Done(b)
		}
	}
}

func TestBackendsCopy(t *testing.T) {
	s := mustNew(t, RoundRobin, backends(3))
	got := s.Backends()
	got[0].ID = "changed"
	if s.Backends()[0].ID != "b0" {
		t.Error("Backends returned the internal slice")
	}
	if (Backend{}).Active() != 0 {
		t.Error("zero Backend has active connections")
	}
}
