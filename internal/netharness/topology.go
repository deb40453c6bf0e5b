package netharness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/proxykit/proxykit/internal/kerneltest"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// DefaultBuildTimeout bounds Build when its context has no deadline.
const DefaultBuildTimeout = 20 * time.Second

// ErrUnknownNamespace is returned for a name that is neither NodeName nor a
// pod or client of the topology.
var ErrUnknownNamespace = errors.New("netharness: unknown namespace")

// ErrClosed is returned by methods of a closed Topology.
var ErrClosed = errors.New("netharness: topology closed")

// Topology is a built set of namespaces. Its methods are safe for concurrent
// use; Close releases everything.
type Topology struct {
	spec    Spec
	log     *slog.Logger
	mu      sync.RWMutex
	closed  bool
	active  sync.WaitGroup // running Do calls
	spaces  map[string]*space
	order   []string // creation order
	servers *serverSet
}

type space struct {
	ns netns.NsHandle
	nl *netlink.Handle
}

// Build creates the topology described by spec: all namespaces, links,
// addresses, routes, sysctls and servers, and waits until every link is up,
// every bridge port forwards and every server answers from the node. On error
// everything built so far is released. Callers must Close the result. A nil
// log discards messages.
func Build(ctx context.Context, log *slog.Logger, spec Spec) (*Topology, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	spec = spec.withDefaults()
	if err := checkFeatures(spec); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultBuildTimeout)
		defer cancel()
	}
	t := &Topology{spec: spec, log: log, spaces: map[string]*space{}, servers: &serverSet{}}
	start := time.Now()
	if err := t.build(ctx); err != nil {
		return nil, errors.Join(err, t.Close())
	}
	log.Debug("netharness: topology ready", "pods", len(spec.Pods), "clients", len(spec.Clients), "took", time.Since(start))
	return t, nil
}

// BuildT builds spec for a test: it fails tb on error (a missing kernel
// feature, ErrUnsupported, skips it unless PROXYKIT_KERNEL_TESTS=required),
// logs through tb.Log and closes the topology in tb.Cleanup. Call
// kerneltest.Need first.
func BuildT(tb testing.TB, spec Spec) *Topology {
	tb.Helper()
	log := slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	t, err := Build(context.Background(), log, spec)
	if errors.Is(err, ErrUnsupported) && kerneltest.ModeFromEnv() != kerneltest.Required {
		tb.Skipf("kernel test skipped: %v (set %s=required to fail instead)", err, kerneltest.EnvVar)
	}
	if err != nil {
		tb.Fatalf("netharness: build topology: %v", err)
	}
	tb.Cleanup(func() {
		if err := t.Close(); err != nil {
			tb.Errorf("netharness: close topology: %v", err)
		}
	})
	return t
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

var _ io.Writer = tbWriter{}

func (t *Topology) build(ctx context.Context) error {
	names := []string{NodeName}
	for _, p := range t.spec.Pods {
		names = append(names, p.Name)
	}
	for _, c := range t.spec.Clients {
		names = append(names, c.Name)
	}
	for _, name := range names {
		if err := t.addSpace(name); err != nil {
			return err
		}
	}
	steps := []func(context.Context) error{t.setupNode, t.setupPods, t.setupClients, t.waitLinks, t.startServers, t.waitServers}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// addSpace creates a namespace with a netlink handle in it, lo up and the
// sysctls of tuneSpace.
func (t *Topology) addSpace(name string) error {
	ns, err := NewNamespace()
	if err != nil {
		return fmt.Errorf("netharness: %s: %w", name, err)
	}
	sp := &space{ns: ns}
	t.spaces[name] = sp
	t.order = append(t.order, name)
	if sp.nl, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE); err != nil {
		return fmt.Errorf("netharness: netlink handle in %s: %w", name, err)
	}
	return t.tuneSpace(name)
}

// tuneSpace makes a namespace deterministic for tests: no IPv6 DAD, no ICMP
// redirects sent or accepted (a pod would otherwise learn to reach a service
// IP "directly"), and no ICMP error rate limits (a redirect, or a burst of
// probes, would otherwise silence the next reject).
func (t *Topology) tuneSpace(name string) error {
	kv := map[string]string{
		"net.ipv4.conf.all.accept_redirects":     "0",
		"net.ipv4.conf.default.accept_redirects": "0",
		"net.ipv4.conf.all.send_redirects":       "0",
		"net.ipv4.conf.default.send_redirects":   "0",
		"net.ipv4.icmp_ratelimit":                "0",
	}
	if HaveIPv6() {
		kv["net.ipv6.conf.all.accept_dad"] = "0"
		kv["net.ipv6.conf.default.accept_dad"] = "0"
		kv["net.ipv6.conf.all.accept_redirects"] = "0"
		kv["net.ipv6.conf.default.accept_redirects"] = "0"
		kv["net.ipv6.icmp.ratelimit"] = "0"
	}
	if err := t.setSysctls(name, kv); err != nil {
		return err
	}
	// Per namespace only on newer kernels; global (and left alone) on older ones.
	return t.setSysctlsIfPresent(name, map[string]string{
		"net.ipv4.icmp_msgs_per_sec": "1000000",
		"net.ipv4.icmp_msgs_burst":   "1000000",
	})
}

func (t *Topology) space(name string) (*space, error) {
	sp, release, err := t.acquire(name)
	if err != nil {
		return nil, err
	}
	release()
	return sp, nil
}

// acquire looks up a namespace and keeps Close from releasing it until the
// returned func is called.
func (t *Topology) acquire(name string) (*space, func(), error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return nil, nil, ErrClosed
	}
	sp, ok := t.spaces[name]
	if !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownNamespace, name)
	}
	t.active.Add(1)
	return sp, t.active.Done, nil
}

// Close waits for running Do calls (and so Probe, Exec, ...), stops the
// servers and releases every namespace (the kernel then deletes their links).
// It is idempotent. Do not call it from inside Do.
func (t *Topology) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	t.active.Wait()
	errs := []error{t.servers.stop()}
	for i := len(t.order) - 1; i >= 0; i-- {
		sp := t.spaces[t.order[i]]
		if sp.nl != nil {
			sp.nl.Close()
		}
		if err := sp.ns.Close(); err != nil {
			errs = append(errs, fmt.Errorf("netharness: close %s: %w", t.order[i], err))
		}
	}
	return errors.Join(errs...)
}

// Do runs fn on an OS thread inside the named namespace (NodeName, a pod or a
// client). Sockets fn creates stay in that namespace; goroutines fn starts do
// not run in it.
func (t *Topology) Do(name string, fn func() error) error {
	sp, release, err := t.acquire(name)
	if err != nil {
		return err
	}
	defer release()
	return runIn(sp.ns, fn)
}

// NS returns the handle of the named namespace. It stays valid until Close;
// do not close it. For google/nftables: nftables.WithNetNSFd(int(h)).
func (t *Topology) NS(name string) (netns.NsHandle, error) {
	sp, err := t.space(name)
	if err != nil {
		return netns.None(), err
	}
	return sp.ns, nil
}

// NodeNS returns the handle of the node namespace (valid until Close).
func (t *Topology) NodeNS() netns.NsHandle {
	sp, err := t.space(NodeName)
	if err != nil {
		return netns.None()
	}
	return sp.ns
}

// NSPath returns a path that opens the named namespace while the topology is
// open, for APIs that take one (moby/ipvs.New, nsenter --net=).
func (t *Topology) NSPath(name string) (string, error) {
	sp, err := t.space(name)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(sp.ns)), nil
}

// Netlink returns the topology's rtnetlink handle for the named namespace
// (owned by the topology; do not close it).
func (t *Topology) Netlink(name string) (*netlink.Handle, error) {
	sp, err := t.space(name)
	if err != nil {
		return nil, err
	}
	return sp.nl, nil
}

// Spec returns the spec the topology was built from, with defaults filled in.
func (t *Topology) Spec() Spec { return t.spec.clone() }

// Addrs returns the addresses of the named pod or client, or of the node
// (external addresses first, then bridge addresses).
func (t *Topology) Addrs(name string) []netip.Addr {
	var out []netip.Addr
	add := func(ps []netip.Prefix) {
		for _, p := range ps {
			out = append(out, p.Addr())
		}
	}
	for _, p := range t.spec.Pods {
		if p.Name == name {
			add(p.Addrs)
		}
	}
	for _, c := range t.spec.Clients {
		if c.Name == name {
			add(c.Addrs)
		}
	}
	if name == NodeName {
		add(t.spec.Node.ExtAddrs)
		add(t.spec.Node.BridgeAddrs)
	}
	return out
}
