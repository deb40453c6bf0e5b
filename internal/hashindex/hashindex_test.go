package hashindex

import (
	"math/rand/v2"
	"testing"
)

// TestAgainstMap runs random inserts, gets and deletes on an
// Index and a Go map side by side. Keys come from a small range so
// that lookups hit, inserts find keys taken and deletions shift probe
// runs; the crowded variant forces long runs with keys that share their
// home slot.
func TestAgainstMap(t *testing.T) {
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
			var x Index
			want := map[uint64]int32{}
			for op := range 20000 {
				k := tc.key(r)
				switch r.IntN(3) {
				case 0:
					v := int32(op)
					got, added := x.Insert(k, v)
					old, had := want[k]
					if !had {
						want[k] = v
						old = v
					}
					if added == had || got != old {
						t.Fatalf("op %d: insert(%#x) = %d, %v; want %d, %v", op, k, got, added, old, !had)
					}
				case 1:
					x.Delete(k)
					delete(want, k)
				default:
					got, ok := x.Get(k)
					v, had := want[k]
					if ok != had || (had && got != v) {
						t.Fatalf("op %d: get(%#x) = %d, %v; want %d, %v", op, k, got, ok, v, had)
					}
				}
				if x.Len() != len(want) {
					t.Fatalf("op %d: len %d, want %d", op, x.Len(), len(want))
				}
			}
			for k, v := range want {
				if got, ok := x.Get(k); !ok || got != v {
					t.Fatalf("final get(%#x) = %d, %v; want %d", k, got, ok, v)
				}
			}
		})
	}
}

func TestReserveKeepsEntries(t *testing.T) {
	var x Index
	for k := range uint64(100) {
		x.Insert(k, int32(k))
	}
	x.Reserve(10000)
	for k := range uint64(100) {
		if v, ok := x.Get(k); !ok || v != int32(k) {
			t.Fatalf("get(%d) = %d, %v after reserve", k, v, ok)
		}
	}
	if _, ok := x.Get(100); ok {
		t.Fatal("get(100) found a key never inserted")
	}
}

func TestTagIsTheKey(t *testing.T) {
	a := uint64(0x1234_5678_9abc)
	b := Clash(a)
	if a == b || tagOf(a) != tagOf(b) {
		t.Fatalf("Clash(%#x) = %#x, tags %#x and %#x", a, b, tagOf(a), tagOf(b))
	}
	var x Index
	x.Insert(a, 7)
	if v, added := x.Insert(b, 8); added || v != 7 {
		t.Fatalf("insert of a key with a held tag = %d, %v; want 7, false", v, added)
	}
	if v, ok := x.Get(b); !ok || v != 7 {
		t.Fatalf("get(%#x) = %d, %v; want 7, true", b, v, ok)
	}
}
