package lb

import (
	"sync"
	"testing"
)

// Picks and Dones from many goroutines race with Updates; run with -race.
// When every connection is closed, every count is back to 0.
func TestConcurrentPickDoneUpdate(t *testing.T) {
	sets := [][]Backend{backends(5), backends(8, 1, 2, 3, 0, 1, 2, 3, 4)[1:], backends(3, 2, 2, 2), nil}
	for _, name := range Names() {
		s := mustNew(t, name, sets[0])
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 2000 {
					b, err := s.Pick(clientKey(g*2000 + i))
					if err != nil {
						continue // the nil set
					}
					if i%3 == 0 {
						s.Done(b)
						continue
					}
					defer s.Done(b)
				}
			})
		}
		wg.Go(func() {
			for i := range 40 {
				if err := s.Update(sets[i%len(sets)]); err != nil {
					t.Error(err)
				}
				_ = s.Backends()
			}
			if err := s.Update(sets[0]); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		for _, b := range s.Backends() {
			if b.Active() != 0 {
				t.Errorf("%s: %s has %d open connections after all Done", name, b.ID, b.Active())
			}
		}
	}
}

// The pick path does not allocate (lblc/lblcr only when they learn a new
// destination).
func TestPickDoesNotAllocate(t *testing.T) {
	k := clientKey(12345)
	for _, name := range Names() {
		for _, bs := range [][]Backend{backends(100), backends(4, 1, 2, 3, 4)} {
			s := mustNew(t, name, bs)
			s.Done(mustPick(t, s, k)) // lblc/lblcr learn k's destination
			allocs := testing.AllocsPerRun(200, func() {
				b, _ := s.Pick(k)
				s.Done(b)
			})
			if allocs != 0 {
				t.Errorf("%s (N=%d): %.1f allocations per Pick+Done", name, len(bs), allocs)
			}
		}
	}
}
