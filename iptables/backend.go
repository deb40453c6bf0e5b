package iptables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/proxykit/proxykit/internal/sysctl"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// BackendOptions configure a Backend.
type BackendOptions struct {
	// Kernel applies and reads rules: an *Exec (the real tools, in a
	// namespace or not) or a *Fake. Required.
	Kernel Kernel
	// Families to program; default both.
	Families []Family
	// ChainPrefix, default DefaultChainPrefix ("KUBE-").
	ChainPrefix string
	// Sysctl sets a sysctl (key as under /proc/sys, dotted). The backend
	// sets net.ipv4.conf.all.route_localnet=1 when the plan enables
	// localhost NodePorts. Default: write /proc/sys of the calling thread's
	// network namespace; set it when Kernel works in another namespace.
	Sysctl func(key, value string) error
	// CanaryInterval is how often an incremental sync first checks that
	// the canary chains still exist (reading a table is costly for
	// iptables-legacy at scale). Default 30s; negative checks every sync.
	// A full sync always re-reads everything.
	CanaryInterval time.Duration
	// Now is the clock for CanaryInterval; default time.Now.
	Now func() time.Time
	// Conntrack, when set, deletes the conntrack entries a sync leaves
	// stale (UDP/SCTP flows to removed endpoints; see rulegen.StaleFlows),
	// e.g. a *conntrack.Cleaner from package nat/conntrack. Failures are
	// logged, not returned: the rules are right either way.
	Conntrack nat.ConntrackCleaner
	Logger    *slog.Logger
}

// Backend implements rulegen.Backend with iptables: it renders the Plan,
// diffs it against a cached copy of the kernel's rules (re-read on a full
// sync), and applies only what changed with iptables-restore --noflush, all
// or nothing. It owns the chains whose names start with its prefix and the
// jumps to them from the built-in chains, and nothing else.
type Backend struct {
	opts   BackendOptions
	own    Ownership
	fams   []*familyState
	log    *slog.Logger
	canary string
	synced *rulegen.Plan // the plan of the last successful sync
}

type familyState struct {
	family      Family
	render      *renderer
	current     *Ruleset // the kernel's nat and filter tables as last read or applied; nil: unknown
	lastChecked time.Time
}

// NewBackend checks the options and returns a Backend.
func NewBackend(opts BackendOptions) (*Backend, error) {
	if opts.Kernel == nil {
		return nil, errors.New("iptables: NewBackend needs a Kernel")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sysctl == nil {
		opts.Sysctl = sysctl.Write
	}
	if opts.CanaryInterval == 0 {
		opts.CanaryInterval = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if len(opts.Families) == 0 {
		opts.Families = []Family{IPv4, IPv6}
	}
	ropts := RenderOptions{ChainPrefix: opts.ChainPrefix}
	b := &Backend{opts: opts, own: ownership(ropts.prefix()), log: opts.Logger, canary: ropts.prefix() + chainCanary}
	for _, f := range opts.Families {
		r, err := newRenderer(f, ropts)
		if err != nil {
			return nil, err
		}
		b.fams = append(b.fams, &familyState{family: f, render: r})
	}
	return b, nil
}

var _ rulegen.Backend = (*Backend)(nil)

// kubeletChains are the chains kubelet keeps under kube-proxy's prefix; a
// drop-in replacement must leave them alone.
var kubeletChains = map[string]bool{"KUBE-KUBELET-CANARY": true, "KUBE-FIREWALL": true, "KUBE-MARK-DROP": true}

// ownership claims the chains under prefix, except kubelet's.
func ownership(prefix string) Ownership {
	return Ownership{Func: func(chain string) bool {
		return strings.HasPrefix(chain, prefix) && !kubeletChains[chain]
	}}
}

// Sync makes the kernel's rules match req.Plan. See rulegen.Backend.
func (b *Backend) Sync(ctx context.Context, req rulegen.SyncRequest) (rulegen.SyncResult, error) {
	if req.Plan == nil {
		return rulegen.SyncResult{}, errors.New("iptables: Sync needs a plan")
	}
	if req.Plan.Config.LocalhostNodePorts {
		if err := b.opts.Sysctl("net.ipv4.conf.all.route_localnet", "1"); err != nil {
			return rulegen.SyncResult{}, fmt.Errorf("iptables: enable localhost NodePorts: %w", err)
		}
	}
	var res rulegen.SyncResult
	for _, fs := range b.fams {
		r, err := b.syncFamily(ctx, fs, req)
		res.Writes += r.Writes
		res.NeedFull = res.NeedFull || r.NeedFull
		if err != nil {
			b.synced = nil
			return res, err
		}
	}
	if !res.NeedFull {
		rulegen.ClearStale(ctx, b.opts.Conntrack, b.synced, req, b.log)
		b.synced = req.Plan
	}
	return res, nil
}

func (b *Backend) syncFamily(ctx context.Context, fs *familyState, req rulegen.SyncRequest) (rulegen.SyncResult, error) {
	full := req.Full || fs.current == nil
	if now := b.opts.Now(); full {
		fs.lastChecked = now
	} else if now.Sub(fs.lastChecked) >= b.opts.CanaryInterval {
		fs.lastChecked = now
		missing, err := CanaryMissing(ctx, b.opts.Kernel, fs.family, b.canary, TableNat, TableFilter)
		if err != nil {
			return rulegen.SyncResult{}, fmt.Errorf("iptables %s: canary: %w", fs.family, err)
		}
		if len(missing) > 0 {
			b.log.Warn("canary chain gone: someone flushed our rules; asking for a full sync", "family", fs.family, "tables", missing)
			fs.current = nil
			return rulegen.SyncResult{NeedFull: true}, nil
		}
	}
	var payload *Payload
	var err error
	if full {
		if fs.current, err = b.opts.Kernel.Read(ctx, fs.family, TableNat, TableFilter); err != nil {
			return rulegen.SyncResult{}, fmt.Errorf("iptables %s: read: %w", fs.family, err)
		}
		desired, _ := fs.render.update(req.Plan, nil)
		payload, err = Diff(fs.current, desired, b.own)
	} else {
		desired, refs := fs.render.update(req.Plan, req.Changed)
		if refs == nil {
			payload, err = Diff(fs.current, desired, b.own)
		} else {
			payload, err = DiffChanged(fs.current, desired, b.own, refs)
		}
	}
	if err != nil {
		fs.current = nil
		return rulegen.SyncResult{}, fmt.Errorf("iptables %s: diff: %w", fs.family, err)
	}
	if payload.Empty() {
		return rulegen.SyncResult{}, nil
	}
	if err := b.opts.Kernel.Apply(ctx, payload); err != nil {
		fs.current = nil // re-read and diff everything next time
		return rulegen.SyncResult{}, fmt.Errorf("iptables %s: apply: %w", fs.family, err)
	}
	if err := fs.current.Apply(payload); err != nil {
		fs.current = nil
		b.log.Warn("cached rules diverged from the payload; will re-read", "family", fs.family, "err", err)
	}
	b.log.Debug("iptables sync", "family", fs.family, "full", full, "writes", payload.Writes())
	return rulegen.SyncResult{Writes: payload.Writes()}, nil
}

// Cleanup removes every chain this backend owns and the jumps to them from
// the built-in chains, in every family, and nothing else.
func (b *Backend) Cleanup(ctx context.Context) error {
	var errs []error
	for _, fs := range b.fams {
		current, err := b.opts.Kernel.Read(ctx, fs.family, TableNat, TableFilter)
		if err != nil {
			errs = append(errs, fmt.Errorf("iptables %s: read: %w", fs.family, err))
			continue
		}
		empty := NewRuleset(fs.family)
		empty.EnsureTable(TableNat)
		empty.EnsureTable(TableFilter)
		payload, err := Diff(current, empty, b.own)
		if err == nil && !payload.Empty() {
			err = b.opts.Kernel.Apply(ctx, payload)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("iptables %s: cleanup: %w", fs.family, err))
		}
		fs.current = nil
	}
	return errors.Join(errs...)
}
