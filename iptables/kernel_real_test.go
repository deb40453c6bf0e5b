package iptables

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/vishvananda/netns"
)

// newNetNS creates a throwaway network namespace, destroyed at the end of
// the test.
func newNetNS(t testing.TB) netns.NsHandle {
	t.Helper()
	return netharness.NewNamespaceT(t)
}

var variants = []Variant{Legacy, NFT}

func needVariant(t testing.TB, v Variant) {
	t.Helper()
	kerneltest.Need(t, Tool(v, IPv4, "-save"), Tool(v, IPv4, "-restore"), Tool(v, IPv6, "-save"), Tool(v, IPv6, "-restore"), Tool(v, IPv4, ""))
}

// newExec returns an Exec of variant v working in a fresh netns.
func newExec(t testing.TB, v Variant) *Exec {
	t.Helper()
	needVariant(t, v)
	e, err := NewExec(context.Background(), ExecOptions{Variant: v, Run: NetNSRunner(newNetNS(t))})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNetNSRunnerEntersNamespace(t *testing.T) {
	kerneltest.Need(t, "readlink")
	ns := newNetNS(t)
	out, _, err := NetNSRunner(ns)(context.Background(), "readlink", []string{"/proc/self/ns/net"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var st, self os.FileInfo
	if st, err = os.Stat("/proc/self/fd/" + itoa(int(ns))); err != nil {
		t.Fatal(err)
	}
	if self, err = os.Stat("/proc/self/ns/net"); err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSpace(string(out))
	if want := "net:[" + itoa(int(inode(st))) + "]"; got != want {
		t.Fatalf("child in %s, want %s", got, want)
	}
	if os.SameFile(st, self) {
		t.Fatal("test process is inside the new namespace")
	}
}

func TestRealStateCases(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			needVariant(t, v)
			runStateCases(t, func(t *testing.T) Kernel { return newExec(t, v) }, false)
		})
	}
}
