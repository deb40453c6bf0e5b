package ipvs

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func kinds(ops Ops) string {
	var s []string
	for _, o := range ops {
		s = append(s, o.Kind.String())
	}
	return strings.Join(s, " ")
}

func TestDiffEqualIsEmpty(t *testing.T) {
	if ops := Diff(sampleState(), sampleState(), DiffOptions{}); len(ops) != 0 {
		t.Fatalf("ops for equal states:\n%v", ops)
	}
	if ops := Diff(nil, nil, DiffOptions{}); len(ops) != 0 {
		t.Fatal("ops for two nil states")
	}
}

func TestDiffSmallChanges(t *testing.T) {
	k := tcp("10.96.0.1", 443)
	cases := []struct {
		name   string
		change func(st *State)
		want   string
	}{
		{"add real", func(st *State) {
			st.Services[k].Reals = append(st.Services[k].Reals, rs("10.244.3.3", 6443, 1))
		}, "add-real"},
		{"weight", func(st *State) { st.Services[k].Reals[0].Weight = 7 }, "update-real"},
		{"forward", func(st *State) { st.Services[k].Reals[0].Forward = Direct }, "update-real"},
		{"delete real", func(st *State) { st.Services[k].Reals = st.Services[k].Reals[1:] }, "del-real"},
		{"scheduler", func(st *State) { st.Services[k].Scheduler = "wlc" }, "update-service"},
		{"persistence", func(st *State) { st.Services[k].Timeout = 0 }, "update-service"},
		{"new service", func(st *State) {
			st.AddAddress(ip("10.96.9.9"))
			st.AddService(&VirtualServer{VSKey: tcp("10.96.9.9", 80), Scheduler: "rr",
				Reals: []RealServer{rs("10.244.1.2", 80, 1), rs("10.244.1.3", 80, 1)}})
		}, "add-address add-service add-real add-real"},
		{"remove service", func(st *State) {
			delete(st.Services, k)
			delete(st.Addresses, k.Addr)
			st.Sets["KUBE-CLUSTER-IP"].Delete(PortEntry(k.Addr, TCP, 443))
		}, "del-service del-address del-entry"},
		{"set entry", func(st *State) { st.Sets["KUBE-HOSTS"].Add(HostEntry(ip("10.0.0.11"))) }, "add-entry"},
		{"set type", func(st *State) { st.Sets["KUBE-HOSTS"].Type = HashNet }, "destroy-set create-set add-entry"},
		{"set gone", func(st *State) { delete(st.Sets, "KUBE-HOSTS") }, "destroy-set"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			des := sampleState()
			c.change(des)
			if err := des.Validate(); err != nil {
				t.Fatal(err)
			}
			ops := Diff(sampleState(), des, DiffOptions{})
			if got := kinds(ops); got != c.want {
				t.Fatalf("ops %q, want %q:\n%v", got, c.want, ops)
			}
			// Applying the ops to the current state gives the desired one.
			f := NewFake(testOptions)
			mustApply(t, f, Diff(nil, sampleState(), DiffOptions{}))
			mustApply(t, f, ops)
			if got := readState(t, f); !got.Equal(des) {
				t.Fatalf("after apply:\n%v\nwant\n%v", got, des)
			}
		})
	}
}

func TestDiffChangedScope(t *testing.T) {
	cur, des := sampleState(), sampleState()
	des.Services[tcp("10.96.0.1", 443)].Reals[0].Weight = 9
	des.Services[tcp("10.0.0.10", 30080)].Scheduler = "lc"
	des.AddAddress(ip("10.96.7.7"))
	ops := Diff(cur, des, DiffOptions{Changed: &Changed{Services: []VSKey{tcp("10.96.0.1", 443)}}})
	if got := kinds(ops); got != "update-real" {
		t.Fatalf("scoped diff gave %q:\n%v", got, ops)
	}
	ops = Diff(cur, des, DiffOptions{Changed: &Changed{Addresses: []netip.Addr{ip("10.96.7.7")}}})
	if got := kinds(ops); got != "add-address" {
		t.Fatalf("scoped diff gave %q", got)
	}
}

// clock is an injectable clock for graceful termination.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func TestGracefulTermination(t *testing.T) {
	k := tcp("10.96.0.1", 443)
	gone := rs("10.244.2.3", 6443, 1)
	clk := &clock{now: time.Unix(1000, 0)}
	term := &Terminating{Now: clk.Now, GracePeriod: time.Minute}
	opts := DiffOptions{Terminating: term}
	des := sampleState()
	des.Services[k].Reals = des.Services[k].Reals[1:] // 10.244.1.2 stays, 10.244.2.3 leaves

	f := NewFake(testOptions)
	mustApply(t, f, Diff(nil, sampleState(), DiffOptions{}))
	if err := f.SetConns(k, gone.Key(), 2, 0); err != nil {
		t.Fatal(err)
	}
	step := func(want string) {
		t.Helper()
		ops := Diff(readState(t, f), des, opts)
		if got := kinds(ops); got != want {
			t.Fatalf("ops %q, want %q:\n%v", got, want, ops)
		}
		mustApply(t, f, ops)
	}
	step("update-real") // weight 0, connections stay
	if v, _ := f.ReadService(t.Context(), k); v.Reals[findReal(v.Reals, gone.Key())].Weight != 0 || term.Len() != 1 {
		t.Fatalf("not terminating: %+v, list %d", v, term.Len())
	}
	clk.now = clk.now.Add(30 * time.Second)
	step("") // still draining
	clk.now = clk.now.Add(31 * time.Second)
	step("del-real") // grace period over
	if term.Len() != 0 {
		t.Fatal("deleted real server still listed")
	}

	// Drained before the grace period: deleted on the next diff.
	mustApply(t, f, Diff(readState(t, f), sampleState(), DiffOptions{}))
	_ = f.SetConns(k, gone.Key(), 1, 0)
	step("update-real")
	_ = f.SetConns(k, gone.Key(), 0, 5) // inactive ones do not count for TCP
	step("del-real")

	// Coming back before deletion restores the weight.
	mustApply(t, f, Diff(readState(t, f), sampleState(), DiffOptions{}))
	_ = f.SetConns(k, gone.Key(), 1, 0)
	step("update-real")
	ops := Diff(readState(t, f), sampleState(), opts)
	if kinds(ops) != "update-real" || ops[0].Real.Weight != 1 || term.Len() != 0 {
		t.Fatalf("restore: %v (list %d)", ops, term.Len())
	}
}

func TestGracefulUDPWaitsForInactive(t *testing.T) {
	k := VSKey{Protocol: UDP, Addr: ip("10.96.0.10"), Port: 53}
	cur := sampleState()
	cur.Services[k].Reals[0].Weight = 0
	cur.Services[k].Reals[0].InactiveConns = 3
	des := sampleState()
	des.Services[k].Reals = nil
	term := &Terminating{}
	if ops := Diff(cur, des, DiffOptions{Terminating: term}); len(ops) != 0 || term.Len() != 1 {
		t.Fatalf("UDP flows pending: %v, list %d", ops, term.Len())
	}
	cur.Services[k].Reals[0].InactiveConns = 0
	if ops := Diff(cur, des, DiffOptions{Terminating: term, Changed: &Changed{}}); kinds(ops) != "del-real" {
		t.Fatalf("drained UDP real server: %v", ops)
	}
}

func mustApply(t testing.TB, k Kernel, ops Ops) ApplyResult {
	t.Helper()
	res, err := k.Apply(t.Context(), ops)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func readState(t testing.TB, k Kernel) *State {
	t.Helper()
	st, err := k.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestGracefulScopedRefresh drains a real server while diffing only what
// changed: Refresh brings in the connection counts Diff needs.
func TestGracefulScopedRefresh(t *testing.T) {
	k := tcp("10.96.0.1", 443)
	gone := rs("10.244.2.3", 6443, 1)
	f := NewFake(testOptions)
	cur := sampleState()
	mustApply(t, f, Diff(nil, cur, DiffOptions{}))
	_ = f.SetConns(k, gone.Key(), 1, 0)
	cur = readState(t, f)
	des := sampleState()
	des.Services[k].Reals = []RealServer{rs("10.244.1.2", 6443, 1)}
	term := &Terminating{}
	scoped := DiffOptions{Terminating: term, Changed: &Changed{Services: []VSKey{k}}}
	mustApply(t, f, Diff(cur, des, scoped)) // weight 0
	_ = f.SetConns(k, gone.Key(), 0, 0)
	if term.Len() != 1 {
		t.Fatalf("terminating list has %d", term.Len())
	}
	// Nothing else changed: only the terminating server is looked at.
	scoped.Changed = &Changed{}
	if ops := Diff(cur, des, scoped); len(ops) != 1 || ops[0].Kind != OpUpdateReal {
		t.Fatalf("stale counters: %v", ops) // cur still says weight 1, 1 connection
	}
	if err := term.Refresh(t.Context(), f, cur); err != nil {
		t.Fatal(err)
	}
	ops := Diff(cur, des, scoped)
	if kinds(ops) != "del-real" {
		t.Fatalf("after Refresh: %v", ops)
	}
	mustApply(t, f, ops)
	if got := readState(t, f); !got.Equal(des) || term.Len() != 0 {
		t.Fatalf("not drained: %v (list %d)", got, term.Len())
	}
}
