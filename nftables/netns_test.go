package nftables

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
)

// testNS is a throwaway named network namespace (so the nft CLI can enter it).
type testNS struct {
	name string
	fd   int
}

func newTestNS(t testing.TB) *testNS {
	t.Helper()
	kerneltest.Need(t, "ip", "nft")
	name := fmt.Sprintf("pk-nft-%d-%d", os.Getpid(), rand.IntN(1<<30))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	f, err := os.Open("/var/run/netns/" + name)
	if err != nil {
		_ = exec.Command("ip", "netns", "del", name).Run()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.Close()
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	return &testNS{name: name, fd: int(f.Fd())}
}

// nft runs the nft CLI inside the namespace.
func (n *testNS) nft(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.name, "nft"}, args...)...)
	cmd.Stdin = bytes.NewBufferString(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nft %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (n *testNS) kernel(t testing.TB, tables ...TableID) *Netlink {
	t.Helper()
	k, err := NewNetlink(NetlinkConfig{NetNSFd: n.fd, Owner: Ownership{Tables: tables}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}

func mustApply(t testing.TB, k Kernel, tx *Transaction) {
	t.Helper()
	if err := k.Apply(context.Background(), tx); err != nil {
		t.Fatalf("apply: %v\n%s", err, tx)
	}
}

func mustRead(t testing.TB, k Kernel) *Ruleset {
	t.Helper()
	rs, err := k.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// prefixKernel owns every table named proxykit*.
func (n *testNS) prefixKernel(t testing.TB) *Netlink {
	t.Helper()
	k, err := NewNetlink(NetlinkConfig{NetNSFd: n.fd, Owner: Ownership{Prefix: "proxykit"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	return k
}
