package lb

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// startUDPEcho answers each datagram with "name:" and the datagram.
func startUDPEcho(t *testing.T, name string) udpEcho {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(append([]byte(name+":"), buf[:n]...), from)
		}
	}()
	return udpEcho{addr: pc.LocalAddr().(*net.UDPAddr).AddrPort(), pc: pc}
}

type udpEcho struct {
	addr netip.AddrPort
	pc   *net.UDPConn
}

// udpClient opens a connected UDP socket to fe, closed at the test's end.
func udpClient(t *testing.T, fe netip.AddrPort) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(fe))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ask sends msg on c and returns the reply.
func ask(t *testing.T, c *net.UDPConn, msg string) string {
	t.Helper()
	for range 10 {
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 2048)
		n, err := c.Read(buf)
		if err == nil {
			return string(buf[:n])
		}
	}
	t.Fatalf("no reply to %q", msg)
	return ""
}

func TestProxyUDPFlows(t *testing.T) {
	a, b := startUDPEcho(t, "a"), startUDPEcho(t, "b")
	plan := testPlan(t, svcSpec{name: "dns", proto: servicemodel.UDP, clusterIP: "10.96.0.53", backends: []netip.AddrPort{a.addr, b.addr}})
	p := startProxy(t, plan, ProxyOptions{UDPIdleTimeout: 1500 * time.Millisecond})
	fe := frontend(t, p, "dns", rulegen.ClusterIP)
	counts := map[string]int{}
	var clients []*net.UDPConn
	for i := range 4 {
		c := udpClient(t, fe)
		clients = append(clients, c)
		first := ask(t, c, "q0")
		backend, _, _ := strings.Cut(first, ":")
		counts[backend]++
		// The flow sticks to its backend.
		for j := 1; j < 5; j++ {
			if got := ask(t, c, "q"); got != backend+":q" {
				t.Fatalf("client %d: %q after %q", i, got, first)
			}
		}
	}
	// rr alternates, but a stray datagram (a late reply to an earlier
	// socket whose port this listener reuses) may open a flow of its own,
	// so only ask for both backends.
	if counts["a"] == 0 || counts["b"] == 0 {
		t.Fatalf("rr over 2 backends, 4 flows: %v", counts)
	}
	if n := p.Listeners()[0].Active; n < 4 {
		t.Fatalf("%d flows, want 4", n)
	}
	eventually(t, 10*time.Second, "idle flows end", func() (bool, string) {
		n := p.Listeners()[0].Active
		return n == 0, fmt.Sprint(n, " flows")
	})
	// A client whose flow expired gets a new one.
	if got := ask(t, clients[0], "again"); !strings.HasSuffix(got, ":again") {
		t.Fatalf("after expiry: %q", got)
	}
}

// A flow whose backend is gone ends on the ICMP error; the client's next
// datagram goes to a live backend.
func TestProxyUDPDeadBackend(t *testing.T) {
	echoes := map[string]udpEcho{"a": startUDPEcho(t, "a"), "b": startUDPEcho(t, "b")}
	plan := testPlan(t, svcSpec{name: "dns", proto: servicemodel.UDP, clusterIP: "10.96.0.53", backends: []netip.AddrPort{echoes["a"].addr, echoes["b"].addr}})
	p := startProxy(t, plan, ProxyOptions{})
	fe := frontend(t, p, "dns", rulegen.ClusterIP)
	c := udpClient(t, fe)
	first, _, _ := strings.Cut(ask(t, c, "x"), ":")
	other := map[string]string{"a": "b", "b": "a"}[first]
	if other == "" {
		t.Fatalf("first flow went to %q", first)
	}
	// Stop the flow's backend: its port now answers with ICMP port
	// unreachable. ask retries: the datagram that met the dead backend is
	// lost, the next opens a flow to the other.
	echoes[first].pc.Close()
	if got := ask(t, c, "y"); got != other+":y" {
		t.Fatalf("after %s died: %q", first, got)
	}
}

// A Sync that removes a UDP flow's backend ends the flow; the client's next
// datagram goes to a current backend.
func TestProxyUDPFlowEndsWithItsBackend(t *testing.T) {
	a, b := startUDPEcho(t, "a"), startUDPEcho(t, "b")
	p := startProxy(t, testPlan(t, svcSpec{name: "dns", proto: servicemodel.UDP, clusterIP: "10.96.0.53", backends: []netip.AddrPort{a.addr}}), ProxyOptions{})
	fe := frontend(t, p, "dns", rulegen.ClusterIP)
	c := udpClient(t, fe)
	if got := ask(t, c, "x"); got != "a:x" {
		t.Fatalf("before: %q", got)
	}
	res, err := p.Sync(context.Background(), rulegen.SyncRequest{Plan: testPlan(t, svcSpec{name: "dns", proto: servicemodel.UDP, clusterIP: "10.96.0.53", backends: []netip.AddrPort{b.addr}})})
	if err != nil || res.Writes != 2 {
		t.Fatalf("Sync: %+v, %v (want the pool and the flow)", res, err)
	}
	if got := ask(t, c, "y"); got != "b:y" {
		t.Fatalf("after the backend left: %q", got)
	}
}

// A flow's first datagram that meets a refusing backend (ICMP port
// unreachable) is resent to another one: the client sends once and gets
// its answer.
func TestProxyUDPFirstDatagramPastDeadBackend(t *testing.T) {
	for _, sched := range []string{RoundRobin, SourceHashing} {
		t.Run(sched, func(t *testing.T) {
			a, dead := startUDPEcho(t, "a"), startUDPEcho(t, "dead")
			dead.pc.Close()
			plan := testPlan(t, svcSpec{name: "dns", proto: servicemodel.UDP, clusterIP: "10.96.0.53", scheduler: sched,
				backends: []netip.AddrPort{dead.addr, a.addr}})
			p := startProxy(t, plan, ProxyOptions{})
			fe := frontend(t, p, "dns", rulegen.ClusterIP)
			for i := range 4 {
				c := udpClient(t, fe)
				if _, err := c.Write([]byte("once")); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 64)
				n, err := c.Read(buf)
				if err != nil || string(buf[:n]) != "a:once" {
					t.Fatalf("client %d: %q, %v", i, buf[:n], err)
				}
			}
		})
	}
}
