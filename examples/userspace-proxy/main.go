// Command userspace-proxy runs proxykit's userspace L4 proxy (lb.Proxy) on
// loopback addresses, for the built-in sample cluster or for Services and
// EndpointSlices read from YAML/JSON files as kubectl prints them.
//
//	go run ./examples/userspace-proxy [-demo] [-duration D] [-port-offset N]
//	    [-nodeport-offset N] [-v] [FILE|-]...
//
// Each IPv4 frontend is mapped to loopback: a ClusterIP, external or
// load-balancer address to its own 127.1.x.y (in plan order), a NodePort to
// 127.0.0.1, and every port but NodePorts to port+offset (default 10000,
// so that no privileged port is needed). In the sample, 10.96.0.53:53
// listens on 127.1.0.1:10053 and NodePort 30080 on 127.0.0.1:30080 (see
// -nodeport-offset). IPv6 frontends are not served. The command prints
// each listener and its backends.
//
// The sample's endpoints (10.244.x.y) do not exist on this host. With
// -demo the command starts a small server for every IPv4 endpoint on
// 127.2.x.y (same port), rewrites the endpoints to them, then connects once
// to each listener and prints which backend answered:
//
//	go run ./examples/userspace-proxy -demo -duration 10s
//
// It runs until interrupted (SIGINT, SIGTERM) or for -duration, then
// drains connections for up to 5 seconds.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/proxykit/proxykit/lb"
	"github.com/proxykit/proxykit/rulegen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

type options struct {
	demo       bool
	duration   time.Duration
	portOffset int
	npOffset   int
	verbose    bool
	buffered   bool
	files      []string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("userspace-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&o.demo, "demo", false, "start local demo backends on 127.2.x.y, rewrite the endpoints to them, and probe each listener once")
	fs.DurationVar(&o.duration, "duration", 0, "stop after this long (0: run until interrupted)")
	fs.IntVar(&o.portOffset, "port-offset", 10000, "added to every frontend port but NodePorts")
	fs.IntVar(&o.npOffset, "nodeport-offset", 0, "added to NodePorts")
	fs.BoolVar(&o.verbose, "v", false, "debug logging")
	fs.BoolVar(&o.buffered, "buffered", false, "copy TCP through pooled buffers instead of splicing (no pipe per idle connection)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if max(o.portOffset, o.npOffset) > 65535 || min(o.portOffset, o.npOffset) < -65535 || o.duration < 0 {
		return o, errors.New("-port-offset and -nodeport-offset must be in [-65535, 65535], -duration >= 0")
	}
	o.files = fs.Args()
	return o, nil
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "userspace-proxy:", err)
		return 2
	}
	if o.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.duration)
		defer cancel()
	}
	level := slog.LevelWarn
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if err := serve(ctx, o, stdin, stdout, log); err != nil {
		fmt.Fprintln(stderr, "userspace-proxy:", err)
		return 1
	}
	return 0
}

// serve loads the input, starts the demo backends if asked, runs the proxy
// until ctx ends, and drains it.
func serve(ctx context.Context, o options, stdin io.Reader, stdout io.Writer, log *slog.Logger) error {
	in, err := loadInput(o.files, stdin, log)
	if err != nil {
		return err
	}
	if o.demo {
		stop, err := startDemo(ctx, in, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	plan, err := in.plan(log)
	if err != nil {
		return err
	}
	p, err := lb.NewProxy(lb.ProxyOptions{Listen: newLoopbackMap(plan, o.portOffset, o.npOffset).listen, Buffered: o.buffered, Logger: log})
	if err != nil {
		return err
	}
	if _, err := p.Sync(ctx, rulegen.SyncRequest{Plan: plan}); err != nil {
		return err
	}
	for _, l := range p.Listeners() {
		fmt.Fprintf(stdout, "listening %s\n", l.ListenerSpec)
	}
	if o.demo {
		probeAll(ctx, stdout, p.Listeners())
	}
	fmt.Fprintln(stdout, "serving; interrupt to stop")
	<-ctx.Done()
	drain, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(drain); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "stopped")
	return nil
}
