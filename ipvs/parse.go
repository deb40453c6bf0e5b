package ipvs

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ParseError is one line ParseIPVSADM could not read.
type ParseError struct {
	Line int // 1-based
	Text string
	Err  error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("ipvsadm line %d %q: %v", e.Line, e.Text, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// ParseIPVSADM reads the output of `ipvsadm -S` (rules) or `ipvsadm -L`
// (the listing, with its default or --persistent-conn columns), with or
// without -n: white space may be collapsed or trailing, service names stand
// for ports (http, https, ...), the text may be cut anywhere. It returns the
// virtual servers it could read and, joined, a *ParseError for every line it
// could not (a virtual server whose line fails takes its real servers with
// it). Host names instead of addresses cannot be read. Only Services is set.
func ParseIPVSADM(text string) (*State, error) {
	p := &parser{st: NewState()}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if err := p.line(line); err != nil {
			p.errs = append(p.errs, &ParseError{Line: n, Text: strings.TrimSpace(line), Err: err})
		}
	}
	if err := sc.Err(); err != nil {
		p.errs = append(p.errs, err)
	}
	return p.st, errors.Join(p.errs...)
}

type parser struct {
	st      *State
	cur     *VirtualServer // the virtual server listing lines belong to
	skip    bool           // the current virtual server's line failed
	columns []string       // the listing's real-server columns, from its header
	errs    []error
}

var errNoService = errors.New("real server before any virtual server")

func (p *parser) line(line string) error {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	switch f[0] {
	case "-A", "--add-service":
		return p.ruleService(f[1:])
	case "-a", "--add-server":
		return p.ruleReal(f[1:])
	case "TCP", "UDP", "SCTP", "FWM":
		return p.listService(f)
	case "->":
		if len(f) > 1 && f[1] == "RemoteAddress:Port" {
			p.header(f[2:])
			return nil
		}
		return p.listReal(f[1:])
	case "Prot":
		p.header(f)
		return nil
	case "IP":
		if strings.HasPrefix(line, "IP Virtual Server") {
			return nil
		}
	}
	return fmt.Errorf("unrecognised line")
}

// header collects the real-server column names of a listing header.
func (p *parser) header(f []string) {
	for _, c := range f {
		switch c {
		case "Prot", "LocalAddress:Port", "Scheduler", "Flags", "->", "RemoteAddress:Port":
		default:
			p.columns = append(p.columns, c)
		}
	}
}

// listService reads "TCP  10.96.0.1:443 rr persistent 10800" or
// "FWM  3 [IPv6] wrr".
func (p *parser) listService(f []string) error {
	p.cur, p.skip = nil, true
	if len(f) < 3 {
		return fmt.Errorf("too few fields")
	}
	v := &VirtualServer{}
	rest := f[2:]
	if f[0] == "FWM" {
		mark, err := strconv.ParseUint(f[1], 0, 32)
		if err != nil || mark == 0 {
			return fmt.Errorf("bad firewall mark %q", f[1])
		}
		ipv6 := rest[0] == "IPv6"
		if ipv6 {
			rest = rest[1:]
		}
		v.VSKey = FWMarkKey(uint32(mark), ipv6)
	} else {
		a, port, err := parseHostPort(f[1])
		if err != nil {
			return err
		}
		v.VSKey = VSKey{Protocol: protocolByName(f[0]), Addr: a, Port: port}
	}
	if err := listServiceOpts(v, rest); err != nil {
		return err
	}
	return p.addService(v)
}

// listServiceOpts reads "rr (sh-fallback,sh-port) persistent 10800 mask
// 255.255.255.0 ops".
func listServiceOpts(v *VirtualServer, f []string) error {
	if len(f) == 0 {
		return fmt.Errorf("no scheduler")
	}
	v.Scheduler = f[0]
	for i := 1; i < len(f); i++ {
		arg := func() (string, error) {
			if i+1 >= len(f) {
				return "", fmt.Errorf("%s without a value", f[i])
			}
			i++
			return f[i], nil
		}
		var err error
		switch tok := f[i]; {
		case tok == "persistent":
			v.Timeout, err = parseTimeout(arg)
		case tok == "mask":
			err = parseMask(v, arg)
		case tok == "ops":
			v.Flags |= OnePacket
		case tok == "pe":
			_, err = arg()
		case strings.HasPrefix(tok, "(") && strings.HasSuffix(tok, ")"):
			err = parseFlags(v, tok[1:len(tok)-1])
		default:
			err = fmt.Errorf("unknown service option %q", tok)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseTimeout(arg func() (string, error)) (uint32, error) {
	s, err := arg()
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("bad persistence timeout %q", s)
	}
	return uint32(n), nil
}

// parseMask reads a persistence netmask: dotted IPv4 or a prefix length.
func parseMask(v *VirtualServer, arg func() (string, error)) error {
	s, err := arg()
	if err != nil {
		return err
	}
	bits := -1
	if m, err := netip.ParseAddr(s); err == nil && m.Is4() {
		b := m.As4()
		if ones, okMask := maskOnes(net.IPMask(b[:])); okMask {
			bits = ones
		}
	} else if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= v.Addr.BitLen() {
		bits = n
	}
	if bits < 0 || bits > v.Addr.BitLen() {
		return fmt.Errorf("bad netmask %q", s)
	}
	if bits != v.Addr.BitLen() {
		v.PersistBits = uint8(bits)
	}
	return nil
}

func maskOnes(m net.IPMask) (int, bool) {
	ones, bits := m.Size()
	return ones, bits != 0
}

// parseFlags reads scheduler flags: "sh-fallback,sh-port", "flag-1", ...
func parseFlags(v *VirtualServer, s string) error {
	for _, name := range strings.Split(s, ",") {
		switch name {
		case "flag-1", "sh-fallback", "mh-fallback":
			v.Flags |= Sched1
		case "flag-2", "sh-port", "mh-port":
			v.Flags |= Sched2
		case "flag-3":
			v.Flags |= Sched3
		default:
			return fmt.Errorf("unknown scheduler flag %q", name)
		}
	}
	return nil
}

func (p *parser) addService(v *VirtualServer) error {
	if _, dup := p.st.Services[v.VSKey]; dup {
		return fmt.Errorf("duplicate virtual server %v", v.VSKey)
	}
	p.st.Services[v.VSKey] = v
	p.cur, p.skip = v, false
	return nil
}

// listReal reads "10.244.1.2:8080 Masq 1 0 0" under the listing's columns.
func (p *parser) listReal(f []string) error {
	if p.skip {
		return fmt.Errorf("real server of an unreadable virtual server")
	}
	if p.cur == nil {
		return errNoService
	}
	if len(f) == 0 {
		return fmt.Errorf("no real server address")
	}
	a, port, err := parseHostPort(f[0])
	if err != nil {
		return err
	}
	r := RealServer{Addr: a, Port: port}
	vals := f[1:]
	if len(vals) > 0 {
		if fw, ok := forwardByName(vals[0]); ok {
			r.Forward, vals = fw, vals[1:]
		}
	}
	if err := p.realColumns(&r, vals); err != nil {
		return err
	}
	return addReal(p.cur, r)
}

// realColumns assigns the numeric columns of a listing's real-server line.
func (p *parser) realColumns(r *RealServer, vals []string) error {
	cols := []string{"Weight", "ActiveConn", "InActConn"}
	if len(p.columns) > 0 {
		cols = cols[:0]
		for _, c := range p.columns {
			if c != "Forward" {
				cols = append(cols, c)
			}
		}
	}
	if len(vals) > len(cols) {
		return fmt.Errorf("more values than columns %v", cols)
	}
	for i, s := range vals {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return fmt.Errorf("column %s: bad number %q", cols[i], s)
		}
		switch cols[i] {
		case "Weight":
			if n > 65535 {
				return fmt.Errorf("weight %d out of range", n)
			}
			r.Weight = int(n)
		case "ActiveConn":
			r.ActiveConns = int(n)
		case "InActConn":
			r.InactiveConns = int(n)
		}
	}
	return nil
}

func addReal(v *VirtualServer, r RealServer) error {
	if r.Addr.Is4() != v.Addr.Is4() {
		return fmt.Errorf("real server %v of another family than %v", r.Key(), v.VSKey)
	}
	if findReal(v.Reals, r.Key()) >= 0 {
		return fmt.Errorf("duplicate real server %v", r.Key())
	}
	v.Reals = append(v.Reals, r)
	return nil
}

func forwardByName(s string) (Forward, bool) {
	switch s {
	case "Masq":
		return Masq, true
	case "Local":
		return Local, true
	case "Tunnel":
		return Tunnel, true
	case "Route":
		return Direct, true
	}
	return 0, false
}
