package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/proxykit/proxykit/lb"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// startDemo rewrites every IPv4 endpoint of the input to its own loopback
// address 127.2.x.y and starts a server there on each of the endpoint's
// ports: TCP answers "<endpoint> via <address>" and then echoes, UDP
// answers "<endpoint>: " followed by the datagram. stop closes them.
func startDemo(ctx context.Context, in *input, log *slog.Logger) (stop func(), err error) {
	local := map[netip.Addr]netip.Addr{}
	var closers []io.Closer
	stop = func() {
		for _, c := range closers {
			c.Close()
		}
	}
	started := map[string]bool{}
	for i, sl := range in.slices {
		if sl.Family != servicemodel.IPv4 {
			continue
		}
		cp := *sl
		cp.Endpoints = append([]servicemodel.Endpoint(nil), sl.Endpoints...)
		for j, ep := range cp.Endpoints {
			addr, ok := local[ep.Addr]
			if !ok {
				addr = loopbackAddr(2, len(local))
				local[ep.Addr] = addr
			}
			cp.Endpoints[j].Addr = addr
			for _, port := range sl.Ports {
				orig := netip.AddrPortFrom(ep.Addr, uint16(port.Port))
				at := netip.AddrPortFrom(addr, uint16(port.Port))
				key := string(port.Protocol) + " " + at.String()
				if started[key] {
					continue
				}
				c, err := demoServer(ctx, port.Protocol, orig, at, log)
				if err != nil {
					stop()
					return nil, err
				}
				started[key] = true
				closers = append(closers, c)
			}
		}
		in.slices[i] = &cp
	}
	return stop, nil
}

// demoServer serves one endpoint's port on its loopback stand-in.
func demoServer(ctx context.Context, proto servicemodel.Protocol, orig, at netip.AddrPort, log *slog.Logger) (io.Closer, error) {
	var lc net.ListenConfig
	if proto == servicemodel.UDP {
		pc, err := lc.ListenPacket(ctx, "udp4", at.String())
		if err != nil {
			return nil, fmt.Errorf("demo backend for %s: %w", orig, err)
		}
		go udpEcho(pc.(*net.UDPConn), orig)
		return pc, nil
	}
	ln, err := lc.Listen(ctx, "tcp4", at.String())
	if err != nil {
		return nil, fmt.Errorf("demo backend for %s: %w", orig, err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				fmt.Fprintf(c, "%s via %s\n", orig, at)
				if _, err := io.Copy(c, c); err != nil {
					log.Debug("demo backend", "endpoint", orig, "err", err)
				}
			}()
		}
	}()
	return ln, nil
}

func udpEcho(pc *net.UDPConn, orig netip.AddrPort) {
	buf := make([]byte, 65535)
	prefix := []byte(orig.String() + ": ")
	for {
		n, from, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		pc.WriteToUDPAddrPort(append(prefix[:len(prefix):len(prefix)], buf[:n]...), from)
	}
}

// probeAll connects once to every listener and prints what answered.
func probeAll(ctx context.Context, w io.Writer, ls []lb.ListenerInfo) {
	for _, l := range ls {
		answer, err := probe(ctx, l)
		if err != nil {
			answer = "no answer: " + err.Error()
			switch {
			case l.Action == rulegen.Reject:
				answer = "rejected as planned (" + err.Error() + ")"
			case len(l.SourceRanges) > 0:
				answer = "refused: this client is outside the source ranges (" + err.Error() + ")"
			}
		}
		fmt.Fprintf(w, "probe %s %s (%s %s): %s\n", l.Protocol, l.Bound, l.Service, l.Frontend, answer)
	}
}

func probe(ctx context.Context, l lb.ListenerInfo) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	network := "tcp4"
	if l.Protocol == servicemodel.UDP {
		network = "udp4"
	}
	c, err := d.DialContext(ctx, network, l.Bound.String())
	if err != nil {
		return "", err
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	c.SetDeadline(deadline)
	if l.Protocol == servicemodel.UDP {
		if _, err := io.WriteString(c, "ping"); err != nil {
			return "", err
		}
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if errors.Is(err, io.EOF) && line == "" {
		return "", errors.New("closed by the proxy")
	}
	return strings.TrimSpace(line), err
}
