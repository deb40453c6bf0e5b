package lb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// echoServer is a TCP test backend on loopback: it greets each connection
// with its name and a newline, then echoes until the client's EOF, then
// closes.
type echoServer struct {
	name string
	addr netip.AddrPort
	ln   net.Listener
}

func startEcho(t testing.TB, name, ip string) *echoServer {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{name: name, addr: ln.Addr().(*net.TCPAddr).AddrPort(), ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s\n", name)
				io.Copy(c, c)
			}()
		}
	}()
	return s
}

// deadAddr returns a loopback address where nothing listens (refused),
// kept so while the test runs where the platform allows.
func deadAddr(t testing.TB) netip.AddrPort {
	t.Helper()
	if ap, err := boundNotListening(t); err == nil {
		return ap
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	return ap
}

// svcSpec describes a one-port test service.
type svcSpec struct {
	name      string
	proto     servicemodel.Protocol
	clusterIP string
	scheduler string
	affinity  time.Duration
	nodePort  int32
	backends  []netip.AddrPort
	// A LoadBalancer with ingress lbIP, ExternalTrafficPolicy Local, these
	// source ranges, and remote endpoints (on another node).
	lbIP         string
	sourceRanges []netip.Prefix
	remote       []netip.AddrPort
}

// testPlan compiles a plan for the services, each backend in its own slice
// (so that each may have its own port), all on this node.
func testPlan(t testing.TB, specs ...svcSpec) *rulegen.Plan {
	t.Helper()
	var svcs []*servicemodel.Service
	var slices []*servicemodel.EndpointSlice
	for _, s := range specs {
		proto := s.proto
		if proto == "" {
			proto = servicemodel.TCP
		}
		nn := types.NamespacedName{Namespace: "t", Name: s.name}
		typ := servicemodel.TypeClusterIP
		if s.nodePort != 0 {
			typ = servicemodel.TypeNodePort
		}
		svc := &servicemodel.Service{Name: nn, Type: typ,
			ClusterIPs: []netip.Addr{netip.MustParseAddr(s.clusterIP)}, Scheduler: s.scheduler, AffinityTimeout: s.affinity,
			Ports: []servicemodel.ServicePort{{Name: "p", Protocol: proto, Port: 80, TargetPort: servicemodel.TargetPort{Name: "p"}, NodePort: s.nodePort}}}
		if s.lbIP != "" {
			svc.Type, svc.ExternalTrafficPolicy, svc.LoadBalancerSourceRanges = servicemodel.TypeLoadBalancer, servicemodel.PolicyLocal, s.sourceRanges
			svc.LoadBalancerIngress = []servicemodel.LoadBalancerIngress{{IP: netip.MustParseAddr(s.lbIP)}}
			svc.Ports[0].NodePort, svc.HealthCheckNodePort = 30999, 32999
		}
		svcs = append(svcs, svc)
		for i, b := range append(s.backends, s.remote...) {
			node := "n1"
			if i >= len(s.backends) {
				node = "n2"
			}
			slices = append(slices, &servicemodel.EndpointSlice{Service: nn, Name: fmt.Sprintf("%s-%d", s.name, i), Family: servicemodel.FamilyOf(b.Addr()),
				Ports:     []servicemodel.EndpointPort{{Name: "p", Protocol: proto, Port: int32(b.Port())}},
				Endpoints: []servicemodel.Endpoint{{Addr: b.Addr(), NodeName: node}}})
		}
	}
	snap, err := servicemodel.NewSnapshot(svcs, slices)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := rulegen.Compile(snap, rulegen.Node{Name: "n1", IPs: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}, rulegen.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return plan
}

// loopbackListen maps every frontend to 127.0.0.1 or ::1 with a
// kernel-chosen port.
func loopbackListen(_ rulegen.Frontend, pp *rulegen.PortPlan) (netip.AddrPort, bool) {
	if pp.Family == servicemodel.IPv6 {
		return netip.MustParseAddrPort("[::1]:0"), true
	}
	return netip.MustParseAddrPort("127.0.0.1:0"), true
}

// startProxy runs a proxy for plan on loopback and cleans it up at the end.
func startProxy(t testing.TB, plan *rulegen.Plan, opts ProxyOptions) *Proxy {
	t.Helper()
	if opts.Listen == nil {
		opts.Listen = loopbackListen
	}
	p, err := NewProxy(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Sync(context.Background(), rulegen.SyncRequest{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

// frontend returns where the proxy listens for a service's frontend kind.
func frontend(t testing.TB, p *Proxy, svc string, kind rulegen.FrontendKind) netip.AddrPort {
	t.Helper()
	for _, l := range p.Listeners() {
		if l.Service.Name == svc && l.Frontend.Kind == kind {
			return l.Bound
		}
	}
	t.Fatalf("no listener for %s %s in %v", svc, kind, p.Listeners())
	return netip.AddrPort{}
}

// dialFrom connects from a local address (when valid) and sets a 10s
// deadline. It returns nil when the connect itself was reset.
func dialFrom(t testing.TB, to netip.AddrPort, from netip.Addr) *net.TCPConn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if from.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: from.AsSlice()}
	}
	c, err := d.Dial("tcp", to.String())
	if isReset(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c.(*net.TCPConn)
}

// greet connects (from local when valid), reads the backend's greeting and
// returns it with the open connection.
func greet(t testing.TB, to netip.AddrPort, from netip.Addr) (string, *net.TCPConn) {
	t.Helper()
	c := dialFrom(t, to, from)
	if c == nil {
		t.Fatalf("connect to %s reset", to)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		c.Close()
		t.Fatalf("greeting via %s: %v", to, err)
	}
	return strings.TrimSpace(line), c
}

// assertReset checks that a connection from local (when valid) is reset.
func assertReset(t testing.TB, to netip.AddrPort, from netip.Addr) {
	t.Helper()
	c := dialFrom(t, to, from)
	if c == nil {
		return
	}
	defer c.Close()
	if _, err := c.Read(make([]byte, 1)); !isReset(err) {
		t.Fatalf("read: %v, want a reset", err)
	}
}

// who connects, reads the greeting and closes.
func who(t testing.TB, to netip.AddrPort, from netip.Addr) string {
	t.Helper()
	name, c := greet(t, to, from)
	c.Close()
	return name
}

// echoOnce writes a line on an established connection and checks the echo.
func echoOnce(c net.Conn, msg string) error {
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	buf := make([]byte, len(msg)+1)
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if string(buf) != msg+"\n" {
		return fmt.Errorf("echo %q, want %q", buf, msg+"\n")
	}
	return nil
}

// eventually polls cond every 10ms until it holds or the wait is over.
func eventually(t testing.TB, wait time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, wait, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func openFDs() int {
	es, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(es)
}

func goroutines() int { return runtime.NumGoroutine() }

// isReset reports whether err says the peer closed the connection
// abruptly (or cleanly: a reset that raced the read may show as EOF).
func isReset(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || strings.Contains(err.Error(), "reset"))
}
