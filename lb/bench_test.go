package lb

import (
	"fmt"
	"testing"
)

// loop runs f b.N times (b.Loop) and reports, beside wall time, the process
// CPU time per op ("cpu-ns/op"), which is what the code costs when other
// processes compete for the cores.
func loop(b *testing.B, f func(i int)) {
	b.ReportAllocs()
	start, i := processCPU(), 0
	for b.Loop() {
		f(i)
		i++
	}
	if cpu := processCPU() - start; cpu > 0 {
		b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
	}
}

// go test ./lb -run '^$' -bench . -benchmem -count 3
// Targets: Pick for rr/random/sh/mh <= 30 ns and 0 allocs; Maglev build at
// M=65537, N=1000 <= 1.5 ms.

// benchKeys are 1024 distinct client keys, made before timing.
func benchKeys() []PickKey {
	keys := make([]PickKey, 1024)
	for i := range keys {
		keys[i] = clientKey(i * 7919)
	}
	return keys
}

func BenchmarkPick(b *testing.B) {
	keys := benchKeys()
	for _, name := range Names() {
		for _, n := range []int{10, 1000} {
			b.Run(fmt.Sprintf("%s/N=%d", name, n), func(b *testing.B) {
				s := mustNew(b, name, backends(n))
				loop(b, func(i int) {
					bk, err := s.Pick(keys[i&1023])
					if err != nil {
						b.Fatal(err)
					}
					s.Done(bk)
				})
			})
		}
	}
}

// Weighted variants take other paths (wrr sequence, cumulative weights).
func BenchmarkPickWeighted(b *testing.B) {
	bs := backends(100)
	for i := range bs {
		bs[i].Weight = 1 + i%7
	}
	keys := benchKeys()
	for _, name := range []string{WeightedRoundRobin, Random, SourceHashing, MaglevHashing} {
		b.Run(name+"/N=100", func(b *testing.B) {
			s := mustNew(b, name, bs)
			loop(b, func(i int) {
				if _, err := s.Pick(keys[i&1023]); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// All cores picking from one scheduler (contention on rr's counter).
func BenchmarkPickParallel(b *testing.B) {
	keys := benchKeys()
	for _, name := range []string{RoundRobin, Random, SourceHashing, MaglevHashing, LeastConnection} {
		b.Run(name+"/N=100", func(b *testing.B) {
			s := mustNew(b, name, backends(100))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					bk, _ := s.Pick(keys[i&1023])
					s.Done(bk)
					i++
				}
			})
		})
	}
}

func BenchmarkMaglevBuild(b *testing.B) {
	for _, c := range []struct {
		n int
		m uint64
	}{{1000, 65537}, {100, 65537}, {10, 65537}, {5000, 500009}} {
		b.Run(fmt.Sprintf("N=%d/M=%d", c.n, c.m), func(b *testing.B) {
			s, err := newSet(nil, backends(c.n))
			if err != nil {
				b.Fatal(err)
			}
			loop(b, func(int) { buildMaglev(s, c.m) })
		})
	}
	// The plain algorithm (a modulo per probe, no free-list tail), as an
	// anchor for this machine.
	b.Run("reference-probing/N=1000/M=65537", func(b *testing.B) {
		s, err := newSet(nil, backends(1000))
		if err != nil {
			b.Fatal(err)
		}
		loop(b, func(int) { buildMaglevByProbing(s, 65537) })
	})
	b.Run("weighted/N=1000/M=65537", func(b *testing.B) {
		bs := backends(1000)
		for i := range bs {
			bs[i].Weight = 1 + i%10
		}
		s, err := newSet(nil, bs)
		if err != nil {
			b.Fatal(err)
		}
		loop(b, func(int) { buildMaglev(s, 65537) })
	})
}

// Update of an mh scheduler: validation, state carry-over and the build.
func BenchmarkMaglevUpdate(b *testing.B) {
	bs := backends(1001)
	s := mustNew(b, MaglevHashing, bs[:1000], WithTableSize(65537))
	loop(b, func(i int) {
		if err := s.Update(bs[i%2 : 1000+i%2]); err != nil {
			b.Fatal(err)
		}
	})
}
