package nftables

import (
	"fmt"
	"slices"

	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

// DefaultTableName is the name of the rendered tables (per family) with
// one shard, of shard 0 with more, and the prefix of the other shards'
// names.
const DefaultTableName = "proxykit"

// DefaultShards is RenderOptions.Shards when left zero. See Shards.
const DefaultShards = 32

// MaxShards bounds RenderOptions.Shards.
const MaxShards = 256

// RenderOptions configure Render and the Backend.
type RenderOptions struct {
	// TableName names the tables: shard 0 is exactly "ip <name>" and
	// "ip6 <name>" (it also holds nat-postrouting), shards 1, 2, ... are
	// "<name>-01", "<name>-02", ... in each family. Default
	// DefaultTableName.
	TableName string
	// Shards spreads the services over this many tables per family (each
	// with its own base chains and maps), chosen by a stable hash of the
	// service's namespace/name; 1 keeps every service in one table per
	// family. Zero means DefaultShards (32).
	//
	// Why shard: on every commit that adds a chain or a rule, the kernel
	// re-validates the whole table it touches (every chain reachable from
	// its base chains), and it looks sets up by name in the table's list,
	// so a commit costs in proportion to the size of that table, not of the
	// change. With 10k services x 10 endpoints in one table, the kernel
	// takes about 230 ms to commit a one-endpoint change and 16-19 s to load
	// everything. Measured on 2 busy cores (full load; one-endpoint change
	// end to end, median): 16 shards 3.3-3.9 s, 10-11 ms; 32 shards
	// 2.7-3 s, 6-10 ms; 64 shards 2.7-4 s, 3.4-4 ms. A shard is not free:
	// each has its own base chains, which the first packet of every new
	// connection traverses (a jump, a map lookup and a fib lookup per
	// table: about 0.2 us each), and its own static objects, which every
	// full load and read-back handles: with 20 services, a full sync takes
	// 7 ms with 1 or 16 shards, 13 ms with 32, 24 ms with 64, and a full
	// resync (which reads the tables back) 18, 53, 68 and 230 ms. 32 keeps
	// a one-endpoint change well under 20 ms at 10k services and a small
	// cluster's costs in milliseconds; use more for much larger clusters,
	// 1 for one table per family.
	Shards int
	// Families limits the families rendered; default both (as the Plan's
	// Config allows).
	Families []Family
	// AffinitySetSize is the size of each session-affinity set (one per
	// endpoint of a ClientIP-affinity service): the most clients an
	// endpoint remembers; later ones are balanced without affinity until
	// entries time out. The kernel sizes each set's hash table for it up
	// front, so kube-proxy's 65535 costs ~1 MiB per endpoint set and
	// dominates a full load; default DefaultAffinitySetSize.
	AffinitySetSize uint32
}

// DefaultAffinitySetSize is the default RenderOptions.AffinitySetSize
// (iptables' recent match remembers 100 per endpoint by default).
const DefaultAffinitySetSize = 4096

func (o RenderOptions) affinitySetSize() uint32 {
	if o.AffinitySetSize == 0 {
		return DefaultAffinitySetSize
	}
	return o.AffinitySetSize
}

func (o RenderOptions) name() string {
	if o.TableName == "" {
		return DefaultTableName
	}
	return o.TableName
}

func (o RenderOptions) shards() int {
	if o.Shards == 0 {
		return DefaultShards
	}
	return max(o.Shards, 1)
}

// ShardName returns the name of shard i's tables: TableName for shard 0,
// "<TableName>-01" and so on for the others.
func (o RenderOptions) ShardName(i int) string {
	if i == 0 {
		return o.name()
	}
	return fmt.Sprintf("%s-%02d", o.name(), i)
}

// Ownership returns what a Kernel serving these options must own: the
// tables named TableName and every "<TableName>-*" table, whatever the
// shard count (and the earlier layout, whose shard 0 was "<name>-00"), so
// that changing Shards deletes the stale layout.
func (o RenderOptions) Ownership() Ownership {
	return Ownership{Tables: []TableID{{FamilyIPv4, o.name()}, {FamilyIPv6, o.name()}}, Prefix: o.name() + "-"}
}

func (o RenderOptions) validate() error {
	if o.Shards < 0 || o.Shards > MaxShards {
		return fmt.Errorf("%w: %d shards (want 1..%d)", ErrInvalid, o.Shards, MaxShards)
	}
	for _, f := range o.Families {
		if f != FamilyIPv4 && f != FamilyIPv6 {
			return fmt.Errorf("%w: family %s (want ip or ip6)", ErrInvalid, f)
		}
	}
	return validName("table", o.ShardName(o.shards()-1))
}

// KubeProxyConfig returns cfg with kube-proxy's nftables-mode defaults:
// NodePorts on the primary node IPs only (`--nodeport-addresses primary`,
// unless cfg already names addresses) and no localhost NodePorts. The Plan
// carries these choices, so a caller compiles with KubeProxyConfig(cfg) to
// get kube-proxy's nftables behaviour, or with cfg as is for the iptables
// backend's (every local address, localhost NodePorts).
func KubeProxyConfig(cfg rulegen.Config) rulegen.Config {
	if cfg.NodePortAddresses.AllLocal() {
		cfg.NodePortAddresses.Primary = true
	}
	cfg.LocalhostNodePorts = false
	return cfg
}

// Render returns the ruleset that serves plan: per family (ip, ip6)
// opts.Shards tables (DefaultShards unless set; see RenderOptions.Shards),
// each holding
//
//   - base chains nat-prerouting and nat-output (jump services), and in
//     shard 0 nat-postrouting (masquerading of marked packets: one chain
//     serves the marks every shard sets);
//   - services: `daddr . l4proto . dport vmap @service-ips`, then the
//     NodePort dispatch `l4proto . dport vmap @service-nodeports` for the
//     NodePort addresses (every local address but localhost, unless
//     localhost NodePorts are on; or the configured ones);
//   - per service port: service-/local- chains choosing an endpoint by
//     `numgen random mod N vmap @endpoints-...` (a named map) after the
//     ClusterIP masquerade rule and the affinity lookups; external- chains
//     (masquerade, the ETP=Local short-circuits for pod and node traffic,
//     drop without local endpoints); firewall- chains (LoadBalancer source
//     ranges, others dropped); endpoint- chains (hairpin masquerade,
//     affinity update, DNAT) and affinity- dynamic sets with the timeout;
//   - reject-chain: the map verdict of a frontend without endpoints (ITP=
//     Local without local endpoints maps to drop). These verdicts sit in
//     the NAT maps, which see the first packet of every connection, rather
//     than in filter base chains: each base chain costs the kernel a walk
//     of its graph on every commit.
//
// The masquerade mark is set inline (`meta mark set meta mark | M`). A
// frontend two services claim (an external or load-balancer IP on the same
// port, or the same NodePort) goes to the first of them in name order when
// both are in one table; in different shards each table maps it, and which
// table's hook sees the connection first is unspecified.
func Render(plan *rulegen.Plan, opts RenderOptions) (*Ruleset, error) {
	r, err := newRenderer(opts)
	if err != nil {
		return nil, err
	}
	rs, _ := r.update(plan, nil)
	return rs, nil
}

// renderer keeps each service port's rendered fragment, per family and
// shard, so that a change re-renders only the changed ports and the shared
// maps they add elements to.
type renderer struct {
	opts   RenderOptions
	plan   *rulegen.Plan
	fams   []*famRenderer
	shards int
}

func newRenderer(opts RenderOptions) (*renderer, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("nftables: render: %w", err)
	}
	return &renderer{opts: opts, shards: opts.shards()}, nil
}

func (r *renderer) families(plan *rulegen.Plan) []Family {
	var out []Family
	for _, f := range []Family{FamilyIPv4, FamilyIPv6} {
		if (len(r.opts.Families) == 0 || slices.Contains(r.opts.Families, f)) && plan.Config.HasFamily(modelFamily(f)) {
			out = append(out, f)
		}
	}
	return out
}

func modelFamily(f Family) servicemodel.IPFamily {
	if f == FamilyIPv6 {
		return servicemodel.IPv6
	}
	return servicemodel.IPv4
}

// update renders plan. With changed == nil (or a changed node configuration)
// it renders everything and returns a nil Scope; otherwise it re-renders
// only the named ports and returns the Scope of what may have changed. The
// returned Ruleset is immutable: the next update clones what it changes.
func (r *renderer) update(plan *rulegen.Plan, changed []servicemodel.ServicePortName) (*Ruleset, *Scope) {
	full := changed == nil || r.plan == nil || !sameNodeConfig(r.plan, plan)
	r.plan = plan
	if full {
		r.fams = r.fams[:0]
		for _, f := range r.families(plan) {
			r.fams = append(r.fams, newFamRenderer(r, f, plan))
		}
		names, sps := plan.Names(), plan.ServicePlans()
		for _, fr := range r.fams {
			fr.renderAll(names, sps)
		}
		return r.ruleset(), nil
	}
	scope := &Scope{}
	for _, fr := range r.fams {
		fr.setPlan(plan)
		fr.updatePorts(changed, scope)
	}
	return r.ruleset(), scope
}

func (r *renderer) ruleset() *Ruleset {
	rs := &Ruleset{}
	for _, fr := range r.fams {
		for _, sh := range fr.shards {
			rs.Tables = append(rs.Tables, sh.table)
		}
	}
	return rs
}

// sameNodeConfig reports whether two plans share what the static objects
// depend on, so that an incremental update is valid.
func sameNodeConfig(a, b *rulegen.Plan) bool {
	ac, bc := a.Config, b.Config
	return ac.Mark() == bc.Mark() && slices.Equal(a.Node.IPs, b.Node.IPs) &&
		ac.LocalhostNodePorts == bc.LocalhostNodePorts &&
		ac.NodePortAddresses.Primary == bc.NodePortAddresses.Primary &&
		slices.Equal(ac.NodePortAddresses.CIDRs, bc.NodePortAddresses.CIDRs) &&
		ac.LocalDetector.String() == bc.LocalDetector.String() &&
		ac.MasqueradeAll == bc.MasqueradeAll && slices.Equal(ac.Families, bc.Families)
}
