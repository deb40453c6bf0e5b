package netharness

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"

	"github.com/proxykit/proxykit/internal/kerneltest"
)

// familyOnly keeps only the addresses of one family in every list of s.
func familyOnly(s Spec, v4 bool) Spec {
	keep := func(ps []netip.Prefix) []netip.Prefix {
		var out []netip.Prefix
		for _, p := range ps {
			if p.Addr().Is4() == v4 {
				out = append(out, p)
			}
		}
		return out
	}
	s.Node.BridgeAddrs, s.Node.ExtAddrs = keep(s.Node.BridgeAddrs), keep(s.Node.ExtAddrs)
	var routes []Route
	for _, r := range s.Node.Routes {
		if r.Dst.Addr().Is4() == v4 {
			routes = append(routes, r)
		}
	}
	s.Node.Routes = routes
	for i := range s.Pods {
		s.Pods[i].Addrs = keep(s.Pods[i].Addrs)
	}
	for i := range s.Clients {
		s.Clients[i].Addrs = keep(s.Clients[i].Addrs)
	}
	return s
}

// Topologies built at the same time with the same addresses and interface
// names stay apart: each client reaches its own topology's pods.
func TestParallelTopologies(t *testing.T) {
	kerneltest.Need(t)
	variants := []struct {
		name   string
		spec   Spec
		client string
		dst    string
		seen   string
	}{
		{"dual", StandardSpec(), "client-a", "[fd00:10:244:2::2]:8080", "fd00::100"},
		{"v4 only", familyOnly(StandardSpec(), true), "client-b", "10.244.2.2:8080", "10.0.0.101"},
		{"v6 only", familyOnly(StandardSpec(), false), "client-a", "[fd00:10:244:2::2]:8080", "fd00::100"},
		{"dual again", StandardSpec(), "client-b", "10.244.2.2:8080", "10.0.0.101"},
	}
	var wg sync.WaitGroup
	errs := make([]error, len(variants))
	for i, v := range variants {
		for j := range v.spec.Pods {
			v.spec.Pods[j].Name = fmt.Sprintf("%s-%d", v.spec.Pods[j].Name, i)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			topo, err := Build(context.Background(), nil, v.spec)
			if err != nil {
				errs[i] = err
				return
			}
			defer topo.Close()
			rs := topo.ProbeN(context.Background(), v.client, "tcp", ap(v.dst), 5, ProbeOptions{})
			want := fmt.Sprintf("pod-remote-%d", i)
			if rs.Servers()[want] != 5 || rs.Seen()[netip.MustParseAddr(v.seen)] != 5 {
				errs[i] = fmt.Errorf("got %v, want 5 answers from %s seeing %s", rs, want, v.seen)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", variants[i].name, err)
		}
	}
}
