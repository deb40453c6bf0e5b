package lb

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// No input makes New, Pick, Done or Update panic; errors are the typed ones.
func FuzzScheduler(f *testing.F) {
	f.Add("mh", "a,b,c", []byte{1, 2, 3}, []byte{10, 0, 0, 1}, uint64(0))
	f.Add("lblcr", "a,a", []byte{0, 0}, []byte{}, uint64(251))
	f.Add("wrr", "x,y,,z", []byte{255, 7, 9, 200}, []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, uint64(7))
	f.Add("nope", "", []byte(nil), []byte{1}, uint64(4))
	f.Fuzz(func(t *testing.T, name, ids string, weights, key []byte, table uint64) {
		var bs []Backend
		for i, id := range strings.Split(ids, ",") {
			w := -1 // invalid unless given
			if i < len(weights) {
				w = int(weights[i]) * (1 + int(weights[i])%3*1000)
			}
			bs = append(bs, Backend{ID: id, Addr: netip.MustParseAddrPort("10.244.1.5:80"), Weight: w})
		}
		var opts []Option
		if table%2 == 1 {
			opts = append(opts, WithTableSize(table%100000))
		}
		s, err := New(name, bs, opts...)
		var ue *UnknownSchedulerError
		var be *BackendError
		var oe *OptionError
		if err != nil {
			if !errors.As(err, &ue) && !errors.As(err, &be) && !errors.As(err, &oe) {
				t.Fatalf("untyped error %v", err)
			}
			if s, err = New(name, nil); err != nil {
				return
			}
		}
		addr, _ := netip.AddrFromSlice(key)
		k := PickKey{Client: netip.AddrPortFrom(addr, 1), Dest: netip.AddrPortFrom(addr, 2)}
		for range 3 {
			b, err := s.Pick(k)
			if err != nil && !errors.Is(err, ErrNoBackend) {
				t.Fatalf("Pick: %v", err)
			}
			if err == nil && b.Weight <= 0 {
				t.Fatalf("picked weight %d", b.Weight)
			}
			s.Done(b)
		}
		if err := s.Update(bs[len(bs)/2:]); err != nil && !errors.As(err, &be) {
			t.Fatalf("Update: %v", err)
		}
		_ = s.Backends()
	})
}
