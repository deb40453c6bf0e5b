package iptables

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// randomState builds a random but valid nat table: owned chains KUBE-0..5
// that jump only to higher-numbered owned chains (no loops), foreign chains
// F0..2 that jump to owned chains in keep, and built-in rules jumping to
// both.
func randomState(r *rand.Rand, keep []string) *Ruleset {
	var owned []string
	for i := range 6 {
		if r.IntN(3) > 0 {
			owned = append(owned, fmt.Sprintf("KUBE-%d", i))
		}
	}
	var b []byte
	b = append(b, "*nat\n"+natBuiltins...)
	for _, c := range owned {
		b = append(b, ":"+c+" - [0:0]\n"...)
	}
	b = append(b, ":F0 - [0:0]\n:F1 - [0:0]\n:F2 - [0:0]\n"...)
	pick := func(from []string) string {
		if len(from) == 0 || r.IntN(4) == 0 {
			return []string{"ACCEPT", "RETURN", "DROP"}[r.IntN(3)]
		}
		return from[r.IntN(len(from))]
	}
	for i, c := range owned {
		for j := range r.IntN(4) {
			b = fmt.Appendf(b, "-A %s -s 10.0.%d.0/24 -j %s\n", c, j, pick(owned[i+1:]))
		}
	}
	foreignTargets := append([]string{"F2"}, keep...)
	for _, c := range []string{"F0", "F1"} {
		for j := range r.IntN(3) {
			b = fmt.Appendf(b, "-A %s -d 10.1.%d.0/24 -j %s\n", c, j, pick(foreignTargets))
		}
	}
	for _, c := range []string{"PREROUTING", "OUTPUT"} {
		for j := range r.IntN(5) {
			b = fmt.Appendf(b, "-A %s -p tcp -m tcp --dport %d -j %s\n", c, r.IntN(3), pick(append(owned, "F0", "F1")))
			_ = j
		}
	}
	b = append(b, "COMMIT\n"...)
	rs, err := Parse(IPv4, b)
	if err != nil {
		panic(fmt.Sprintf("%v\n%s", err, b))
	}
	return rs
}

// TestDiffRandom: for random current and desired states, applying Diff to
// current reaches desired's owned part and keeps current's foreign part,
// a second Diff is empty, and DiffChanged given every owned chain agrees.
func TestDiffRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		des := randomState(r, nil)
		var keep []string
		for _, c := range des.Table(TableNat).Chains() {
			if kube.Owns(c.Name) {
				keep = append(keep, c.Name)
			}
		}
		cur := randomState(r, keep)
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			p := applyDiff(t, cur, des)
			var changed []ChainRef
			for _, rs := range []*Ruleset{cur, des} {
				for _, c := range rs.Table(TableNat).Chains() {
					changed = append(changed, ChainRef{TableNat, c.Name})
				}
			}
			pc, err := DiffChanged(cur, des, kube, changed)
			if err != nil || !slices.Equal(pc.Bytes(), p.Bytes()) {
				t.Fatalf("DiffChanged: %v\n%s\nDiff:\n%s", err, pc.Bytes(), p.Bytes())
			}
		})
		if t.Failed() {
			return
		}
	}
}
