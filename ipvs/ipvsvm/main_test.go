package ipvsvm

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/internal/nsthread"
	"github.com/proxykit/proxykit/internal/vmtest"
	"github.com/proxykit/proxykit/ipvs"
)

func TestMain(m *testing.M) { vmtest.Main(m, vmtest.Options{}) }

// testNS is a throwaway network namespace with lo up, closed at the end of
// the test (which destroys everything in it).
type testNS struct {
	h    netns.NsHandle
	path string
}

func newNS(t testing.TB) *testNS {
	t.Helper()
	vmtest.Need(t, "ipvsadm", "ipset")
	h := netharness.NewNamespaceT(t) // lo up: IPVS needs a local table
	ns := &testNS{h: h, path: fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(h))}
	return ns
}

// do runs f on a thread inside the namespace (sockets and child processes
// created there belong to it). f runs on another goroutine: it must not
// call t.Fatal; it records its errors for the caller to check.
func (ns *testNS) do(t testing.TB, f func()) {
	t.Helper()
	if err := nsthread.In(ns.h, func() error { f(); return nil }); err != nil {
		t.Fatal(err)
	}
}

// run runs a command inside the namespace with stdin and returns stdout.
func (ns *testNS) run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	var out []byte
	var err error
	ns.do(t, func() {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		cmd.Stderr = os.Stderr
		out, err = cmd.Output()
	})
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

// open opens a Real kernel on the namespace.
func (ns *testNS) open(t testing.TB, opts ipvs.Options) *ipvs.Real {
	t.Helper()
	k, err := ipvs.NewReal(context.Background(), ns.path, opts)
	if err != nil {
		t.Fatalf("NewReal: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func netipAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
