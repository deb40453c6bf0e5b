package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/vishvananda/netns"

	"github.com/proxykit/proxykit/internal/nsthread"
	"github.com/proxykit/proxykit/internal/sysctl"
	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
)

var errNoIPVS = errors.New("this kernel has no IPVS (load the ip_vs module, or run in the test VM: see `go doc ./examples/ipvs-dr`)")

func renderOptions(o options) ipvs.RenderOptions {
	return ipvs.RenderOptions{Scheduler: o.scheduler,
		Forwarding: map[rulegen.FrontendKind]ipvs.Forward{rulegen.ExternalIP: ipvs.Direct}}
}

// printBoth prints what each side programs, offline.
func printBoth(w io.Writer, o options) error {
	dp, err := directorPlan(o)
	if err != nil {
		return err
	}
	r, err := ipvs.Render(dp, renderOptions(o))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# ==== director: ipvsadm-save (ipvsadm -R); %s on %s ====\n", o.vip, ipvs.DefaultDummy)
	fmt.Fprint(w, r.IPVS.SaveIPVS())
	np, err := nodePlan(o)
	if err != nil {
		return err
	}
	rs, err := iptables.Render(np, iptables.IPv4, iptables.RenderOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "# ==== node %s: iptables-save (iptables-restore) ====\n", o.nodeName)
	_, err = rs.WriteTo(w)
	return err
}

// director programs (or removes) the director side: the VIP on the dummy
// interface and the virtual server in DR mode, with the ipvs Backend.
func director(ctx context.Context, o options, cleanup bool) error {
	k, err := ipvs.NewReal(ctx, o.netns, ipvs.Options{})
	if errors.Is(err, ipvs.ErrNoIPVS) {
		return fmt.Errorf("%w: %w", errNoIPVS, err)
	}
	if err != nil {
		return err
	}
	defer k.Close()
	rules, err := iptablesKernel(ctx, o)
	if err != nil {
		return err
	}
	b, err := ipvs.NewBackend(ipvs.BackendOptions{Kernel: k, Rules: rules, Render: renderOptions(o),
		Families: []iptables.Family{iptables.IPv4}, Sysctl: sysctlIn(o.netns)})
	if err != nil {
		return err
	}
	if cleanup {
		return b.Cleanup(ctx)
	}
	p, err := directorPlan(o)
	if err != nil {
		return err
	}
	_, err = b.Sync(ctx, rulegen.SyncRequest{Plan: p, Full: true})
	return err
}

// node programs (or removes) the node side with the iptables backend.
func node(ctx context.Context, o options, cleanup bool) error {
	k, err := iptablesKernel(ctx, o)
	if err != nil {
		return err
	}
	b, err := iptables.NewBackend(iptables.BackendOptions{Kernel: k, Families: []iptables.Family{iptables.IPv4}, Sysctl: sysctlIn(o.netns)})
	if err != nil {
		return err
	}
	if cleanup {
		return b.Cleanup(ctx)
	}
	p, err := nodePlan(o)
	if err != nil {
		return err
	}
	if err := sysctlIn(o.netns)("net.ipv4.ip_forward", "1"); err != nil {
		return err
	}
	_, err = b.Sync(ctx, rulegen.SyncRequest{Plan: p, Full: true})
	return err
}

func iptablesKernel(ctx context.Context, o options) (*iptables.Exec, error) {
	opts := iptables.ExecOptions{Variant: iptables.Variant(o.iptablesVar)}
	if o.netns != "" {
		h, err := netns.GetFromPath(o.netns)
		if err != nil {
			return nil, err
		}
		opts.Run = iptables.NetNSRunner(h) // the handle lives as long as the process
	}
	return iptables.NewExec(ctx, opts)
}

// sysctlIn writes sysctls in the namespace at path ("" for this process's):
// /proc/sys/net belongs to the namespace of the thread that opens it.
func sysctlIn(path string) func(key, value string) error {
	return func(key, value string) error {
		if path == "" {
			return sysctl.Write(key, value)
		}
		target, err := netns.GetFromPath(path)
		if err != nil {
			return fmt.Errorf("sysctl %s: netns %s: %w", key, path, err)
		}
		defer target.Close()
		return nsthread.In(target, func() error { return sysctl.Write(key, value) })
	}
}
