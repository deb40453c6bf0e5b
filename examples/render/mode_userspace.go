package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/proxykit/proxykit/lb"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func init() { modes["userspace"] = renderUserspace }

// renderUserspace prints the listeners the userspace proxy (lb.Proxy) would
// open and the backends each forwards to, as if every frontend address were
// local to the node (the proxy serves only those that are, or what its
// listen mapping says). Drop frontends get no listener and are not shown.
func renderUserspace(_ context.Context, w io.Writer, plan *rulegen.Plan, f servicemodel.IPFamily) error {
	specs, conflicts := lb.PlanListeners(plan, lb.ProxyOptions{IsLocal: func(netip.Addr) bool { return true }})
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# userspace proxy: protocol listen-address  service  frontend  scheduler [backends]")
	fmt.Fprintln(bw, "# (every frontend address taken as local to the node; NodePorts on all addresses)")
	for _, s := range specs {
		if f == "" || s.Family == f {
			fmt.Fprintln(bw, s)
		}
	}
	if conflicts != nil {
		fmt.Fprintf(bw, "# not served: %v\n", conflicts)
	}
	return bw.Flush()
}
