package ipvs

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net"
	"net/netip"

	"github.com/moby/ipvs"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// realDriver is the driver of a network namespace's kernel.
type realDriver struct {
	ipvs      *ipvs.Handle
	nl        *netlink.Handle
	batch     *ipsetBatcher
	dummy     string
	linkCache netlink.Link // the dummy interface once seen
}

func family(a netip.Addr) uint16 {
	if a.Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// toService converts a virtual server (settings) to moby's form.
func toService(v *VirtualServer) *ipvs.Service {
	s := &ipvs.Service{
		AddressFamily: family(v.Addr),
		Protocol:      uint16(v.Protocol),
		Address:       net.IP(v.Addr.AsSlice()),
		Port:          v.Port,
		FWMark:        v.FWMark,
		SchedName:     v.Scheduler,
		Flags:         uint32(v.Flags & KnownFlags),
	}
	if v.Timeout > 0 {
		s.Flags |= flagPersistent
		s.Timeout = v.Timeout
	}
	// The kernel takes an IPv4 netmask as a big-endian mask, an IPv6 one as
	// a prefix length; moby sends the value in host order.
	if v.Addr.Is4() {
		mask := ^uint32(0) << (32 - v.persistBits())
		s.Netmask = binary.NativeEndian.Uint32(binary.BigEndian.AppendUint32(nil, mask))
	} else {
		s.Netmask = uint32(v.persistBits())
	}
	return s
}

// keyService is the moby form of a key alone (enough to address a service).
func keyService(k VSKey) *ipvs.Service {
	return toService(&VirtualServer{VSKey: k, Scheduler: "rr"})
}

// fromService converts moby's service to a virtual server (settings).
func fromService(s *ipvs.Service) (*VirtualServer, error) {
	addr, ok := netip.AddrFromSlice(s.Address)
	if s.FWMark != 0 {
		addr, ok = netip.IPv4Unspecified(), true
		if s.AddressFamily == unix.AF_INET6 {
			addr = netip.IPv6Unspecified()
		}
	}
	if !ok {
		return nil, fmt.Errorf("ipvs: virtual server with bad address %v", s.Address)
	}
	addr = addr.Unmap()
	v := &VirtualServer{
		VSKey:     VSKey{Protocol: Protocol(s.Protocol), Addr: addr, Port: s.Port, FWMark: s.FWMark},
		Scheduler: s.SchedName,
		Flags:     SchedFlags(s.Flags) & KnownFlags,
	}
	if s.FWMark != 0 {
		v.Protocol, v.Port = 0, 0
	}
	if s.Flags&flagPersistent != 0 {
		v.Timeout = s.Timeout
		n := int(s.Netmask)
		if addr.Is4() {
			n = bits.OnesCount32(s.Netmask)
		}
		if n != addr.BitLen() {
			v.PersistBits = uint8(n)
		}
	}
	return v, nil
}

func toDestination(r RealServer) *ipvs.Destination {
	return &ipvs.Destination{
		AddressFamily:   family(r.Addr),
		Address:         net.IP(r.Addr.AsSlice()),
		Port:            r.Port,
		Weight:          r.Weight,
		ConnectionFlags: uint32(r.Forward),
		UpperThreshold:  r.UThreshold,
		LowerThreshold:  r.LThreshold,
	}
}

func fromDestination(d *ipvs.Destination) (RealServer, error) {
	addr, ok := netip.AddrFromSlice(d.Address)
	if !ok {
		return RealServer{}, fmt.Errorf("ipvs: real server with bad address %v", d.Address)
	}
	return RealServer{
		Addr:          addr.Unmap(),
		Port:          d.Port,
		Weight:        d.Weight,
		Forward:       Forward(d.ConnectionFlags & ipvs.ConnectionFlagFwdMask),
		UThreshold:    d.UpperThreshold,
		LThreshold:    d.LowerThreshold,
		ActiveConns:   d.ActiveConnections,
		InactiveConns: d.InactiveConnections,
	}, nil
}

func (d *realDriver) services() ([]*VirtualServer, error) {
	if d.ipvs == nil { // a sets-only driver (tests on a kernel without IPVS)
		return nil, nil
	}
	svcs, err := d.ipvs.GetServices()
	if err != nil {
		return nil, err
	}
	out := make([]*VirtualServer, 0, len(svcs))
	for _, s := range svcs {
		v, err := fromService(s)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (d *realDriver) service(k VSKey) (*VirtualServer, error) {
	s, err := d.ipvs.GetService(keyService(k))
	if err != nil {
		// moby reports a missing service as "expected only one", or ESRCH.
		return nil, fmt.Errorf("%w: %v: %w", ErrNotFound, k, err)
	}
	return fromService(s)
}

func (d *realDriver) reals(k VSKey) ([]RealServer, error) {
	dsts, err := d.ipvs.GetDestinations(keyService(k))
	if err != nil {
		return nil, kernelErr(err, ErrExists)
	}
	out := make([]RealServer, 0, len(dsts))
	for _, dst := range dsts {
		r, err := fromDestination(dst)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (d *realDriver) addService(v *VirtualServer) error {
	return kernelErr(d.ipvs.NewService(toService(v)), ErrExists)
}

func (d *realDriver) updateService(v *VirtualServer) error {
	return kernelErr(d.ipvs.UpdateService(toService(v)), ErrExists)
}

func (d *realDriver) delService(k VSKey) error {
	return kernelErr(d.ipvs.DelService(keyService(k)), ErrExists)
}

func (d *realDriver) addReal(k VSKey, r RealServer) error {
	return kernelErr(d.ipvs.NewDestination(keyService(k), toDestination(r)), ErrExists)
}

func (d *realDriver) updateReal(k VSKey, r RealServer) error {
	return kernelErr(d.ipvs.UpdateDestination(keyService(k), toDestination(r)), ErrExists)
}

func (d *realDriver) delReal(k VSKey, r RealServer) error {
	return kernelErr(d.ipvs.DelDestination(keyService(k), toDestination(r)), ErrExists)
}
