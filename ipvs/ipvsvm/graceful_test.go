package ipvsvm

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/ipvs/ipvstest"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// backends puts addrs on a dummy interface "backends" in ns and serves, on
// each addr:port, a line protocol: every line read is answered with the
// server's address.
func backends(t *testing.T, ns *testNS, port uint16, addrs ...string) {
	t.Helper()
	nh, err := netlink.NewHandleAt(ns.h, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer nh.Close()
	if err := nh.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "backends"}}); err != nil {
		t.Fatal(err)
	}
	l, err := nh.LinkByName("backends")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if err := nh.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(a), Mask: net.CIDRMask(32, 32)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := nh.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		var ln net.Listener
		ns.do(t, func() { ln, err = net.Listen("tcp", fmt.Sprintf("%s:%d", a, port)) })
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go serveLines(ln, a)
	}
}

func serveLines(ln net.Listener, name string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			for {
				if _, err := r.ReadString('\n'); err != nil {
					return
				}
				fmt.Fprintln(c, name)
			}
		}()
	}
}

// client is one connection to the VIP.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, ns *testNS, addr string) *client {
	t.Helper()
	var c net.Conn
	var err error
	ns.do(t, func() { c, err = net.DialTimeout("tcp", addr, 3*time.Second) })
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return &client{c: c, r: bufio.NewReader(c)}
}

// ask sends a line and returns which backend answered.
func (cl *client) ask(t *testing.T) string {
	t.Helper()
	cl.c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintln(cl.c, "ping"); err != nil {
		t.Fatalf("write: %v", err)
	}
	line, err := cl.r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return strings.TrimSpace(line)
}

// TestGracefulTerminationKernel removes a real server that has an
// established connection: it gets weight 0, the connection keeps working,
// new connections go elsewhere, and once the connection is closed the next
// diff deletes it.
func TestGracefulTerminationKernel(t *testing.T) {
	ctx := context.Background()
	ns := newNS(t)
	backends(t, ns, 8080, "10.244.1.2", "10.244.1.3")
	k := ns.open(t, ipvstest.Options)
	vip := netip.MustParseAddr("10.96.0.1")
	key := ipvs.VSKey{Protocol: ipvs.TCP, Addr: vip, Port: 80}
	both := ipvs.NewState()
	both.AddAddress(vip)
	both.AddService(&ipvs.VirtualServer{VSKey: key, Scheduler: "rr", Reals: []ipvs.RealServer{
		{Addr: netip.MustParseAddr("10.244.1.2"), Port: 8080, Weight: 1},
		{Addr: netip.MustParseAddr("10.244.1.3"), Port: 8080, Weight: 1}}})
	ipvstest.Sync(t, k, both)

	cl := dial(t, ns, "10.96.0.1:80")
	gone := cl.ask(t)
	stays := "10.244.1.2"
	if gone == stays {
		stays = "10.244.1.3"
	}
	des := ipvs.NewState()
	des.AddAddress(vip)
	des.AddService(&ipvs.VirtualServer{VSKey: key, Scheduler: "rr", Reals: []ipvs.RealServer{
		{Addr: netip.MustParseAddr(stays), Port: 8080, Weight: 1}}})
	term := &ipvs.Terminating{GracePeriod: time.Hour}
	step := func(want ipvs.OpKind) {
		t.Helper()
		ops := ipvs.Diff(ipvstest.Read(t, k), des, ipvs.DiffOptions{Terminating: term})
		if (want == 0) != (len(ops) == 0) || (want != 0 && (len(ops) != 1 || ops[0].Kind != want)) {
			t.Fatalf("ops %v, want one %v", ops, want)
		}
		if _, err := k.Apply(ctx, ops); err != nil {
			t.Fatal(err)
		}
	}
	step(ipvs.OpUpdateReal) // weight 0
	if got := cl.ask(t); got != gone {
		t.Fatalf("the established connection moved from %s to %s", gone, got)
	}
	for range 4 {
		c := dial(t, ns, "10.96.0.1:80")
		if got := c.ask(t); got != stays {
			t.Fatalf("a new connection went to the terminating %s", got)
		}
		c.c.Close()
	}
	step(0) // still connected: kept
	cl.c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := k.ReadService(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		i := indexOf(v.Reals, gone)
		if i >= 0 && v.Reals[i].ActiveConns == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connection to %s still active: %+v", gone, v.Reals)
		}
		time.Sleep(100 * time.Millisecond)
	}
	step(ipvs.OpDelReal)
	ipvstest.MustEqual(t, "after the drain", ipvstest.Read(t, k), des)
	if term.Len() != 0 {
		t.Fatalf("terminating list not empty: %d", term.Len())
	}
}

func indexOf(rs []ipvs.RealServer, addr string) int {
	for i, r := range rs {
		if r.Addr.String() == addr {
			return i
		}
	}
	return -1
}
