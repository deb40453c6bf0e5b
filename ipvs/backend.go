package ipvs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/proxykit/proxykit/internal/sysctl"
	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
)

// BackendOptions configure a Backend.
type BackendOptions struct {
	// Kernel is the IPVS side: a *Real or a *Fake. Required. Its
	// Options.SetPrefix must equal Render.SetPrefix.
	Kernel Kernel
	// Rules applies the companion iptables rules: an *iptables.Exec (in the
	// same network namespace as Kernel) or an *iptables.Fake. Required.
	Rules iptables.Kernel
	// Render configures the rendering (schedulers, forwarding, prefixes).
	Render RenderOptions
	// Families whose companion rules are programmed; default both.
	Families []iptables.Family
	// Sysctl sets a sysctl (key dotted, as under /proc/sys). The backend
	// sets what IPVS mode needs (Sysctls()) on its first and every full sync.
	// Default: write /proc/sys of the calling thread's network namespace; set
	// it when Kernel works in another namespace.
	Sysctl func(key, value string) error
	// GracePeriod bounds how long a removed real server keeps its
	// connections; default DefaultGracePeriod.
	GracePeriod time.Duration
	// Now is the clock of graceful termination; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Sysctls returns the settings IPVS mode needs, as kube-proxy sets them:
// conntrack for IPVS connections (so that the companion rules can
// masquerade them), and expiry of connections to deleted or quiesced real
// servers.
func Sysctls() [][2]string {
	return [][2]string{
		{"net.ipv4.vs.conntrack", "1"},
		{"net.ipv4.vs.expire_nodest_conn", "1"},
		{"net.ipv4.vs.expire_quiescent_template", "1"},
	}
}

// Backend implements rulegen.Backend with IPVS: it renders the Plan
// (Render), keeps the desired state up to date per changed service port,
// diffs it against its copy of the kernel's state (re-read on a full sync)
// looking only at what changed, applies the operations with journal and
// undo, then the companion iptables rules. It owns what its Kernel owns (see
// the package comment) and the companion chains.
type Backend struct {
	opts  BackendOptions
	log   *slog.Logger
	term  *Terminating
	own   iptables.Ownership
	cur   *State // the kernel's IPVS state as last read or applied; nil: unknown
	des   *desired
	rules map[iptables.Family]*iptables.Ruleset // the kernel's rules as last read or applied
	ready bool                                  // sysctls set
}

// NewBackend checks the options and returns a Backend.
func NewBackend(opts BackendOptions) (*Backend, error) {
	if opts.Kernel == nil || opts.Rules == nil {
		return nil, errors.New("ipvs: NewBackend needs a Kernel and a Rules kernel")
	}
	ro, _, err := opts.Render.normalized()
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Sysctl == nil {
		opts.Sysctl = sysctl.Write
	}
	if len(opts.Families) == 0 {
		opts.Families = []iptables.Family{iptables.IPv4, iptables.IPv6}
	}
	return &Backend{
		opts:  opts,
		log:   opts.Logger,
		term:  &Terminating{Now: opts.Now, GracePeriod: opts.GracePeriod},
		own:   ownCompanion(ro.ChainPrefix),
		rules: map[iptables.Family]*iptables.Ruleset{},
	}, nil
}

// ownCompanion owns the companion chains only (a KUBE- prefix is shared
// with kubelet's and the iptables backend's chains).
func ownCompanion(prefix string) iptables.Ownership {
	names := map[string]bool{}
	for _, c := range []string{chainServices, chainPostrouting, chainMarkMasq, chainShortcut, chainFirewall, chainSourceRange, chainForward} {
		names[prefix+c] = true
	}
	return iptables.Ownership{Prefix: prefix, Func: func(chain string) bool { return names[chain] }}
}

var _ rulegen.Backend = (*Backend)(nil)

// Sync makes IPVS and the companion rules match req.Plan. See
// rulegen.Backend. A failed Sync leaves IPVS as it was (the companion rules
// too: iptables-restore is all or nothing, and a failure there undoes the
// IPVS operations of this Sync).
func (b *Backend) Sync(ctx context.Context, req rulegen.SyncRequest) (rulegen.SyncResult, error) {
	if req.Plan == nil {
		return rulegen.SyncResult{}, errors.New("ipvs: Sync needs a plan")
	}
	// Without Changed everything is diffed: read the kernel back too, for
	// the connection counters graceful termination needs.
	full := req.Full || b.cur == nil || req.Changed == nil
	if full || !b.ready {
		if err := b.setSysctls(); err != nil {
			return rulegen.SyncResult{}, err
		}
	}
	changed, touched, err := b.updateDesired(req.Plan, req.Changed, full)
	if err != nil {
		return rulegen.SyncResult{}, err
	}
	if full || changed == nil { // a new node configuration renders everything
		if b.cur, err = b.opts.Kernel.Read(ctx); err != nil {
			b.cur = nil
			return rulegen.SyncResult{}, fmt.Errorf("ipvs: read: %w", err)
		}
		changed = nil
	} else if err := b.refresh(ctx, changed); err != nil {
		b.cur = nil
		return rulegen.SyncResult{NeedFull: true}, err
	}
	var pre, post Ops
	if changed != nil {
		pre, post = b.entryOps(touched, changed)
	}
	ops := slices.Concat(pre, Diff(b.cur, b.des.b.state, DiffOptions{Changed: changed, Terminating: b.term}), post)
	res, err := b.opts.Kernel.Apply(ctx, ops)
	if err != nil {
		b.invalidate()
		return rulegen.SyncResult{Writes: res.Writes}, fmt.Errorf("ipvs: apply: %w", err)
	}
	applyToState(b.cur, ops)
	writes, err := b.syncRules(ctx, full)
	if err != nil {
		undo := b.undoIPVS(ctx, ops)
		b.invalidate()
		return rulegen.SyncResult{Writes: res.Writes + writes}, errors.Join(err, undo)
	}
	b.log.Debug("ipvs sync", "full", full, "ops", len(ops), "writes", res.Writes+writes)
	return rulegen.SyncResult{Writes: res.Writes + writes}, nil
}

// refresh re-reads the connection counters a scoped Diff needs: of the
// virtual servers with terminating real servers, and of the changed ones
// that lose a real server (which then starts terminating, or goes at once
// when it has no connection). It costs one read per such virtual server.
func (b *Backend) refresh(ctx context.Context, changed *Changed) error {
	if err := b.term.Refresh(ctx, b.opts.Kernel, b.cur); err != nil {
		return fmt.Errorf("ipvs: refresh terminating: %w", err)
	}
	for _, k := range changed.Services {
		cur, des := b.cur.Services[k], b.des.b.state.Services[k]
		if cur == nil || des == nil || !losesReal(cur, des) {
			continue
		}
		v, err := b.opts.Kernel.ReadService(ctx, k)
		if errors.Is(err, ErrNotFound) {
			delete(b.cur.Services, k)
			continue
		}
		if err != nil {
			return fmt.Errorf("ipvs: refresh %v: %w", k, err)
		}
		b.cur.Services[k] = v
	}
	return nil
}

// losesReal reports whether des lacks a real server of cur.
func losesReal(cur, des *VirtualServer) bool {
	for _, r := range cur.Reals {
		if findReal(des.Reals, r.Key()) < 0 {
			return true
		}
	}
	return false
}

// invalidate forgets what the backend believes the kernel holds, so that
// the next Sync reads it back and diffs everything.
func (b *Backend) invalidate() {
	b.cur = nil
	b.des = nil
	clear(b.rules)
}

// undoIPVS reverts this Sync's IPVS operations after the companion rules
// failed, by diffing back to the previous state.
func (b *Backend) undoIPVS(ctx context.Context, ops Ops) error {
	prev, err := b.opts.Kernel.Read(ctx)
	if err != nil {
		return fmt.Errorf("ipvs: undo: read: %w", err)
	}
	before := prev.Clone()
	for i := len(ops) - 1; i >= 0; i-- {
		applyToState(before, ops[i].inverse())
	}
	if _, err := b.opts.Kernel.Apply(ctx, Diff(prev, before, DiffOptions{})); err != nil {
		return fmt.Errorf("ipvs: undo: %w", err)
	}
	return nil
}

// syncRules applies the companion rules of every family.
func (b *Backend) syncRules(ctx context.Context, full bool) (int, error) {
	writes := 0
	for _, f := range b.opts.Families {
		cur := b.rules[f]
		if full || cur == nil {
			var err error
			if cur, err = b.opts.Rules.Read(ctx, f, iptables.TableNat, iptables.TableFilter); err != nil {
				return writes, fmt.Errorf("ipvs: companion rules %s: read: %w", f, err)
			}
			b.rules[f] = cur
		}
		payload, err := iptables.Diff(cur, b.des.rules[f], b.own)
		if err != nil {
			delete(b.rules, f)
			return writes, fmt.Errorf("ipvs: companion rules %s: diff: %w", f, err)
		}
		if payload.Empty() {
			continue
		}
		if err := b.opts.Rules.Apply(ctx, payload); err != nil {
			delete(b.rules, f)
			return writes, fmt.Errorf("ipvs: companion rules %s: apply: %w", f, err)
		}
		if err := cur.Apply(payload); err != nil {
			delete(b.rules, f)
		}
		writes += payload.Writes()
	}
	return writes, nil
}

// Cleanup removes the companion rules, then every virtual server, address,
// set and the dummy interface the Kernel owns, and nothing else.
func (b *Backend) Cleanup(ctx context.Context) error {
	var errs []error
	for _, f := range []iptables.Family{iptables.IPv4, iptables.IPv6} {
		cur, err := b.opts.Rules.Read(ctx, f, iptables.TableNat, iptables.TableFilter)
		if err != nil {
			errs = append(errs, fmt.Errorf("ipvs: companion rules %s: read: %w", f, err))
			continue
		}
		empty := iptables.NewRuleset(f)
		empty.EnsureTable(iptables.TableNat)
		empty.EnsureTable(iptables.TableFilter)
		payload, err := iptables.Diff(cur, empty, b.own)
		if err == nil && !payload.Empty() {
			err = b.opts.Rules.Apply(ctx, payload)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("ipvs: companion rules %s: cleanup: %w", f, err))
		}
	}
	if err := b.opts.Kernel.Cleanup(ctx); err != nil {
		errs = append(errs, err)
	}
	b.invalidate()
	b.term = &Terminating{Now: b.opts.Now, GracePeriod: b.opts.GracePeriod}
	return errors.Join(errs...)
}

func (b *Backend) setSysctls() error {
	for _, kv := range Sysctls() {
		if err := b.opts.Sysctl(kv[0], kv[1]); err != nil {
			return fmt.Errorf("ipvs: sysctl %s=%s: %w", kv[0], kv[1], err)
		}
	}
	b.ready = true
	return nil
}
