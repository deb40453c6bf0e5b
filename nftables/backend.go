package nftables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/proxykit/proxykit/internal/sysctl"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
)

// BackendOptions configure a Backend.
type BackendOptions struct {
	// Kernel reads and applies transactions: a *Netlink (in a namespace or
	// not) or a *Fake. It must own Render.Ownership(). Required.
	Kernel Kernel
	// Render chooses table names, shards and families.
	Render RenderOptions
	// Sysctl sets a sysctl (dotted key, as under /proc/sys). The backend
	// sets net.ipv4.conf.all.route_localnet=1 when the plan enables
	// localhost NodePorts. Default: write /proc/sys of the calling thread's
	// namespace; set it when Kernel works in another namespace.
	Sysctl func(key, value string) error
	// Conntrack, when set, deletes the conntrack entries a sync leaves
	// stale (UDP/SCTP flows to removed endpoints; see rulegen.StaleFlows),
	// e.g. a *conntrack.Cleaner from package nat/conntrack.
	Conntrack nat.ConntrackCleaner
	Logger    *slog.Logger
}

// Backend implements rulegen.Backend with nftables: it renders the Plan
// incrementally (only the changed service ports), diffs the result against
// the ruleset it last applied (or, on a full sync, read back from the
// kernel, which repairs drift), and applies the difference as one
// transaction: one netlink batch, both families, all or nothing. It owns
// the tables of Render.Ownership() and nothing else.
type Backend struct {
	opts    BackendOptions
	render  *renderer
	current *Ruleset      // the kernel's tables as last applied or read; nil: unknown
	synced  *rulegen.Plan // the plan of the last successful sync
	log     *slog.Logger
}

var _ rulegen.Backend = (*Backend)(nil)

// NewBackend checks the options and returns a Backend.
func NewBackend(opts BackendOptions) (*Backend, error) {
	if opts.Kernel == nil {
		return nil, errors.New("nftables: NewBackend needs a Kernel")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sysctl == nil {
		opts.Sysctl = sysctl.Write
	}
	r, err := newRenderer(opts.Render)
	if err != nil {
		return nil, err
	}
	return &Backend{opts: opts, render: r, log: opts.Logger}, nil
}

// Sync makes the kernel's tables match req.Plan. See rulegen.Backend. After
// a failed Apply the kernel is unchanged, the backend forgets what it
// believed the kernel held, and the result asks for a full sync.
func (b *Backend) Sync(ctx context.Context, req rulegen.SyncRequest) (rulegen.SyncResult, error) {
	if req.Plan == nil {
		return rulegen.SyncResult{}, errors.New("nftables: Sync needs a plan")
	}
	if req.Plan.Config.LocalhostNodePorts && b.hasFamily(FamilyIPv4) {
		if err := b.opts.Sysctl("net.ipv4.conf.all.route_localnet", "1"); err != nil {
			return rulegen.SyncResult{}, fmt.Errorf("nftables: enable localhost NodePorts: %w", err)
		}
	}
	full := req.Full || b.current == nil
	var desired *Ruleset
	var scope *Scope
	if full {
		cur, err := b.opts.Kernel.Read(ctx)
		if err != nil {
			b.current = nil
			return rulegen.SyncResult{NeedFull: true}, fmt.Errorf("nftables: read: %w", err)
		}
		b.current = cur
		desired, _ = b.render.update(req.Plan, nil)
	} else {
		desired, scope = b.render.update(req.Plan, req.Changed)
	}
	tx := Diff(b.current, desired, scope)
	if tx.Empty() {
		b.current = desired
		b.synced = req.Plan
		return rulegen.SyncResult{}, nil
	}
	if err := b.opts.Kernel.Apply(ctx, tx); err != nil {
		b.current = nil // re-read and diff everything next time
		b.synced = nil
		return rulegen.SyncResult{NeedFull: true}, fmt.Errorf("nftables: apply: %w", err)
	}
	b.current = desired
	rulegen.ClearStale(ctx, b.opts.Conntrack, b.synced, req, b.log)
	b.synced = req.Plan
	b.log.Debug("nftables sync", "full", full, "ops", len(tx.Ops), "writes", tx.Writes())
	return rulegen.SyncResult{Writes: tx.Writes()}, nil
}

func (b *Backend) hasFamily(f Family) bool {
	fams := b.opts.Render.Families
	if len(fams) == 0 {
		return true
	}
	for _, g := range fams {
		if g == f {
			return true
		}
	}
	return false
}

// Cleanup deletes every table the Kernel owns (this backend's tables, in
// every family and shard) and nothing else.
func (b *Backend) Cleanup(ctx context.Context) error {
	b.current = nil
	b.render.plan = nil
	if err := Cleanup(ctx, b.opts.Kernel); err != nil {
		return fmt.Errorf("nftables: cleanup: %w", err)
	}
	return nil
}
