package nsthread_test

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/internal/nsthread"
)

// In runs fn inside the namespace (a listener opened there is not
// reachable from here), propagates fn's error, a panic and a Goexit, and
// leaves the caller's thread where it was.
func TestIn(t *testing.T) {
	kerneltest.Need(t)
	ns := netharness.NewNamespaceT(t)
	here, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer here.Close()

	var inside netns.NsHandle
	if err := nsthread.In(ns, func() error { inside, err = netns.Get(); return err }); err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	if !inside.Equal(ns) || inside.Equal(here) {
		t.Fatalf("fn ran in %s, want %s", inside.UniqueId(), ns.UniqueId())
	}

	var ln net.Listener
	if err := nsthread.In(ns, func() error { ln, err = net.Listen("tcp4", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if c, err := net.Dial("tcp4", ln.Addr().String()); err == nil {
		c.Close()
		t.Fatalf("a listener opened in the namespace answered from the host's")
	}

	sentinel := errors.New("sentinel")
	if err := nsthread.In(ns, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("error: got %v", err)
	}
	if err := nsthread.In(ns, func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panic: got %v", err)
	}
	if err := nsthread.In(ns, func() error { runtime.Goexit(); return nil }); !errors.Is(err, nsthread.ErrGoexit) {
		t.Errorf("Goexit: got %v", err)
	}
	ran := false
	if err := nsthread.Do(func() error { return sentinel }, func() error { ran = true; return nil }); !errors.Is(err, sentinel) || ran {
		t.Errorf("failed enter: got %v, fn ran: %v", err, ran)
	}
	after, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	if !after.Equal(here) {
		t.Errorf("the caller's thread moved to %s", after.UniqueId())
	}
}

// Open a listener inside a network namespace (here a fresh one; root
// needed). Sockets stay in the namespace they were created in, whatever
// thread uses them later.
func ExampleIn() {
	ns, err := netharness.NewNamespace()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ns.Close()
	var ln net.Listener
	err = nsthread.In(ns, func() error {
		ln, err = net.Listen("tcp4", "127.0.0.1:8080")
		return err
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ln.Close()
	fmt.Println("listening inside the namespace on", ln.Addr())
}
