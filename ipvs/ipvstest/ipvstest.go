// Package ipvstest is a conformance suite for ipvs.Kernel implementations:
// the same state tests run against the in-memory ipvs.Fake (in package ipvs's
// tests) and against the real kernel (in the VM, package ipvs/ipvsvm). Users
// who write their own Kernel can run it too.
package ipvstest

import (
	"context"
	"errors"
	"testing"

	"github.com/proxykit/proxykit/ipvs"
)

// Opener opens a handle, with the given options, on one kernel: every call
// for the same kernel sees the same state (a second program, or a restart).
type Opener func(t *testing.T, opts ipvs.Options) ipvs.Kernel

// Injector is what the suite needs of a kernel besides ipvs.Kernel: failure
// injection (ipvs.Fake and ipvs.Real have it).
type Injector interface {
	SetFailure(func(ipvs.Op) error)
}

// Run runs every conformance test, each on a fresh, empty kernel from fresh.
func Run(t *testing.T, fresh func(t *testing.T) Opener) {
	tests := []struct {
		name string
		f    func(t *testing.T, open Opener)
	}{
		{"Program", testProgram},
		{"SmallChanges", testSmallChanges},
		{"Rollback", testRollback},
		{"Foreign", testForeign},
		{"Restart", testRestart},
		{"Strict", testStrict},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.f(t, fresh(t)) })
	}
}

// Sync diffs k against desired, applies, and returns the result.
func Sync(t testing.TB, k ipvs.Kernel, desired *ipvs.State) ipvs.ApplyResult {
	t.Helper()
	cur := Read(t, k)
	res, err := k.Apply(context.Background(), ipvs.Diff(cur, desired, ipvs.DiffOptions{}))
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

// Read reads k or fails t.
func Read(t testing.TB, k ipvs.Kernel) *ipvs.State {
	t.Helper()
	st, err := k.Read(context.Background())
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return st
}

// MustEqual fails t when got and want differ, printing both.
func MustEqual(t testing.TB, what string, got, want *ipvs.State) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: kernel holds\n%v\nwant\n%v\ndiff:\n%v", what, got, want, ipvs.Diff(got, want, ipvs.DiffOptions{}))
	}
}

func testProgram(t *testing.T, open Opener) {
	k := open(t, Options)
	Sync(t, k, Sample())
	MustEqual(t, "after programming", Read(t, k), Sample())
	if ops := ipvs.Diff(Read(t, k), Sample(), ipvs.DiffOptions{}); len(ops) != 0 {
		t.Fatalf("a second diff is not empty:\n%v", ops)
	}
	Sync(t, k, Changed())
	MustEqual(t, "after the change", Read(t, k), Changed())
	Sync(t, k, ipvs.NewState())
	MustEqual(t, "after removing all", Read(t, k), ipvs.NewState())
}

// testSmallChanges checks that one real-server change costs at most 3 writes.
func testSmallChanges(t *testing.T, open Opener) {
	k := open(t, Options)
	Sync(t, k, Sample())
	key := ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr("10.96.0.1"), Port: 443}
	steps := []func(v *ipvs.VirtualServer){
		func(v *ipvs.VirtualServer) { v.Reals = append(v.Reals, rsv("10.244.3.4", 6443, 1)) },
		func(v *ipvs.VirtualServer) { v.Reals[0].Weight = 9 },
		func(v *ipvs.VirtualServer) { v.Reals = v.Reals[1:] },
	}
	st := Sample()
	for i, step := range steps {
		step(st.Services[key])
		res := Sync(t, k, st)
		MustEqual(t, "after a small change", Read(t, k), st)
		if res.Writes < 1 || res.Writes > 3 {
			t.Fatalf("step %d: %d kernel writes for one real-server change", i, res.Writes)
		}
	}
}

// testRollback fails the first, a middle and the last write of a large
// change and checks the kernel is back where it was.
func testRollback(t *testing.T, open Opener) {
	ctx := context.Background()
	k := open(t, Options)
	inj, ok := k.(Injector)
	if !ok {
		t.Skip("kernel has no failure injection")
	}
	Sync(t, k, Sample())
	ops := ipvs.Diff(Read(t, k), Changed(), ipvs.DiffOptions{})
	var total int
	inj.SetFailure(func(ipvs.Op) error { total++; return nil })
	if _, err := k.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	inj.SetFailure(nil)
	Sync(t, k, Sample())
	for _, failAt := range []int{0, total / 2, total - 1} {
		n := 0
		inj.SetFailure(func(ipvs.Op) error {
			n++
			if n-1 == failAt {
				return ipvs.ErrInjected
			}
			return nil
		})
		_, err := k.Apply(ctx, ops)
		inj.SetFailure(nil)
		var ae *ipvs.ApplyError
		if !errors.As(err, &ae) || !errors.Is(err, ipvs.ErrInjected) || ae.UndoErr != nil {
			t.Fatalf("write %d of %d: Apply = %v, want an injected failure and a clean undo", failAt, total, err)
		}
		MustEqual(t, "after rollback", Read(t, k), Sample())
	}
	if _, err := k.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	MustEqual(t, "after the retried change", Read(t, k), Changed())
}

// testForeign checks that another program's objects are neither read,
// changed nor cleaned up.
func testForeign(t *testing.T, open Opener) {
	ctx := context.Background()
	other := open(t, ForeignOptions)
	Sync(t, other, Foreign())
	k := open(t, Options)
	MustEqual(t, "ours before programming", Read(t, k), ipvs.NewState())
	Sync(t, k, Sample())
	MustEqual(t, "ours", Read(t, k), Sample())
	MustEqual(t, "theirs", Read(t, other), Foreign())
	for _, v := range Foreign().SortedServices() {
		_, err := k.Apply(ctx, ipvs.Ops{{Kind: ipvs.OpDelService, VS: v}})
		if !errors.Is(err, ipvs.ErrNotOurs) {
			t.Fatalf("deleting foreign %v: %v, want ErrNotOurs", v.VSKey, err)
		}
	}
	if err := k.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	MustEqual(t, "ours after cleanup", Read(t, k), ipvs.NewState())
	MustEqual(t, "theirs after our cleanup", Read(t, other), Foreign())
}

// testRestart checks that ownership is derived from the kernel: a new handle
// sees everything the first programmed, NodePort virtual servers included.
func testRestart(t *testing.T, open Opener) {
	Sync(t, open(t, Options), Changed())
	again := open(t, Options)
	MustEqual(t, "after a restart", Read(t, again), Changed())
	Sync(t, again, Sample())
	MustEqual(t, "synced after a restart", Read(t, again), Sample())
}

// testStrict checks that the kernel rejects what makes no sense, without
// changing anything.
func testStrict(t *testing.T, open Opener) {
	ctx := context.Background()
	k := open(t, Options)
	Sync(t, k, Sample())
	v := Sample().Services[ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr("10.96.0.1"), Port: 443}]
	missing := &ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.TCP, Addr: addr("10.96.0.1"), Port: 444}, Scheduler: "rr"}
	bad := []ipvs.Ops{
		{{Kind: ipvs.OpAddService, VS: v.Settings()}},
		{{Kind: ipvs.OpAddReal, VS: v, Real: v.Reals[0]}},
		{{Kind: ipvs.OpDelReal, VS: v, Real: rsv("10.244.7.7", 1, 1)}},
		{{Kind: ipvs.OpAddAddress, Addr: addr("10.96.0.1")}},
		{{Kind: ipvs.OpDelAddress, Addr: addr("10.96.7.7")}},
		{{Kind: ipvs.OpAddAddress, Addr: addr("10.96.0.44")}, {Kind: ipvs.OpAddService, VS: missing}, {Kind: ipvs.OpAddService, VS: missing}},
	}
	for i, ops := range bad {
		if _, err := k.Apply(ctx, ops); err == nil {
			t.Fatalf("case %d accepted:\n%v", i, ops)
		}
		MustEqual(t, "after a rejected apply", Read(t, k), Sample())
	}
}
