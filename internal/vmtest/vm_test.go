package vmtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/proxykit/proxykit/internal/netharness"
	"github.com/proxykit/proxykit/internal/nsthread"
)

// TestMain boots the VM when the host kernel has no IPVS: every test of this
// package then runs inside it.
func TestMain(m *testing.M) { Main(m, Options{}) }

// newNetns creates a network namespace with lo up, closed at cleanup.
func newNetns(t *testing.T) netns.NsHandle {
	t.Helper()
	return netharness.NewNamespaceT(t)
}

// inNetns runs a command in ns (the child inherits the locked thread's netns).
func inNetns(t *testing.T, ns netns.NsHandle, name string, args ...string) string {
	t.Helper()
	var out []byte
	err := nsthread.In(ns, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		if out, err = exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestIPVSGenlFamily(t *testing.T) {
	Need(t)
	fam, err := netlink.GenlFamilyGet("IPVS")
	if err != nil {
		t.Fatalf("GenlFamilyGet(IPVS): %v", err)
	}
	t.Logf("IPVS genl family id %d (in VM: %v)", fam.ID, InVM())
	if fam.ID == 0 {
		t.Fatalf("IPVS family id is 0")
	}
}

func TestIPVSServiceWithTwoDestinations(t *testing.T) {
	Need(t)
	ns := newNetns(t)
	h, err := ipvs.New(fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns)))
	if err != nil {
		t.Fatalf("ipvs.New: %v", err)
	}
	defer h.Close()
	svc := &ipvs.Service{AddressFamily: syscall.AF_INET, Protocol: syscall.IPPROTO_TCP,
		Address: net.ParseIP("10.96.0.10"), Port: 80, SchedName: ipvs.RoundRobin, Netmask: 0xffffffff}
	if err := h.NewService(svc); err != nil {
		t.Fatalf("NewService: %v", err)
	}
	for _, ip := range []string{"10.244.1.2", "10.244.1.3"} {
		d := &ipvs.Destination{AddressFamily: syscall.AF_INET, Address: net.ParseIP(ip), Port: 8080,
			Weight: 1, ConnectionFlags: ipvs.ConnectionFlagMasq}
		if err := h.NewDestination(svc, d); err != nil {
			t.Fatalf("NewDestination %s: %v", ip, err)
		}
	}
	dsts, err := h.GetDestinations(svc)
	if err != nil || len(dsts) != 2 {
		t.Fatalf("GetDestinations = %d destinations, %v; want 2", len(dsts), err)
	}
	if err := h.DelService(svc); err != nil {
		t.Fatalf("DelService: %v", err)
	}
	if svcs, err := h.GetServices(); err != nil || len(svcs) != 0 {
		t.Fatalf("after DelService: %d services, %v", len(svcs), err)
	}
}

func TestDummyLink(t *testing.T) {
	Need(t)
	ns := newNetns(t)
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.LinkAdd(&netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "kube-ipvs0"}}); err != nil {
		t.Fatalf("adding dummy link: %v", err)
	}
	l, err := h.LinkByName("kube-ipvs0")
	if err != nil {
		t.Fatal(err)
	}
	if l.Type() != "dummy" {
		t.Fatalf("link type %q, want dummy", l.Type())
	}
}

func TestToolsInVM(t *testing.T) {
	Need(t, "ipvsadm", "nft", "iptables-legacy", "ipset")
	ns := newNetns(t)
	for _, c := range [][]string{
		{"ipvsadm", "-Ln"},
		{"nft", "list", "ruleset"},
		{"iptables-legacy", "-t", "nat", "-S"},
		{"ipset", "list"},
	} {
		out := inNetns(t, ns, c[0], c[1:]...)
		t.Logf("%s: %q", strings.Join(c, " "), out)
		if c[0] == "iptables-legacy" && !strings.Contains(out, "-P PREROUTING ACCEPT") {
			t.Errorf("iptables-legacy -t nat -S printed no nat chains: %q", out)
		}
		if c[0] == "ipvsadm" && !strings.Contains(out, "IP Virtual Server") {
			t.Errorf("ipvsadm -Ln printed no header: %q", out)
		}
	}
}
