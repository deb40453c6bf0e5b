package lb

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/proxykit/proxykit/rulegen"
)

// 1000 connections open at once through the proxy, each echoing; after
// they close, goroutines and file descriptors return to their baseline.
// In both copy modes; on Linux the buffered one holds no pipe while the
// connections are idle, four descriptors fewer per connection than
// splicing.
func TestProxyThousandConnectionsNoLeak(t *testing.T) {
	const n = 1000
	var held [2]int
	for i, buffered := range []bool{false, true} {
		t.Run(fmt.Sprint("buffered=", buffered), func(t *testing.T) { held[i] = testNoLeak(t, n, buffered) })
	}
	if runtime.GOOS == "linux" && held[0]-held[1] < 4*n-n/10 {
		t.Errorf("idle connections hold %d descriptors splicing, %d buffered: want ~%d fewer buffered", held[0], held[1], 4*n)
	}
}

// testNoLeak runs n connections and returns the descriptors the process
// held above its baseline while they were all open and idle.
func testNoLeak(t *testing.T, n int, buffered bool) int {
	a, b := startEcho(t, "a", "127.0.0.1"), startEcho(t, "b", "127.0.0.1")
	p, err := NewProxy(ProxyOptions{Listen: loopbackListen, Buffered: buffered})
	if err != nil {
		t.Fatal(err)
	}
	plan := testPlan(t, svcSpec{name: "web", clusterIP: "10.96.0.1", backends: []netip.AddrPort{a.addr, b.addr}})
	if _, err := p.Sync(context.Background(), rulegen.SyncRequest{Plan: plan}); err != nil {
		t.Fatal(err)
	}
	fe := frontend(t, p, "web", rulegen.ClusterIP)
	baseG, baseFD := goroutines(), openFDs()

	var opened, release sync.WaitGroup
	opened.Add(n)
	release.Add(1)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- holdConn(fe, i, &opened, &release)
		}()
	}
	opened.Wait()
	if got := p.Listeners()[0].Active; got != n {
		t.Errorf("%d active connections, want %d", got, n)
	}
	held := openFDs() - baseFD // every copy has moved data, so holds its pipe if it splices
	t.Logf("%d connections open: %d descriptors above the baseline", n, held)
	release.Done()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "connections end", func() (bool, string) {
		return p.Listeners()[0].Active == 0, fmt.Sprint(p.Listeners()[0].Active, " active")
	})
	eventually(t, 20*time.Second, "goroutines and fds back to baseline", func() (bool, string) {
		g, fd := goroutines(), openFDs()
		return g <= baseG && fd <= baseFD, fmt.Sprintf("goroutines %d (baseline %d), fds %d (baseline %d)", g, baseG, fd, baseFD)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return held
}

// holdConn opens a connection, checks the greeting and an echo, signals
// opened, waits for release, then closes.
func holdConn(fe netip.AddrPort, i int, opened, release *sync.WaitGroup) (err error) {
	defer func() {
		if err != nil {
			opened.Done()
		}
	}()
	c, err := net.DialTimeout("tcp4", fe.String(), 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	greeting := make([]byte, 2)
	if _, err := c.Read(greeting); err != nil {
		return fmt.Errorf("connection %d: greeting: %w", i, err)
	}
	if err := echoOnce(c, fmt.Sprint("msg", i)); err != nil {
		return fmt.Errorf("connection %d: %w", i, err)
	}
	opened.Done()
	release.Wait()
	return nil
}
