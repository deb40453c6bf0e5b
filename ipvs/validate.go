package ipvs

import (
	"errors"
	"fmt"
	"strings"
)

// ValidationError says what is wrong with one object of a State.
type ValidationError struct {
	Object string // e.g. "TCP 10.96.0.1:443", "ipset KUBE-CLUSTER-IP"
	Reason string
}

func (e *ValidationError) Error() string { return "ipvs: " + e.Object + ": " + e.Reason }

// Schedulers lists the kernel's IPVS schedulers by name.
var Schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf", "twos"}

// Validate reports every problem of s, joined (each a *ValidationError).
func (s *State) Validate() error {
	var errs []error
	bad := func(obj, format string, args ...any) {
		errs = append(errs, &ValidationError{Object: obj, Reason: fmt.Sprintf(format, args...)})
	}
	for k, v := range s.Services {
		validateService(k, v, bad)
	}
	for a := range s.Addresses {
		if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
			bad("address "+a.String(), "not a plain IP address")
		}
	}
	for n, set := range s.Sets {
		validateSet(n, set, bad)
	}
	return errors.Join(errs...)
}

func validateService(k VSKey, v *VirtualServer, bad func(obj, format string, args ...any)) {
	obj := k.String()
	if v.VSKey != k {
		bad(obj, "stored under key %v", k)
	}
	switch {
	case !k.Addr.IsValid() || k.Addr.Zone() != "" || k.Addr.Is4In6():
		bad(obj, "invalid address")
	case k.FWMark != 0 && (k.Protocol != 0 || k.Port != 0 || !k.Addr.IsUnspecified()):
		bad(obj, "a firewall-mark service has no protocol, port or address")
	case k.FWMark == 0 && k.Protocol != TCP && k.Protocol != UDP && k.Protocol != SCTP:
		bad(obj, "protocol must be TCP, UDP or SCTP")
	}
	if !validSchedName(v.Scheduler) {
		bad(obj, "scheduler %q is not a scheduler name", v.Scheduler)
	}
	if v.Flags&^KnownFlags != 0 {
		bad(obj, "unknown flags %#x", uint32(v.Flags&^KnownFlags))
	}
	if int(v.PersistBits) > k.Addr.BitLen() {
		bad(obj, "persistence netmask /%d too long", v.PersistBits)
	}
	seen := map[RSKey]bool{}
	for _, r := range v.Reals {
		robj := obj + " -> " + r.Key().String()
		switch {
		case seen[r.Key()]:
			bad(robj, "duplicate real server")
		case !r.Addr.IsValid() || r.Addr.Is4() != k.Addr.Is4() || r.Addr.Zone() != "":
			bad(robj, "address must be of the service's family")
		case r.Weight < 0 || r.Weight > 65535:
			bad(robj, "weight %d out of 0..65535", r.Weight)
		case r.Forward != Masq && r.Forward != Direct && r.Forward != Tunnel:
			bad(robj, "forwarding method %v cannot be requested", r.Forward)
		}
		seen[r.Key()] = true
	}
}

// validSchedName accepts a known scheduler or any short lower-case name (a
// kernel may carry more schedulers than Schedulers lists).
func validSchedName(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

func validateSet(name string, set *IPSet, bad func(obj, format string, args ...any)) {
	obj := "ipset " + name
	if set.Name != name || name == "" || len(name) > 31 || strings.ContainsFunc(name, isSpaceOrControl) {
		bad(obj, "name must be 1..31 printable bytes without spaces and match its key")
	}
	if !set.Type.valid() {
		bad(obj, "unsupported type %q", set.Type)
		return
	}
	for e := range set.All() {
		if err := set.checkEntry(e); err != nil {
			bad(obj, "%v", err)
		}
	}
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// checkEntry reports whether e fits the set's type and family.
func (s *IPSet) checkEntry(e SetEntry) error {
	addr, addr2 := e.Addr(), e.Addr2()
	if !addr.IsValid() || addr.Addr().Is6() != s.IPv6 {
		return fmt.Errorf("entry %v: address of the wrong family", e)
	}
	if s.Type != HashNet && addr.Bits() != addr.Addr().BitLen() {
		return fmt.Errorf("entry %v: %s takes an address, not a network", e, s.Type)
	}
	if s.Type.hasPort() != (e.Protocol != 0) {
		return fmt.Errorf("entry %v: protocol and port do not fit %s", e, s.Type)
	}
	if s.Type.hasSecond() != addr2.IsValid() {
		return fmt.Errorf("entry %v: second address does not fit %s", e, s.Type)
	}
	if addr2.IsValid() && (addr2.Addr().Is6() != s.IPv6 ||
		(s.Type == HashIPPortIP && addr2.Bits() != addr2.Addr().BitLen())) {
		return fmt.Errorf("entry %v: bad second address for %s", e, s.Type)
	}
	return nil
}
