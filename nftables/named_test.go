package nftables

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// The overlay collection behaves like a plain ordered map through random
// adds, replaces, removes and clones, also with weak hashing, where many
// names share a hash and the spill index serves them.
func TestNamedMatchesReference(t *testing.T) {
	for _, weak := range []bool{false, true} {
		t.Run(fmt.Sprintf("weak=%v", weak), func(t *testing.T) { testNamedMatchesReference(t, weak) })
	}
}

func testNamedMatchesReference(t *testing.T, weak bool) {
	r := rand.New(rand.NewPCG(1, 2))
	type entry struct {
		name string
		v    int
	}
	var ref []entry
	find := func(name string) int {
		return slices.IndexFunc(ref, func(e entry) bool { return e.name == name })
	}
	n := &named[*testItem]{weak: weak}
	var old []*named[*testItem] // earlier clones' parents must keep their content
	var oldRef [][]entry
	for step := 0; step < 3000; step++ {
		name := fmt.Sprint("c", r.IntN(60))
		v := r.IntN(1000) + 1
		switch r.IntN(5) {
		case 0:
			if ok := n.add(name, &testItem{name, v}); ok != (find(name) < 0) {
				t.Fatalf("step %d: add %s = %v", step, name, ok)
			}
			if find(name) < 0 {
				ref = append(ref, entry{name, v})
			}
		case 1:
			n.replace(name, &testItem{name, v})
			if i := find(name); i >= 0 {
				ref[i].v = v
			} else {
				ref = append(ref, entry{name, v})
			}
		case 2:
			n.remove(name)
			if i := find(name); i >= 0 {
				ref = append(ref[:i], ref[i+1:]...)
			}
		case 3:
			old = append(old, n)
			oldRef = append(oldRef, slices.Clone(ref))
			c := n.clone()
			n = &c
		}
		var want []int
		for _, e := range ref {
			want = append(want, e.v)
		}
		if got := values(n.list()); !slices.Equal(got, want) || n.len() != len(want) {
			t.Fatalf("step %d: list %v (len %d), want %v", step, got, n.len(), want)
		}
		if got, ok := n.get(name); ok != (find(name) >= 0) || ok && got.v != ref[find(name)].v {
			t.Fatalf("step %d: get %s = %v %v", step, name, got, ok)
		}
	}
	for i, o := range old {
		var want []int
		for _, e := range oldRef[i] {
			want = append(want, e.v)
		}
		if got := values(o.list()); !slices.Equal(got, want) {
			t.Fatalf("clone %d changed its parent: %v, want %v", i, got, want)
		}
	}
}

type testItem struct {
	name string
	v    int
}

func (i *testItem) itemName() string { return i.name }

func values(items []*testItem) []int {
	var out []int
	for _, i := range items {
		out = append(out, i.v)
	}
	return out
}

// TestNamedSpilledNameStaysOne: a name spilled because another held its
// hash is still found, once, after that other name is removed and the
// index slot freed.
func TestNamedSpilledNameStaysOne(t *testing.T) {
	n := named[*testItem]{weak: true} // names of one length share a hash
	n.add("AAAA", &testItem{"AAAA", 1})
	n.add("BBBB", &testItem{"BBBB", 2})
	n.remove("AAAA")
	if n.add("BBBB", &testItem{"BBBB", 3}) {
		t.Fatal("BBBB added a second time")
	}
	n.replace("BBBB", &testItem{"BBBB", 4})
	if got := values(n.list()); !slices.Equal(got, []int{4}) || n.len() != 1 {
		t.Fatalf("list %v, len %d; want [4], 1", got, n.len())
	}
}
