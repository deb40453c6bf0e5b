package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/proxykit/proxykit/rulegen"
)

// ProxyOptions configure a Proxy. The zero value is usable: it serves the
// frontends local to the node with round robin.
type ProxyOptions struct {
	// Listen maps a frontend to the address the proxy listens on; false
	// skips it. When set, it alone decides (IsLocal is not consulted): this
	// is how a proxy runs on loopback, e.g. every frontend on 127.0.0.x.
	// Port 0 lets the kernel choose (see Proxy.Listeners).
	Listen func(fe rulegen.Frontend, pp *rulegen.PortPlan) (netip.AddrPort, bool)
	// IsLocal tells whether an address is the node's. Without Listen, the
	// proxy listens on ClusterIPs, external IPs, load-balancer IPs and
	// NodePort addresses that are local, and on the unspecified address
	// for NodePorts that answer on every local address. It also marks
	// clients on the node for the ExternalLocal short-circuit. Default:
	// loopback and the interface addresses (InterfaceAddrs), read at
	// every Sync.
	IsLocal func(netip.Addr) bool
	// Scheduler is the default scheduler of a service without a
	// proxykit.io/scheduler hint (or with an unknown one). Default "rr",
	// as kube-proxy's userspace mode.
	Scheduler string
	// SchedulerOptions are passed to every New.
	SchedulerOptions []Option
	// DialTimeout bounds one connection attempt to a backend (default 1s);
	// RetryBudget bounds all attempts for one client connection (default
	// 5s); MaxAttempts bounds their number (default: each backend once).
	DialTimeout time.Duration
	RetryBudget time.Duration
	MaxAttempts int
	// UDPIdleTimeout ends a UDP flow with no datagram in either direction
	// for this long (default 30s).
	UDPIdleTimeout time.Duration
	// Buffered makes TCP forwarding copy through a pooled buffer taken
	// only while data moves, instead of io.Copy between the sockets (which
	// splices on Linux, through a pipe held for the connection's life: two
	// pipes, four descriptors, per proxied connection). It measured ~10%
	// more CPU per byte and the same throughput (BenchmarkProxyThroughput)
	// and suits many idle connections: an idle one holds no buffer and no
	// pipe.
	Buffered bool
	// Now is the clock of session affinity (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (o ProxyOptions) withDefaults() ProxyOptions {
	if o.Scheduler == "" {
		o.Scheduler = RoundRobin
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = time.Second
	}
	if o.RetryBudget <= 0 {
		o.RetryBudget = 5 * time.Second
	}
	if o.UDPIdleTimeout <= 0 {
		o.UDPIdleTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// planConfig resolves the listen mapping with isLocal, the node's
// addresses, unless Listen is set.
func (o ProxyOptions) planConfig(isLocal func(netip.Addr) bool) planConfig {
	o = o.withDefaults()
	cfg := planConfig{listen: o.Listen, scheduler: o.Scheduler}
	if cfg.listen == nil {
		cfg.listen = localListen(isLocal)
	}
	return cfg
}

// isLocal returns IsLocal, or the default: loopback and the interface
// addresses, read now.
func (o ProxyOptions) isLocal() (func(netip.Addr) bool, error) {
	if o.IsLocal != nil {
		return o.IsLocal, nil
	}
	addrs, err := InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	set := AddrSet(addrs...)
	return func(a netip.Addr) bool { return a.IsLoopback() || set(a) }, nil
}

// ErrProxyClosed is returned by Sync after Close.
var ErrProxyClosed = errors.New("lb: proxy closed")

// Proxy is a userspace L4 proxy, kube-proxy's first mode: it listens on
// the frontends of a rulegen.Plan and forwards each TCP connection or UDP
// flow to a backend its service's scheduler picks. It implements
// rulegen.Backend.
//
//   - Frontends: see ProxyOptions.Listen and IsLocal. A ClusterIP frontend
//     uses the Plan's internal endpoint set, the others the external set;
//     an ExternalLocal service's clients on the node or in local pods (the
//     Plan's local detector) use the internal set.
//   - No endpoints at all (Reject): the proxy keeps the listener and resets
//     each TCP connection at once; UDP datagrams are dropped (a userspace
//     socket cannot send ICMP). Drop (endpoints exist, none this traffic
//     may use): the frontend gets no listener, so the kernel, not the
//     proxy, answers. A LoadBalancer's source ranges are checked per
//     client: others are reset (TCP) or ignored (UDP).
//   - TCP: both directions are copied with io.Copy between *net.TCPConn
//     (splice on Linux), or through a pooled buffer held only while data
//     moves (ProxyOptions.Buffered); a FIN in one direction is passed on
//     with CloseWrite while the other direction keeps flowing.
//   - Retry: when a backend refuses or times out, the next one is tried,
//     within ProxyOptions' attempt and time budget.
//   - UDP: one connected socket per client flow, ended after
//     UDPIdleTimeout without traffic.
//   - Sync is all or nothing: new listeners are bound and new schedulers
//     built before anything live changes. Endpoint changes replace a
//     service's scheduler (connection counts carry over); established
//     connections are never closed by a Sync. A frontend that leaves the
//     Plan has its listener closed (and its UDP flows); its established
//     TCP connections run on until they end or Cleanup's deadline.
//
// The zero Proxy is not usable; call NewProxy.
type Proxy struct {
	opts ProxyOptions
	log  *slog.Logger

	mu        sync.Mutex // serialises Sync, Cleanup and Close
	closed    bool
	listeners map[string]*listener
	order     []string // listener keys in Plan order
	pools     map[string]*pool
	gen       *generation
}

// generation is what the listeners of one serving period share, until a
// Cleanup ends it: the context and goroutines of their connections.
type generation struct {
	ctx    context.Context // cancelled when connections are cut
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the generation
	conns  connSet
}

func newGeneration() *generation {
	g := &generation{}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	return g
}

var _ rulegen.Backend = (*Proxy)(nil)

// NewProxy returns a Proxy that serves nothing until its first Sync.
func NewProxy(opts ProxyOptions) (*Proxy, error) {
	opts = opts.withDefaults()
	if _, err := New(opts.Scheduler, nil, opts.SchedulerOptions...); err != nil {
		return nil, fmt.Errorf("lb: proxy default scheduler: %w", err)
	}
	if opts.MaxAttempts < 0 {
		return nil, &OptionError{Option: "MaxAttempts", Reason: "negative"}
	}
	p := &Proxy{opts: opts, log: opts.Logger, listeners: map[string]*listener{}, pools: map[string]*pool{}, gen: newGeneration()}
	return p, nil
}

// ListenerInfo describes a listener the proxy holds.
type ListenerInfo struct {
	ListenerSpec
	// Bound is the address the socket is bound to (the kernel's port when
	// Addr has port 0).
	Bound netip.AddrPort
	// Active is the number of open TCP connections or UDP flows.
	Active int
	// Failed counts the connections (reset) and flows (dropped) for
	// which no backend answered within the retry budget, since the
	// listener opened.
	Failed int64
}

// Listeners returns the proxy's listeners in Plan order (by family, then
// service port, then frontend).
func (p *Proxy) Listeners() []ListenerInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]ListenerInfo, 0, len(p.listeners))
	for _, k := range p.order {
		l := p.listeners[k]
		out = append(out, ListenerInfo{ListenerSpec: l.route.Load().spec, Bound: l.bound, Active: int(l.active.Load()), Failed: l.failed.Load()})
	}
	return out
}

// Cleanup closes every listener, waits for established connections to end
// until ctx is done, then closes the rest and returns an error wrapping
// ctx.Err() that says how many it cut. The proxy can Sync again at once
// (while the old connections drain).
func (p *Proxy) Cleanup(ctx context.Context) error {
	return p.drain(ctx, false)
}

// Close is Cleanup, after which Sync returns ErrProxyClosed.
func (p *Proxy) Close(ctx context.Context) error {
	return p.drain(ctx, true)
}

func (p *Proxy) drain(ctx context.Context, closing bool) error {
	p.mu.Lock()
	p.closed = p.closed || closing
	for _, l := range p.listeners {
		l.close()
	}
	g := p.gen
	p.listeners, p.order, p.pools, p.gen = map[string]*listener{}, nil, map[string]*pool{}, newGeneration()
	p.mu.Unlock()

	defer g.cancel()
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	g.cancel()
	n := g.conns.closeAll()
	<-done
	p.log.Warn("proxy drain deadline", "closed", n)
	return fmt.Errorf("lb: drain: closed %d connections at the deadline: %w", n, ctx.Err())
}
