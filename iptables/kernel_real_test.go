package iptables

import (
	"context"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/vishvananda/netns"
)

// newNetNS creates a throwaway network namespace (closed at the end of the
// test, which destroys it) from a goroutine with a locked thread, which
// returns to its namespace before unlocking (if it cannot, it stays locked
// and the runtime discards it).
func newNetNS(t testing.TB) netns.NsHandle {
	t.Helper()
	type result struct {
		ns  netns.NsHandle
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer orig.Close()
		ns, err := netns.New()
		if err == nil {
			if err = netns.Set(orig); err == nil {
				runtime.UnlockOSThread()
			}
		}
		ch <- result{ns, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("new netns: %v", r.err)
	}
	t.Cleanup(func() { r.ns.Close() })
	return r.ns
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
