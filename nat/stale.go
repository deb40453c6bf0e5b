package nat

import (
	"context"
	"fmt"
	"net/netip"
)

// StaleFlow names connection-tracking entries to delete after a sync, so
// that datagrams of an existing UDP or SCTP "connection" stop going where
// the rules no longer send them: to an endpoint that is gone, or (for a
// service that had no endpoints) nowhere.
type StaleFlow struct {
	Proto uint8 // IPPROTO_UDP (17) or IPPROTO_SCTP (132)
	// Dst and Port are the frontend the client sent to (the original
	// destination). An invalid Dst matches any address (a NodePort on every
	// local address).
	Dst  netip.Addr
	Port uint16
	// Endpoint is the endpoint the entry was translated to (the reply
	// source); invalid matches any, for a service that had none.
	Endpoint netip.Addr
	// IPv6 is the flow's family (needed when neither address is given).
	IPv6 bool
}

// Protocol numbers StaleFlow uses.
const (
	ProtoUDP  uint8 = 17
	ProtoSCTP uint8 = 132
)

// String prints "udp 10.96.0.53:53 -> 10.244.1.5" ("*" for any).
func (f StaleFlow) String() string {
	proto := "udp"
	if f.Proto == ProtoSCTP {
		proto = "sctp"
	}
	dst := fmt.Sprintf("*:%d", f.Port)
	if f.Dst.IsValid() {
		dst = netip.AddrPortFrom(f.Dst, f.Port).String()
	}
	ep := "*"
	if f.Endpoint.IsValid() {
		ep = f.Endpoint.String()
	}
	return proto + " " + dst + " -> " + ep
}

// ConntrackCleaner deletes conntrack entries; *conntrack.Cleaner (package
// nat/conntrack) is the kernel's.
type ConntrackCleaner interface {
	Delete(ctx context.Context, flows []StaleFlow) (int, error)
}
