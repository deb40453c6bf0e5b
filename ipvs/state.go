package ipvs

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// Protocol is a virtual server's transport protocol, by IANA number. The zero
// value means "none": a firewall-mark virtual server.
type Protocol uint8

// The protocols IPVS balances.
const (
	TCP  Protocol = 6
	UDP  Protocol = 17
	SCTP Protocol = 132
)

// String returns "TCP", "UDP", "SCTP", "FWM" for none, or the number.
func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	case SCTP:
		return "SCTP"
	case 0:
		return "FWM"
	}
	return fmt.Sprintf("proto-%d", uint8(p))
}

// Forward is a real server's forwarding method; the values are the kernel's.
type Forward uint8

// Forwarding methods.
const (
	// Masq is NAT: the destination is rewritten (ipvsadm -m). The default.
	Masq Forward = 0
	// Local is reported by some kernels for a real server on a local address;
	// it is never requested.
	Local Forward = 1
	// Tunnel is IP-in-IP encapsulation (ipvsadm -i).
	Tunnel Forward = 2
	// Direct is direct routing, "gatewaying" (ipvsadm -g): the frame goes to
	// the real server unchanged.
	Direct Forward = 3
)

// String returns the name ipvsadm -L prints.
func (f Forward) String() string {
	switch f {
	case Masq:
		return "Masq"
	case Local:
		return "Local"
	case Tunnel:
		return "Tunnel"
	case Direct:
		return "Route"
	}
	return fmt.Sprintf("fwd-%d", uint8(f))
}

// SchedFlags are a virtual server's flags other than persistence (which
// VirtualServer.Timeout expresses). The values are the kernel's.
type SchedFlags uint32

// Scheduler flags. Sched1 and Sched2 mean sh-fallback and sh-port for the sh
// scheduler, mh-fallback and mh-port for mh.
const (
	OnePacket SchedFlags = 0x4 // one-packet scheduling, for UDP (ipvsadm -o)
	Sched1    SchedFlags = 0x8
	Sched2    SchedFlags = 0x10
	Sched3    SchedFlags = 0x20

	// KnownFlags is every flag this package programs; others are dropped.
	KnownFlags = OnePacket | Sched1 | Sched2 | Sched3
)

// flagPersistent is the kernel's IP_VS_SVC_F_PERSISTENT.
const flagPersistent = 0x1

// VSKey identifies a virtual server. A firewall-mark virtual server has
// Protocol 0, Port 0, a non-zero FWMark and, as Addr, the unspecified address
// of its family (0.0.0.0 or ::).
type VSKey struct {
	Protocol Protocol
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
}

// FWMarkKey returns the key of the firewall-mark virtual server for mark in the
// given family.
func FWMarkKey(mark uint32, ipv6 bool) VSKey {
	if ipv6 {
		return VSKey{Addr: netip.IPv6Unspecified(), FWMark: mark}
	}
	return VSKey{Addr: netip.IPv4Unspecified(), FWMark: mark}
}

// String prints the key as ipvsadm -L -n does: "TCP 10.96.0.1:443", "FWM 3".
func (k VSKey) String() string {
	if k.FWMark != 0 {
		if k.Addr.Is6() {
			return fmt.Sprintf("FWM %d IPv6", k.FWMark)
		}
		return fmt.Sprintf("FWM %d", k.FWMark)
	}
	return k.Protocol.String() + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// compareKeys orders keys: by family (IPv4 first), then address, protocol,
// port and mark.
func compareKeys(a, b VSKey) int {
	return cmp.Or(
		a.Addr.Compare(b.Addr),
		cmp.Compare(a.Protocol, b.Protocol),
		cmp.Compare(a.Port, b.Port),
		cmp.Compare(a.FWMark, b.FWMark),
	)
}

// VirtualServer is one IPVS service with its real servers.
type VirtualServer struct {
	VSKey
	// Scheduler is the kernel scheduler's name: rr, wrr, lc, wlc, lblc, lblcr,
	// dh, sh, sed, nq, mh, fo, ovf, twos.
	Scheduler string
	Flags     SchedFlags
	// Timeout is the persistence timeout in seconds; 0 means not persistent.
	Timeout uint32
	// PersistBits is the persistence netmask as a prefix length (ipvsadm -M);
	// 0 means the full length of the family (one client address). It only
	// counts when Timeout is set.
	PersistBits uint8
	// Reals are the real servers, in any order; Sort orders them.
	Reals []RealServer
}

// RealServer is one destination of a virtual server.
type RealServer struct {
	Addr    netip.Addr
	Port    uint16
	Weight  int // 0..65535; 0 takes no new connections
	Forward Forward
	// UThreshold and LThreshold are the connection thresholds (ipvsadm -x, -y);
	// 0 means none.
	UThreshold, LThreshold uint32

	// ActiveConns and InactiveConns are read from the kernel; they are not
	// part of the desired state and Equal ignores them.
	ActiveConns, InactiveConns int
}

// RSKey identifies a real server within a virtual server.
type RSKey struct {
	Addr netip.Addr
	Port uint16
}

// Key returns the real server's key.
func (r RealServer) Key() RSKey { return RSKey{r.Addr, r.Port} }

// String prints "10.244.1.2:8080".
func (k RSKey) String() string { return netip.AddrPortFrom(k.Addr, k.Port).String() }

// Equal reports whether r and o program the same destination (connection
// counters aside). Local and Masq count as equal: the kernel may report a
// masquerading real server on a local address as Local.
func (r RealServer) Equal(o RealServer) bool { return r.equal(&o) }

func (r *RealServer) equal(o *RealServer) bool {
	return r.Addr == o.Addr && r.Port == o.Port && r.Weight == o.Weight &&
		sameForward(r.Forward, o.Forward) && r.UThreshold == o.UThreshold && r.LThreshold == o.LThreshold
}

func sameForward(a, b Forward) bool {
	if a == Local {
		a = Masq
	}
	if b == Local {
		b = Masq
	}
	return a == b
}

// SameSettings reports whether v and o have the same key, scheduler, flags and
// persistence (real servers aside).
func (v *VirtualServer) SameSettings(o *VirtualServer) bool {
	return v.VSKey == o.VSKey && v.Scheduler == o.Scheduler && v.Flags&KnownFlags == o.Flags&KnownFlags &&
		v.Timeout == o.Timeout && (v.Timeout == 0 || v.persistBits() == o.persistBits())
}

// persistBits is PersistBits with 0 resolved to the family's full length.
func (v *VirtualServer) persistBits() int {
	if v.PersistBits == 0 || int(v.PersistBits) > v.Addr.BitLen() {
		return v.Addr.BitLen()
	}
	return int(v.PersistBits)
}

// Equal reports whether v and o have the same settings and the same real
// servers, in any order.
func (v *VirtualServer) Equal(o *VirtualServer) bool {
	if !v.SameSettings(o) || len(v.Reals) != len(o.Reals) {
		return false
	}
	for _, r := range v.Reals {
		i := findReal(o.Reals, r.Key())
		if i < 0 || !o.Reals[i].Equal(r) {
			return false
		}
	}
	return true
}

// Settings returns a copy of v without its real servers.
func (v *VirtualServer) Settings() *VirtualServer {
	c := *v
	c.Reals = nil
	return &c
}

// Clone returns a deep copy of v.
func (v *VirtualServer) Clone() *VirtualServer {
	c := *v
	c.Reals = slices.Clone(v.Reals)
	return &c
}

// Sort orders the real servers by address, then port.
func (v *VirtualServer) Sort() {
	slices.SortFunc(v.Reals, func(a, b RealServer) int {
		return cmp.Or(a.Addr.Compare(b.Addr), cmp.Compare(a.Port, b.Port))
	})
}

// findReal returns the index of the real server with key k, or -1.
func findReal(rs []RealServer, k RSKey) int {
	for i := range rs {
		if rs[i].Addr == k.Addr && rs[i].Port == k.Port {
			return i
		}
	}
	return -1
}
