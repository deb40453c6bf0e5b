package nftables

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestHashIndexAgainstMap runs random inserts, gets and deletes on a
// hashIndex and a Go map side by side. Keys come from a small range so
// that lookups hit, inserts find keys taken and deletions shift probe
// runs; the crowded variant forces long runs with keys that share their
// home slot.
func TestHashIndexAgainstMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  func(r *rand.Rand) uint64
	}{
		{"spread", func(r *rand.Rand) uint64 { return r.Uint64N(512) * 0x51ED27 }},
		{"dense", func(r *rand.Rand) uint64 { return r.Uint64N(24) << 58 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			tags := map[uint32]uint64{} // the index tells keys apart by tag: these must differ
			for range 20000 {
				k := tc.key(r)
				if o, ok := tags[tagOf(k)]; ok && o != k {
					t.Fatalf("keys %#x and %#x share a tag: pick others", k, o)
				}
				tags[tagOf(k)] = k
			}
			r = rand.New(rand.NewPCG(1, 2))
			var x hashIndex
			want := map[uint64]int32{}
			for op := range 20000 {
				k := tc.key(r)
				switch r.IntN(3) {
				case 0:
					v := int32(op)
					got, added := x.insert(k, v)
					old, had := want[k]
					if !had {
						want[k] = v
						old = v
					}
					if added == had || got != old {
						t.Fatalf("op %d: insert(%#x) = %d, %v; want %d, %v", op, k, got, added, old, !had)
					}
				case 1:
					x.delete(k)
					delete(want, k)
				default:
					got, ok := x.get(k)
					v, had := want[k]
					if ok != had || (had && got != v) {
						t.Fatalf("op %d: get(%#x) = %d, %v; want %d, %v", op, k, got, ok, v, had)
					}
				}
				if x.len() != len(want) {
					t.Fatalf("op %d: len %d, want %d", op, x.len(), len(want))
				}
			}
			for k, v := range want {
				if got, ok := x.get(k); !ok || got != v {
					t.Fatalf("final get(%#x) = %d, %v; want %d", k, got, ok, v)
				}
			}
		})
	}
}

func TestHashIndexReserveKeepsEntries(t *testing.T) {
	var x hashIndex
	for k := range uint64(100) {
		x.insert(k, int32(k))
	}
	x.reserve(10000)
	for k := range uint64(100) {
		if v, ok := x.get(k); !ok || v != int32(k) {
			t.Fatalf("get(%d) = %d, %v after reserve", k, v, ok)
		}
	}
	if _, ok := x.get(100); ok {
		t.Fatal("get(100) found a key never inserted")
	}
}

// sameTag returns a key other than key with key's tag (mixing multiplies
// by an odd constant, so it can be undone).
func sameTag(key uint64) uint64 {
	const mix = 0x9E3779B97F4A7C15
	inv := uint64(mix) // Newton's iteration for the inverse modulo 2^64
	for range 6 {
		inv *= 2 - mix*inv
	}
	return (key*mix ^ 1) * inv
}

func TestHashIndexTagIsTheKey(t *testing.T) {
	a := uint64(0x1234_5678_9abc)
	b := sameTag(a)
	if a == b || tagOf(a) != tagOf(b) {
		t.Fatalf("sameTag(%#x) = %#x, tags %#x and %#x", a, b, tagOf(a), tagOf(b))
	}
	var x hashIndex
	x.insert(a, 7)
	if v, added := x.insert(b, 8); added || v != 7 {
		t.Fatalf("insert of a key with a held tag = %d, %v; want 7, false", v, added)
	}
	if v, ok := x.get(b); !ok || v != 7 {
		t.Fatalf("get(%#x) = %d, %v; want 7, true", b, v, ok)
	}
}

// TestKeySeenTagClash: two packed keys with one tag are both new once.
func TestKeySeenTagClash(t *testing.T) {
	a := uint64(1<<56 | 6<<32 | 80<<40 | 0x0a000001)
	b := sameTag(a)
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
