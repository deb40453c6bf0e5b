package lb

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// sh, dh and mh pick the same backend for the same key: repeatedly, from a
// second scheduler, and (mh) whatever the order of the backend slice.
func TestHashStable(t *testing.T) {
	bs := backends(50, 1, 2, 3)
	shuffled := append([]Backend(nil), bs...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, name := range []string{SourceHashing, DestinationHashing, MaglevHashing} {
		a, b := mustNew(t, name, bs), mustNew(t, name, bs)
		for i := range 5000 {
			k := clientKey(i)
			k.Dest = netip.AddrPortFrom(k.Client.Addr().Next(), 80)
			want := mustPick(t, a, k).ID
			for range 3 {
				if got := mustPick(t, a, k).ID; got != want {
					t.Fatalf("%s: key %d picked %s then %s", name, i, want, got)
				}
			}
			if got := mustPick(t, b, k).ID; got != want {
				t.Fatalf("%s: key %d: second scheduler picked %s, first %s", name, i, got, want)
			}
		}
	}
	a, b := mustNew(t, MaglevHashing, bs), mustNew(t, MaglevHashing, shuffled)
	for i := range 5000 {
		if x, y := mustPick(t, a, clientKey(i)).ID, mustPick(t, b, clientKey(i)).ID; x != y {
			t.Fatalf("mh depends on slice order: key %d -> %s vs %s", i, x, y)
		}
	}
}

// What each hash scheduler looks at: sh and mh the client address (and
// port with WithPort), dh the destination address (and port with WithPort).
func TestHashKeyFields(t *testing.T) {
	bs := backends(64)
	type field int
	const (
		clientPort field = iota
		clientAddr
		destPort
		destAddr
	)
	vary := func(k PickKey, f field, i int) PickKey {
		switch f {
		case clientPort:
			k.Client = netip.AddrPortFrom(k.Client.Addr(), uint16(i))
		case clientAddr:
			k.Client = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}), k.Client.Port())
		case destPort:
			k.Dest = netip.AddrPortFrom(k.Dest.Addr(), uint16(i))
		case destAddr:
			k.Dest = netip.AddrPortFrom(netip.AddrFrom4([4]byte{172, 16, byte(i >> 8), byte(i)}), k.Dest.Port())
		}
		return k
	}
	cases := []struct {
		name    string
		port    bool
		matters map[field]bool
	}{
		{SourceHashing, false, map[field]bool{clientAddr: true}},
		{SourceHashing, true, map[field]bool{clientAddr: true, clientPort: true}},
		{MaglevHashing, false, map[field]bool{clientAddr: true}},
		{MaglevHashing, true, map[field]bool{clientAddr: true, clientPort: true}},
		{DestinationHashing, false, map[field]bool{destAddr: true}},
		{DestinationHashing, true, map[field]bool{destAddr: true, destPort: true}},
	}
	for _, c := range cases {
		var opts []Option
		if c.port {
			opts = append(opts, WithPort())
		}
		s := mustNew(t, c.name, bs, opts...)
		for f := clientPort; f <= destAddr; f++ {
			seen := map[string]bool{}
			for i := 1; i <= 200; i++ {
				seen[mustPick(t, s, vary(clientKey(7), f, i)).ID] = true
			}
			if varies := len(seen) > 1; varies != c.matters[f] {
				t.Errorf("%s port=%v: varying field %d gave %d backends", c.name, c.port, f, len(seen))
			}
		}
	}
}

// IPv6 and IPv4 keys both spread.
func TestHashIPv6(t *testing.T) {
	bs := backends(8)
	for _, name := range []string{SourceHashing, MaglevHashing} {
		s := mustNew(t, name, bs)
		got := map[string]int{}
		for i := range 80000 {
			a := netip.AddrFrom16([16]byte{0xfd, 0, 15: byte(i), 14: byte(i >> 8), 13: byte(i >> 16)})
			got[mustPick(t, s, PickKey{Client: netip.AddrPortFrom(a, 1)}).ID]++
		}
		checkShares(t, got, bs, 0.05)
	}
}

// An IPv4 address and its IPv4-mapped IPv6 form hash alike (one value per
// 16-byte form), whichever path computes it.
func TestHashAddrIPv4Mapped(t *testing.T) {
	for i := range 1000 {
		v4 := clientKey(i * 7919).Client.Addr()
		mapped := netip.AddrFrom16(v4.As16())
		if hashAddr(v4, uint16(i), seedSource) != hashAddr(mapped, uint16(i), seedSource) {
			t.Fatalf("%v and %v hash differently", v4, mapped)
		}
	}
}
