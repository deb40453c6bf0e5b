package ipvs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// newNamedNetns creates a throwaway named network namespace, removed at the
// end of the test.
func newNamedNetns(t *testing.T) string {
	t.Helper()
	name := fmt.Sprintf("pkipvs-%d-%d", os.Getpid(), len(t.Name()))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del: %v: %s", err, out)
		}
	})
	return name
}

// inNetns runs a command in the named namespace with stdin, returning stdout.
func inNetns(t *testing.T, ns, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v: %s", args, err, stderr.String())
	}
	return string(out)
}

// setsOnlyKernel is the real engine over a driver without IPVS: only the
// ipset (and address) operations work. The host kernel has ipsets but no IPVS.
func setsOnlyKernel(t *testing.T, ns string) *engine {
	t.Helper()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE, unix.NETLINK_NETFILTER)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nh.Close)
	sock, err := nl.GetNetlinkSocketAt(h, netns.None(), unix.NETLINK_NETFILTER)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sock.Close)
	return newEngine(&realDriver{nl: nh, batch: newIPSetBatcher(sock), dummy: DefaultDummy}, testOptions)
}

func setsOf(st *State) *State { return &State{Sets: st.Sets} }

// addLines returns the sorted "add" lines of ipset save text.
func addLines(text string) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "add ") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// TestIPSetTextRestores proves that `ipset restore` accepts SaveIPSets and
// that reading the sets back over netlink gives the same state.
func TestIPSetTextRestores(t *testing.T) {
	kerneltest.Need(t, "ip", "ipset")
	ns := newNamedNetns(t)
	want := setsOf(sampleState())
	inNetns(t, ns, want.SaveIPSets(), "ipset", "restore")
	got, err := setsOnlyKernel(t, ns).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !setsOf(got).Equal(want) {
		t.Fatalf("read back:\n%s\nwant:\n%s", got.SaveIPSets(), want.SaveIPSets())
	}
	saved := inNetns(t, ns, "", "ipset", "save")
	if a, b := addLines(saved), addLines(want.SaveIPSets()); !slices.Equal(a, b) {
		t.Fatalf("ipset save entries %q, want %q", a, b)
	}
}

// TestIPSetApplyAndRollback programs sets over netlink, fails an Apply on
// purpose and checks that the kernel holds what it held before.
func TestIPSetApplyAndRollback(t *testing.T) {
	kerneltest.Need(t, "ip", "ipset")
	ctx := context.Background()
	ns := newNamedNetns(t)
	k := setsOnlyKernel(t, ns)
	first := setsOf(sampleState())
	if _, err := k.Apply(ctx, Diff(nil, first, DiffOptions{})); err != nil {
		t.Fatal(err)
	}
	before := inNetns(t, ns, "", "ipset", "save")

	second := first.Clone()
	delete(second.Sets, "KUBE-HOSTS")
	second.Sets["KUBE-CLUSTER-IP"].Delete(PortEntry(ip("10.96.0.10"), UDP, 53))
	second.Sets["KUBE-CLUSTER-IP"].Add(PortEntry(ip("10.96.0.99"), TCP, 80))
	second.AddSet(NewIPSet("KUBE-NEW", HashIP, false)).Add(HostEntry(ip("10.1.1.1")))
	ops := Diff(first, second, DiffOptions{})
	k.SetFailure(func(o Op) error {
		if o.Kind == OpDestroySet {
			return ErrInjected
		}
		return nil
	})
	_, err := k.Apply(ctx, ops)
	var ae *ApplyError
	if !errors.As(err, &ae) || !errors.Is(err, ErrInjected) || ae.UndoErr != nil || ae.Index != len(ops)-1 {
		t.Fatalf("Apply = %v, want an injected failure with a clean undo", err)
	}
	if after := inNetns(t, ns, "", "ipset", "save"); addLines(after) == nil || !slices.Equal(addLines(after), addLines(before)) {
		t.Fatalf("after rollback:\n%s\nbefore:\n%s", after, before)
	}
	k.SetFailure(nil)
	if _, err := k.Apply(ctx, ops); err != nil {
		t.Fatal(err)
	}
	got, err := k.Read(ctx)
	if err != nil || !setsOf(got).Equal(second) {
		t.Fatalf("Read = %v, %v; want\n%s", got, err, second.SaveIPSets())
	}
	if err := k.Cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	if left := inNetns(t, ns, "", "ipset", "list", "-n"); strings.TrimSpace(left) != "" {
		t.Fatalf("sets left after Cleanup: %q", left)
	}
}
