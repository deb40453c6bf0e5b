// Package flowtable is the backend-neutral packet-flow table: cases of the
// form "this client sends to this VIP:port/proto and reaches these endpoints,
// masqueraded or not, or is rejected, or dropped", over the sample cluster
// (internal/sample).
//
// Evaluate runs a case against a rulegen.Plan (pure). Each backend's
// real-kernel tests run the same Cases with real traffic between network
// namespaces, so every backend is held to one definition of behaviour.
package flowtable

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/proxykit/proxykit/servicemodel"
)

// Where says where a client sits.
type Where uint8

// Client locations.
const (
	// FromNode: a process on the node itself (the OUTPUT path).
	FromNode Where = iota
	// FromPod: a pod of the sample (Client names it).
	FromPod
	// FromOutside: a host outside the cluster (Client names it).
	FromOutside
)

// String names the location.
func (w Where) String() string { return [...]string{"node", "pod", "outside", "?"}[min(int(w), 3)] }

// Source is the sender of a case's traffic.
type Source struct {
	Where  Where
	Client string     // pod or client name; "" for the node
	Addr   netip.Addr // source address
}

// Result says what happens to a case's traffic.
type Result uint8

// The results.
const (
	// Reached: an endpoint answered.
	Reached Result = iota
	// Rejected: refused at once (TCP reset or ICMP unreachable).
	Rejected
	// Dropped: no answer.
	Dropped
)

// String names the result.
func (r Result) String() string {
	return [...]string{"reached", "rejected", "dropped", "?"}[min(int(r), 3)]
}

// Want is a case's expected outcome.
type Want struct {
	Result Result
	// Endpoints are the pod names that may answer; every one of them must be
	// reachable (the kernel runners probe until each has answered).
	Endpoints []string
	// Masquerade: the endpoint sees the node's address, not the client's.
	// Hairpin traffic (a pod reaching itself) is always masqueraded.
	Masquerade bool
	// Sticky: every connection from the client reaches the same endpoint.
	Sticky bool
}

// Case is one row of the table.
type Case struct {
	Name  string
	From  Source
	Proto servicemodel.Protocol
	Dst   netip.AddrPort
	Want  Want
	// Variant names the configuration the case runs under ("" is
	// sample.Config()); see Config.
	Variant string
}

// Family returns the case's IP family.
func (c Case) Family() servicemodel.IPFamily { return servicemodel.FamilyOf(c.Dst.Addr()) }

// String prints the case in one line.
func (c Case) String() string {
	from := c.From.Where.String()
	if c.From.Client != "" {
		from = c.From.Client
	}
	w := c.Want.Result.String()
	if c.Want.Result == Reached {
		w += " " + strings.Join(c.Want.Endpoints, ",")
		if c.Want.Masquerade {
			w += " masqueraded"
		}
		if c.Want.Sticky {
			w += " sticky"
		}
	}
	return fmt.Sprintf("%s: %s(%s) -> %s/%s: %s", c.Name, from, c.From.Addr, c.Dst, c.Proto, w)
}

// Outcome is what Evaluate found.
type Outcome struct {
	Want
	// Service is the matched service port, "" when no frontend matched.
	Service string
}

// Equal compares an outcome's Want with a case's, ignoring endpoint order.
func (w Want) Equal(o Want) bool {
	a, b := slices.Clone(w.Endpoints), slices.Clone(o.Endpoints)
	slices.Sort(a)
	slices.Sort(b)
	return w.Result == o.Result && slices.Equal(a, b) && w.Masquerade == o.Masquerade && w.Sticky == o.Sticky
}
