package netharness

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultProbeTimeout is how long a probe waits for an answer. A reject comes
// back in well under a millisecond on a namespace topology, so anything that
// takes this long was dropped.
const DefaultProbeTimeout = time.Second

// Outcome is what a probe observed.
type Outcome int

const (
	// Failed means the probe could not be judged (bad arguments, unexpected
	// error, caller's context done): see Result.Err.
	Failed Outcome = iota
	// Reached means a server answered.
	Reached
	// Refused means the path answered with a refusal: TCP RST or an ICMP
	// unreachable of any kind (ECONNREFUSED, EHOSTUNREACH, ENETUNREACH,
	// EACCES for ICMPv6 admin-prohibited, ECONNRESET).
	Refused
	// Timeout means no answer came back: the packet was dropped (also when
	// the kernel dropped it on the local output path and said EPERM).
	Timeout
)

func (o Outcome) String() string {
	switch o {
	case Reached:
		return "reached"
	case Refused:
		return "refused"
	case Timeout:
		return "timeout"
	default:
		return "failed"
	}
}

// ProbeOptions tune a probe. The zero value is the default.
type ProbeOptions struct {
	Timeout time.Duration // default DefaultProbeTimeout
	Source  netip.Addr    // local address to bind (one of the prober's); zero: kernel's choice
	// SourcePort fixes the local port (SO_REUSEADDR is set), so that
	// consecutive probes share a conntrack entry, e.g. to observe a stale
	// UDP flow; 0: a new ephemeral port per probe.
	SourcePort uint16
}

// Result is one probe's observation.
type Result struct {
	Outcome Outcome
	Server  string         // Reached: the pod that answered
	Seen    netip.Addr     // Reached: the source address the server saw
	Local   netip.AddrPort // the probe socket's local address, when it got one
	Err     error          // Refused, Timeout, Failed: the underlying error
	Elapsed time.Duration
}

func (r Result) String() string {
	switch r.Outcome {
	case Reached:
		return fmt.Sprintf("reached %s (saw %v)", r.Server, r.Seen)
	case Failed:
		return fmt.Sprintf("failed: %v", r.Err)
	default:
		return fmt.Sprintf("%v after %v: %v", r.Outcome, r.Elapsed.Round(time.Millisecond), r.Err)
	}
}

// Probe connects (tcp) or sends a datagram (udp) from the named namespace
// (NodeName, a pod or a client) to dst, with a new socket and so a new source
// port, and reports what came back.
func (t *Topology) Probe(ctx context.Context, from, proto string, dst netip.AddrPort, opts ProbeOptions) Result {
	rs := t.ProbeN(ctx, from, proto, dst, 1, opts)
	return rs[0]
}

// ProbeN runs n probes one after another (each a new socket) from one thread
// in the namespace. It returns n results, or one Failed result when n < 1.
func (t *Topology) ProbeN(ctx context.Context, from, proto string, dst netip.AddrPort, n int, opts ProbeOptions) Results {
	if n < 1 {
		return Results{{Outcome: Failed, Err: fmt.Errorf("netharness: probe count %d", n)}}
	}
	if proto != "tcp" && proto != "udp" {
		return Results{{Outcome: Failed, Err: fmt.Errorf("netharness: probe protocol %q (want tcp or udp)", proto)}}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultProbeTimeout
	}
	out := make(Results, 0, n)
	err := t.Do(from, func() error {
		for range n {
			out = append(out, probeOnce(ctx, proto, dst, opts))
		}
		return nil
	})
	if err != nil {
		return Results{{Outcome: Failed, Err: err}}
	}
	return out
}

func probeOnce(ctx context.Context, proto string, dst netip.AddrPort, opts ProbeOptions) Result {
	start := time.Now()
	r := exchange(ctx, proto, dst, opts)
	r.Elapsed = time.Since(start)
	if r.Err != nil {
		r.Outcome = classify(ctx, r.Err)
	}
	return r
}

// exchange does one request and parses the answer; Result.Err is set on any
// error (exchange does not classify it).
func exchange(ctx context.Context, proto string, dst netip.AddrPort, opts ProbeOptions) Result {
	pctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	d := net.Dialer{Control: recvErr}
	if opts.Source.IsValid() || opts.SourcePort != 0 {
		src := opts.Source
		if !src.IsValid() {
			src = netip.IPv6Unspecified()
			if dst.Addr().Is4() {
				src = netip.IPv4Unspecified()
			}
		}
		local := netip.AddrPortFrom(src, opts.SourcePort)
		if proto == "tcp" {
			d.LocalAddr = net.TCPAddrFromAddrPort(local)
		} else {
			d.LocalAddr = net.UDPAddrFromAddrPort(local)
		}
	}
	conn, err := d.DialContext(pctx, proto, dst.String())
	if err != nil {
		return Result{Err: err}
	}
	defer conn.Close()
	var r Result
	if la, err := netip.ParseAddrPort(conn.LocalAddr().String()); err == nil {
		r.Local = la
	}
	deadline, _ := pctx.Deadline()
	_ = conn.SetDeadline(deadline)
	if proto == "udp" {
		if _, err := conn.Write([]byte("probe\n")); err != nil {
			r.Err = err
			return r
		}
	}
	line, err := bufio.NewReaderSize(conn, 256).ReadString('\n')
	if err != nil {
		r.Err = err
		return r
	}
	server, seen, err := parseAnswer(line)
	if err != nil {
		r.Err = err
		return r
	}
	r.Outcome, r.Server, r.Seen = Reached, server, seen
	return r
}

// parseAnswer parses a server's line "<name> <source-ip-seen>\n".
func parseAnswer(line string) (string, netip.Addr, error) {
	fields := strings.Fields(line)
	if len(fields) == 2 {
		if seen, err := netip.ParseAddr(fields[1]); err == nil {
			return fields[0], seen, nil
		}
	}
	return "", netip.Addr{}, fmt.Errorf("netharness: unexpected answer %q", line)
}

// recvErr sets IP_RECVERR / IPV6_RECVERR (and SO_REUSEADDR, for
// ProbeOptions.SourcePort) on a probe socket. An ICMP error
// that comes back while connect(2) still holds the socket (always, on a
// namespace topology with no latency) is otherwise only a "soft" error, and
// TCP would wait for its SYN retransmission (1 s) to notice; with RECVERR the
// error is queued and wakes the poller, and SO_ERROR returns it at once.
func recvErr(network, _ string, c syscall.RawConn) error {
	level, opt := unix.SOL_IP, unix.IP_RECVERR
	if strings.HasSuffix(network, "6") {
		level, opt = unix.SOL_IPV6, unix.IPV6_RECVERR
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = errors.Join(unix.SetsockoptInt(int(fd), level, opt, 1),
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	})
	if err != nil {
		return err
	}
	return serr
}

// classify maps a probe error to an Outcome; ctx is the caller's context.
func classify(ctx context.Context, err error) Outcome {
	switch {
	case ctx.Err() != nil:
		return Failed
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EACCES),
		errors.Is(err, syscall.ECONNRESET):
		return Refused
	case errors.Is(err, syscall.EPERM), errors.Is(err, os.ErrDeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded):
		return Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return Timeout
	}
	return Failed
}

// Results are the observations of ProbeN.
type Results []Result

// Servers counts the Reached results by answering server.
func (rs Results) Servers() map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		if r.Outcome == Reached {
			m[r.Server]++
		}
	}
	return m
}

// Seen counts the Reached results by the source address the server saw.
func (rs Results) Seen() map[netip.Addr]int {
	m := map[netip.Addr]int{}
	for _, r := range rs {
		if r.Outcome == Reached {
			m[r.Seen]++
		}
	}
	return m
}

// Count returns how many results had outcome o.
func (rs Results) Count(o Outcome) int {
	n := 0
	for _, r := range rs {
		if r.Outcome == o {
			n++
		}
	}
	return n
}

// String summarises the results, e.g. "reached 10 {pod-a:6 pod-b:4} refused 0 timeout 0 failed 0".
func (rs Results) String() string {
	s := fmt.Sprintf("reached %d %v", rs.Count(Reached), rs.Servers())
	for _, o := range []Outcome{Refused, Timeout, Failed} {
		s += fmt.Sprintf(" %v %d", o, rs.Count(o))
	}
	for _, r := range rs {
		if r.Outcome == Failed {
			return s + " (first failure: " + r.Err.Error() + ")"
		}
	}
	return s
}
