package ipvs

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ruleArgs walks the options of an ipvsadm rule line.
type ruleArgs struct {
	f []string
	i int
}

func (a *ruleArgs) next() (string, bool) {
	if a.i >= len(a.f) {
		return "", false
	}
	a.i++
	return a.f[a.i-1], true
}

func (a *ruleArgs) value(opt string) (string, error) {
	v, ok := a.next()
	if !ok {
		return "", fmt.Errorf("%s without a value", opt)
	}
	return v, nil
}

// optional returns the next token if it does not look like an option.
func (a *ruleArgs) optional() (string, bool) {
	if a.i < len(a.f) && !strings.HasPrefix(a.f[a.i], "-") {
		return a.next()
	}
	return "", false
}

// serviceKey reads the service part of a rule: -t/-u/--sctp-service ADDR:PORT
// or -f MARK [-6], wherever it is among the options; the other options are
// left in order for the caller.
func serviceKey(f []string) (VSKey, []string, error) {
	var k VSKey
	var rest []string
	var mark uint64
	found, ipv6 := false, false
	for i := 0; i < len(f); i++ {
		opt := f[i]
		switch opt {
		case "-t", "--tcp-service", "-u", "--udp-service", "--sctp-service", "-f", "--fwmark-service":
			if i+1 >= len(f) || found {
				return k, nil, fmt.Errorf("bad or repeated %s", opt)
			}
			found, i = true, i+1
			var err error
			if opt == "-f" || opt == "--fwmark-service" {
				if mark, err = strconv.ParseUint(f[i], 0, 32); err != nil || mark == 0 {
					return k, nil, fmt.Errorf("bad firewall mark %q", f[i])
				}
				continue
			}
			k.Protocol = map[string]Protocol{"-t": TCP, "--tcp-service": TCP, "-u": UDP, "--udp-service": UDP}[opt]
			if k.Protocol == 0 {
				k.Protocol = SCTP
			}
			if k.Addr, k.Port, err = parseHostPort(f[i]); err != nil {
				return k, nil, err
			}
		case "-6", "--ipv6":
			ipv6 = true
		default:
			rest = append(rest, opt)
		}
	}
	if !found {
		return k, nil, fmt.Errorf("no service (-t, -u, --sctp-service or -f)")
	}
	if mark != 0 {
		k = FWMarkKey(uint32(mark), ipv6)
	}
	return k, rest, nil
}

// ruleService reads "-A -t 10.96.0.1:443 -s rr -p 10800".
func (p *parser) ruleService(f []string) error {
	p.cur, p.skip = nil, true
	k, rest, err := serviceKey(f)
	if err != nil {
		return err
	}
	v := &VirtualServer{VSKey: k, Scheduler: "wlc"} // ipvsadm's default
	a := &ruleArgs{f: rest}
	for opt, ok := a.next(); ok; opt, ok = a.next() {
		if err := ruleServiceOpt(v, opt, a); err != nil {
			return err
		}
	}
	return p.addService(v)
}

func ruleServiceOpt(v *VirtualServer, opt string, a *ruleArgs) error {
	switch opt {
	case "-s", "--scheduler":
		s, err := a.value(opt)
		v.Scheduler = s
		return err
	case "-p", "--persistent":
		v.Timeout = 300 // ipvsadm's default when -p has no value
		if s, ok := a.optional(); ok {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil || n == 0 {
				return fmt.Errorf("bad persistence timeout %q", s)
			}
			v.Timeout = uint32(n)
		}
		return nil
	case "-M", "--netmask":
		return parseMask(v, func() (string, error) { return a.value(opt) })
	case "-b", "--sched-flags":
		s, err := a.value(opt)
		if err != nil {
			return err
		}
		return parseFlags(v, s)
	case "-o", "--ops":
		v.Flags |= OnePacket
		return nil
	case "--pe":
		_, err := a.value(opt)
		return err
	}
	return fmt.Errorf("unknown option %q", opt)
}

// ruleReal reads "-a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1".
func (p *parser) ruleReal(f []string) error {
	k, rest, err := serviceKey(f)
	if err != nil {
		return err
	}
	v := p.st.Services[k]
	if v == nil {
		return fmt.Errorf("real server of an unknown virtual server %v", k)
	}
	r := RealServer{Weight: 1, Port: k.Port}
	a := &ruleArgs{f: rest}
	found := false
	for opt, ok := a.next(); ok; opt, ok = a.next() {
		if opt == "-r" || opt == "--real-server" {
			s, err := a.value(opt)
			if err != nil {
				return err
			}
			if r.Addr, r.Port, err = parseRealAddr(s, k.Port); err != nil {
				return err
			}
			found = true
			continue
		}
		if err := ruleRealOpt(&r, opt, a); err != nil {
			return err
		}
	}
	if !found {
		return fmt.Errorf("no real server (-r)")
	}
	return addReal(v, r)
}

func ruleRealOpt(r *RealServer, opt string, a *ruleArgs) error {
	num := func(max uint64) (uint64, error) {
		s, err := a.value(opt)
		if err != nil {
			return 0, err
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n > max {
			return 0, fmt.Errorf("%s: bad number %q", opt, s)
		}
		return n, nil
	}
	var n uint64
	var err error
	switch opt {
	case "-m", "--masquerading":
		r.Forward = Masq
	case "-g", "--gatewaying":
		r.Forward = Direct
	case "-i", "--ipip":
		r.Forward = Tunnel
	case "-w", "--weight":
		n, err = num(65535)
		r.Weight = int(n)
	case "-x", "--u-threshold":
		n, err = num(1<<32 - 1)
		r.UThreshold = uint32(n)
	case "-y", "--l-threshold":
		n, err = num(1<<32 - 1)
		r.LThreshold = uint32(n)
	case "--tun-type":
		// ipvsadm -S prints "--tun-type ipip" for -i; other tunnel types
		// (gue, gre) are not modelled.
		var s string
		if s, err = a.value(opt); err == nil && s != "ipip" {
			err = fmt.Errorf("unsupported tunnel type %q", s)
		}
	default:
		return fmt.Errorf("unknown option %q", opt)
	}
	return err
}

// parseRealAddr reads a real server's address with an optional port.
func parseRealAddr(s string, defPort uint16) (netip.Addr, uint16, error) {
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap(), defPort, nil
	}
	return parseHostPort(s)
}

// parseHostPort reads "10.96.0.1:443", "[fd00::1]:443" or "10.96.0.1:https".
// The address must be numeric.
func parseHostPort(s string) (netip.Addr, uint16, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.Addr{}, 0, fmt.Errorf("bad address:port %q", s)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, 0, fmt.Errorf("%q is not a numeric address (host names are not resolved)", host)
	}
	p, err := parsePort(port)
	return a.Unmap(), p, err
}

// parsePort reads a port number or a service name.
func parsePort(s string) (uint16, error) {
	if n, err := strconv.ParseUint(s, 10, 16); err == nil {
		return uint16(n), nil
	}
	if n, ok := wellKnownPorts[s]; ok {
		return n, nil
	}
	if n, err := net.LookupPort("tcp", s); err == nil && n > 0 && n < 65536 {
		return uint16(n), nil
	}
	return 0, fmt.Errorf("unknown port %q", s)
}

// wellKnownPorts are IANA service names that ipvsadm -L prints without -n,
// so that parsing does not depend on the host's /etc/services for them.
var wellKnownPorts = map[string]uint16{
	"ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "http": 80, "kerberos": 88,
	"pop3": 110, "ntp": 123, "imap2": 143, "snmp": 161, "ldap": 389, "https": 443,
	"submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995, "mysql": 3306,
	"postgresql": 5432, "http-alt": 8080, "bacula-dir": 9101, "bacula-fd": 9102, "bacula-sd": 9103,
	"webcache": 8080, "redis": 6379, "sun-sr-https": 6443,
}
