package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// renderFunc prints what one backend would program for a plan.
type renderFunc func(ctx context.Context, w io.Writer, plan *rulegen.Plan, family servicemodel.IPFamily) error

// modes lists every mode the render contract names, in "all" order; a nil
// func is a mode that is not built yet. Each backend sets its own entry in
// an init of its mode_NAME.go file.
var modes = map[string]renderFunc{
	"plan":      renderPlan,
	"iptables":  nil,
	"nftables":  nil,
	"ipvs":      nil,
	"userspace": nil,
}

var modeOrder = []string{"plan", "iptables", "nftables", "ipvs", "userspace"}

func modeNames() []string { return modeOrder }

func lookupMode(name string) renderFunc { return modes[name] }

// ErrModeUnavailable is returned for a mode the contract names but proxykit does not build yet.
var ErrModeUnavailable = errors.New("mode not available yet")

func modeError(name string) error {
	if _, known := modes[name]; known {
		return fmt.Errorf("%w: the %s backend is not built yet", ErrModeUnavailable, name)
	}
	return fmt.Errorf("unknown mode (choose from %v or all)", modeOrder)
}

func renderModes(ctx context.Context, w io.Writer, plan *rulegen.Plan, o options) error {
	if o.mode != "all" {
		return lookupMode(o.mode)(ctx, w, plan, o.family)
	}
	bw := bufio.NewWriter(w)
	for _, name := range modeOrder {
		fn := modes[name]
		if fn == nil {
			continue
		}
		fmt.Fprintf(bw, "######## mode %s ########\n", name)
		if err := fn(ctx, bw, plan, o.family); err != nil {
			return fmt.Errorf("mode %s: %w", name, err)
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

func familiesFor(f servicemodel.IPFamily) []servicemodel.IPFamily {
	if f == "" {
		return []servicemodel.IPFamily{servicemodel.IPv4, servicemodel.IPv6}
	}
	return []servicemodel.IPFamily{f}
}

func renderPlan(_ context.Context, w io.Writer, plan *rulegen.Plan, f servicemodel.IPFamily) error {
	return plan.Format(w, familiesFor(f)...)
}
