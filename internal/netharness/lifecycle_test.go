package netharness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/proxykit/proxykit/internal/nsthread"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// hostState is what a topology must leave unchanged in the test's own
// namespace and on the machine.
func hostState(t *testing.T) string {
	t.Helper()
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	runNetns, _ := os.ReadDir("/run/netns")
	fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	return fmt.Sprintf("links %v, /run/netns entries %d, ip_forward %s", names, len(runNetns), strings.TrimSpace(string(fwd)))
}

// netnsRefs lists the network namespaces (as "net:[inode]") that this
// process's fds and threads refer to.
func netnsRefs(t *testing.T) map[string]bool {
	t.Helper()
	refs := map[string]bool{}
	for _, glob := range []string{"/proc/self/fd/*", "/proc/self/task/*/ns/net"} {
		paths, err := filepath.Glob(glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			if target, err := os.Readlink(p); err == nil && strings.HasPrefix(target, "net:[") {
				refs[target] = true
			}
		}
	}
	return refs
}

func TestCloseReleasesEverything(t *testing.T) {
	kerneltest.Need(t)
	before := hostState(t)
	topo, err := Build(context.Background(), nil, StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, name := range topo.order {
		var st unix.Stat_t
		if err := unix.Fstat(int(topo.spaces[name].ns), &st); err != nil {
			t.Fatal(err)
		}
		ours = append(ours, fmt.Sprintf("net:[%d]", st.Ino))
	}
	if len(ours) != 6 {
		t.Fatalf("%d namespaces, want 6 (node, 3 pods, 2 clients)", len(ours))
	}
	refs := netnsRefs(t)
	for _, ns := range ours {
		if !refs[ns] {
			t.Fatalf("open topology: %s not referenced by this process (check is blind)", ns)
		}
	}
	if err := topo.Close(); err != nil {
		t.Fatal(err)
	}
	if err := topo.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	// A helper thread may still be exiting just after it reported.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var held []string
	err = waitFor(ctx, "namespace references to go", func() (bool, error) {
		refs, held = netnsRefs(t), nil
		for _, ns := range ours {
			if refs[ns] {
				held = append(held, ns)
			}
		}
		return len(held) == 0, nil
	})
	if err != nil {
		t.Errorf("closed topology: %v still referenced by this process", held)
	}
	if after := hostState(t); after != before {
		t.Errorf("host state changed:\nbefore %s\nafter  %s", before, after)
	}
	if r := topo.Probe(context.Background(), "client-a", "tcp", ap("10.244.1.2:8080"), ProbeOptions{}); !errors.Is(r.Err, ErrClosed) {
		t.Errorf("probe after Close: %v, want ErrClosed", r)
	}
	if err := topo.Do(NodeName, func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Do after Close: %v, want ErrClosed", err)
	}
}

func countFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

func TestRepeatedBuildsDoNotLeak(t *testing.T) {
	kerneltest.Need(t)
	build := func() {
		topo, err := Build(context.Background(), nil, StandardSpec())
		if err != nil {
			t.Fatal(err)
		}
		if r := topo.Probe(context.Background(), "client-a", "udp", ap("10.244.1.2:8080"), ProbeOptions{}); r.Outcome != Reached {
			t.Errorf("probe: %v", r)
		}
		if err := topo.Close(); err != nil {
			t.Fatal(err)
		}
	}
	build() // warm up lazily started runtime goroutines and fds
	fds, goroutines := countFDs(t), runtime.NumGoroutine()
	const n = 20
	for range n {
		build()
	}
	// Goroutines of finished helper threads exit just after reporting.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := waitFor(ctx, "goroutines to settle", func() (bool, error) {
		return runtime.NumGoroutine() <= goroutines+2, nil
	})
	if err != nil {
		t.Errorf("goroutines: %d before %d builds, %d after", goroutines, n, runtime.NumGoroutine())
	}
	if after := countFDs(t); after > fds+2 {
		t.Errorf("fds: %d before %d builds, %d after", fds, n, after)
	}
}

func TestDoPropagates(t *testing.T) {
	kerneltest.Need(t)
	topo := BuildT(t, Spec{Node: Node{NoBridgeNF: true}})
	sentinel := errors.New("sentinel")
	if err := topo.Do(NodeName, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("error: got %v", err)
	}
	if err := topo.Do(NodeName, func() error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panic: got %v", err)
	}
	if err := topo.Do(NodeName, func() error { runtime.Goexit(); return nil }); !errors.Is(err, nsthread.ErrGoexit) {
		t.Errorf("Goexit: got %v", err)
	}
	if err := topo.Do("pod-x", func() error { return nil }); !errors.Is(err, ErrUnknownNamespace) {
		t.Errorf("unknown namespace: got %v", err)
	}
	cmd := exec.Command("true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := topo.Start(NodeName, cmd); !errors.Is(err, ErrPdeathsig) {
		t.Errorf("Pdeathsig: got %v", err)
	}
	_, err := topo.Exec(context.Background(), NodeName, "sh", "-c", "echo oops >&2; exit 3")
	var ee *ExecError
	if !errors.As(err, &ee) || ee.Stderr != "oops\n" || ee.NS != NodeName {
		t.Errorf("failing command: got %#v", err)
	}
	path, err := topo.NSPath(NodeName)
	if err != nil {
		t.Fatal(err)
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if !h.Equal(topo.NodeNS()) {
		t.Errorf("NSPath %s opens %v, want the node namespace %v", path, h.UniqueId(), topo.NodeNS().UniqueId())
	}
}

func TestHairpinNeedsHairpinMode(t *testing.T) {
	kerneltest.Need(t, "nft")
	spec := StandardSpec()
	spec.Node.NoHairpin = true
	topo := BuildT(t, spec)
	if _, err := topo.ExecInput(context.Background(), NodeName, strings.NewReader(testRules), "nft", "-f", "-"); err != nil {
		t.Fatal(err)
	}
	r := topo.Probe(context.Background(), "pod-a", "tcp", ap("10.96.0.1:80"), ProbeOptions{Timeout: 300 * time.Millisecond})
	if r.Outcome != Timeout {
		t.Errorf("hairpin off: pod-a -> service -> pod-a got %v, want timeout", r)
	}
	expectReach(t, topo, "pod-b", "tcp", "10.96.0.1:80", "pod-a", "10.244.1.3", ProbeOptions{})
}

func TestCloseWaitsForDo(t *testing.T) {
	kerneltest.Need(t)
	topo, err := Build(context.Background(), nil, Spec{Node: Node{NoBridgeNF: true}})
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	var finished bool
	doErr := make(chan error, 1)
	go func() {
		doErr <- topo.Do(NodeName, func() error {
			close(started)
			<-release
			finished = true
			return nil
		})
	}()
	<-started
	closed := make(chan bool, 1)
	go func() {
		_ = topo.Close()
		closed <- finished
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := waitFor(ctx, "Close to begin", func() (bool, error) {
		topo.mu.RLock()
		defer topo.mu.RUnlock()
		return topo.closed, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := topo.Do(NodeName, func() error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("Do while closing: %v, want ErrClosed", err)
	}
	close(release)
	if !<-closed {
		t.Error("Close returned before a running Do finished")
	}
	if err := <-doErr; err != nil {
		t.Error(err)
	}
}
