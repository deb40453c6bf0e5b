package nftables

import (
	"net/netip"
	"testing"

	"github.com/proxykit/proxykit/internal/hashindex"
)

// TestKeySeenTagClash: two packed keys with one tag are both new once.
func TestKeySeenTagClash(t *testing.T) {
	a := uint64(1<<56 | 6<<32 | 80<<40 | 0x0a000001)
	b := hashindex.Clash(a)
	var s keySeen
	s.reserve(2)
	for _, tc := range []struct {
		key  uint64
		want bool
	}{{a, true}, {b, true}, {a, false}, {b, false}} {
		if got := s.addPacked(tc.key); got != tc.want {
			t.Fatalf("add(%#x) = %v, want %v", tc.key, got, tc.want)
		}
	}
}

// TestKeySeen: shared-map keys are told apart whether they pack into 64
// bits (IPv4 or no address) or not (IPv6), and a key is seen once.
func TestKeySeen(t *testing.T) {
	v4, v4b, v6 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::1")
	keys := [][]Value{
		{IP(v4), Proto(6), Port(80)}, {IP(v4), Proto(17), Port(80)}, {IP(v4), Proto(6), Port(81)},
		{IP(v4b), Proto(6), Port(80)}, {Proto(6), Port(80)}, {Proto(6), Port(81)},
		{IP(v6), Proto(6), Port(80)}, {IP(v6), Proto(6), Port(81)},
	}
	var s keySeen
	for i, k := range keys {
		if !s.add(newMapKey(k)) {
			t.Errorf("key %d (%s) reported as seen before", i, keyString(k))
		}
	}
	for i, k := range keys {
		if s.add(newMapKey(k)) {
			t.Errorf("key %d (%s) not recognised the second time", i, keyString(k))
		}
	}
}
