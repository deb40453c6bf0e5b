package iptables

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestChainIndexAgainstMap runs random sets, removes and gets on a
// chainIndex and a map side by side, with names hashed well and with names
// hashed by their length (most of them then share a tag and go to the
// spill); clones taken along the way must not change with the original.
func TestChainIndexAgainstMap(t *testing.T) {
	for _, weak := range []bool{false, true} {
		t.Run(fmt.Sprintf("weak=%v", weak), func(t *testing.T) {
			r := rand.New(rand.NewPCG(3, 4))
			x := chainIndex{weak: weak}
			want := map[string]*Chain{}
			var snap chainIndex
			var snapWant map[string]*Chain
			for op := range 30000 {
				name := fmt.Sprintf("C%d", r.IntN(3000))
				switch r.IntN(4) {
				case 0, 1:
					c := &Chain{Name: name}
					if old := x.set(c); old != want[name] {
						t.Fatalf("op %d: set(%s) replaced %p, want %p", op, name, old, want[name])
					}
					want[name] = c
				case 2:
					if old := x.remove(name); old != want[name] {
						t.Fatalf("op %d: remove(%s) = %p, want %p", op, name, old, want[name])
					}
					delete(want, name)
				default:
					if got := x.get(name); got != want[name] {
						t.Fatalf("op %d: get(%s) = %p, want %p", op, name, got, want[name])
					}
				}
				if x.len() != len(want) {
					t.Fatalf("op %d: len %d, want %d", op, x.len(), len(want))
				}
				if op%5000 == 0 {
					checkChainIndex(t, &snap, snapWant)
					snap, snapWant = x.clone(), copyChains(want)
				}
			}
			checkChainIndex(t, &x, want)
			checkChainIndex(t, &snap, snapWant)
		})
	}
}

func copyChains(m map[string]*Chain) map[string]*Chain {
	out := make(map[string]*Chain, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// checkChainIndex compares every lookup and the iteration with want.
func checkChainIndex(t *testing.T, x *chainIndex, want map[string]*Chain) {
	t.Helper()
	seen := 0
	for c := range x.all() {
		if want[c.Name] != c {
			t.Fatalf("all() yields %s (%p), want %p", c.Name, c, want[c.Name])
		}
		seen++
	}
	if seen != len(want) || x.len() != len(want) {
		t.Fatalf("all() yields %d chains, len %d; want %d", seen, x.len(), len(want))
	}
	for name, c := range want {
		if got := x.get(name); got != c {
			t.Fatalf("get(%s) = %p, want %p", name, got, c)
		}
	}
}

// TestChainIndexAdopt: adopting a list of chains indexes each of them, with
// names hashed well and badly (then most share a tag), and then behaves
// like an index built by set; a name given twice is refused, the index
// left empty.
func TestChainIndexAdopt(t *testing.T) {
	for _, weak := range []bool{false, true} {
		var chains []*Chain
		var hashes []uint64
		want := map[string]*Chain{}
		for i := range 2000 {
			c := &Chain{Name: fmt.Sprintf("C%d", i)}
			chains, hashes = append(chains, c), append(hashes, (&chainIndex{}).hash(c.Name))
			want[c.Name] = c
		}
		x := chainIndex{weak: weak}
		if !x.adopt(chains, hashes) {
			t.Fatalf("weak=%v: adopt refused distinct names", weak)
		}
		checkChainIndex(t, &x, want)
		chains[0], hashes[0] = &Chain{Name: "C1"}, hashes[1] // the list itself is not the index's
		if x.get("C0") == nil || x.remove("C7") == nil || x.get("C7") != nil {
			t.Fatalf("weak=%v: the adopted index does not work as one", weak)
		}
		dup := chainIndex{weak: weak}
		if dup.adopt(chains, hashes) || dup.len() != 0 || dup.get("C1") != nil {
			t.Fatalf("weak=%v: adopt accepted a name twice", weak)
		}
	}
}
