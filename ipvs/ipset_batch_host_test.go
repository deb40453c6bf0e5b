package ipvs

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
)

// bigSet returns a hash:ip,port,ip set with n entries from offset off.
func bigSet(n, off int) *State {
	st := NewState()
	set := st.AddSet(NewIPSet("KUBE-BIG", HashIPPortIP, false))
	set.MaxElem = setMaxElem
	for i := off; i < off+n; i++ {
		a := netip.AddrFrom4([4]byte{10, 244, byte(i >> 8), byte(i)})
		set.Add(PortIPEntry(a, TCP, 8080, a))
	}
	return st
}

// bigSetKernel programs bigSet(n, 0) into a new namespace's sets, in n+1
// writes (the set and its entries).
func bigSetKernel(t *testing.T, n int) (*engine, string, *State) {
	kerneltest.Need(t, "ip", "ipset")
	ns := newNamedNetns(t)
	k := setsOnlyKernel(t, ns)
	st := bigSet(n, 0)
	if res, err := k.Apply(context.Background(), Diff(nil, st, DiffOptions{})); err != nil || res.Writes != n+1 {
		t.Fatalf("Apply = %v, %v; want %d writes", res, err, n+1)
	}
	return k, ns, st
}

// TestIPSetBatchRefusalUndone programs thousands of entries in batched
// writes, then makes the kernel refuse one entry in the middle of a batch
// (it exists already) and a failure hook stop another run, and checks each
// time that the kernel holds what it held before.
func TestIPSetBatchRefusalUndone(t *testing.T) {
	ctx := context.Background()
	k, ns, first := bigSetKernel(t, 3000)
	before := inNetns(t, ns, "", "ipset", "save")
	second := bigSet(6000, 0)
	ops := Diff(first, second, DiffOptions{})
	refused := slices.IndexFunc(ops, func(o Op) bool { return o.Kind == OpAddEntry && o.Entry.Addr().Addr() == ip("10.244.17.112") })
	inNetns(t, ns, "", "ipset", "add", "KUBE-BIG", "10.244.17.112,tcp:8080,10.244.17.112")
	withExtra := inNetns(t, ns, "", "ipset", "save")
	_, err := k.Apply(ctx, ops)
	var ae *ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, ErrExists) || ae.UndoErr != nil || ae.Index != refused {
		t.Fatalf("Apply = %v, want entry %d refused (exists) with a clean undo", err, refused)
	}
	if after := inNetns(t, ns, "", "ipset", "save"); !slices.Equal(addLines(after), addLines(withExtra)) {
		t.Fatalf("after the refused batch: %d entries, want %d", len(addLines(after)), len(addLines(withExtra)))
	}
	inNetns(t, ns, "", "ipset", "del", "KUBE-BIG", "10.244.17.112,tcp:8080,10.244.17.112")
	k.SetFailure(func(o Op) error {
		if o.Kind == OpDelEntry && o.Entry.Addr().Addr() == ip("10.244.4.0") {
			return ErrInjected
		}
		return nil
	})
	if _, err := k.Apply(ctx, Diff(first, bigSet(1000, 2000), DiffOptions{})); !errors.Is(err, ErrInjected) {
		t.Fatalf("Apply = %v, want the injected failure", err)
	}
	if after := inNetns(t, ns, "", "ipset", "save"); !slices.Equal(addLines(after), addLines(before)) {
		t.Fatalf("after the stopped run: %d entries, want %d", len(addLines(after)), len(addLines(before)))
	}
	k.SetFailure(nil)
	if _, err := k.Apply(ctx, Diff(first, second, DiffOptions{})); err != nil {
		t.Fatal(err)
	}
	if got, err := k.Read(ctx); err != nil || !setsOf(got).Equal(second) {
		t.Fatalf("Read = %v; want the 6000 entries", err)
	}
}

// TestIPSetBatchLostAnswers loses a batch's answers (its socket is closed):
// the set is read back, nothing is counted as applied that is not, and the
// kernel keeps what it held.
func TestIPSetBatchLostAnswers(t *testing.T) {
	ctx := context.Background()
	k, ns, first := bigSetKernel(t, 100)
	before := inNetns(t, ns, "", "ipset", "save")
	k.d.(*realDriver).batch.sock.Close()
	_, err := k.Apply(ctx, Diff(first, bigSet(200, 0), DiffOptions{}))
	var ae *ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, errUnknownOutcome) || ae.UndoErr != nil || ae.Index != 0 {
		t.Fatalf("Apply = %v, want an unknown outcome at the first entry, nothing to undo", err)
	}
	if after := inNetns(t, ns, "", "ipset", "save"); !slices.Equal(addLines(after), addLines(before)) {
		t.Fatalf("after the lost batch: %d entries, want %d", len(addLines(after)), len(addLines(before)))
	}
}
