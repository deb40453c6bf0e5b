package lb

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/rulegen"
)

// Sync makes the proxy serve req.Plan. It is all or nothing: when a
// listener cannot be bound or a scheduler built, it returns the error and
// keeps serving the previous Plan. req.Changed and req.Full are not needed:
// the proxy compares every frontend, which costs little, and rebuilds only
// the schedulers whose endpoints changed. Frontends that map to an address
// already taken are skipped and logged (see PlanListeners).
func (p *Proxy) Sync(ctx context.Context, req rulegen.SyncRequest) (rulegen.SyncResult, error) {
	if req.Plan == nil {
		return rulegen.SyncResult{}, errors.New("lb: Sync needs a plan")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return rulegen.SyncResult{}, ErrProxyClosed
	}
	isNode, err := p.opts.isLocal()
	if err != nil {
		return rulegen.SyncResult{}, err
	}
	specs, conflicts := p.opts.planConfig(isNode).plan(req.Plan)
	for _, c := range conflicts {
		p.log.Warn("frontend not served: address taken", "err", c)
	}
	isLocalClient := localClients(req.Plan, isNode)
	pools, rebuilt, err := p.buildPools(specs)
	if err != nil {
		return rulegen.SyncResult{}, err
	}
	opened, err := p.openListeners(ctx, specs)
	if err != nil {
		return rulegen.SyncResult{}, err
	}
	res := rulegen.SyncResult{Writes: rebuilt + len(opened)}
	next := make(map[string]*listener, len(specs))
	order := make([]string, 0, len(specs))
	for _, s := range specs {
		r := &route{spec: s, pool: pools[poolKey(s, false)], isLocalClient: isLocalClient}
		if s.LocalClients != nil {
			r.local = pools[poolKey(s, true)]
		}
		l, ok := p.listeners[s.Key()]
		if !ok {
			l = opened[s.Key()]
		}
		l.route.Store(r)
		if l.udp != nil && ok {
			res.Writes += l.udp.endStale(r)
		}
		if !ok {
			p.start(l)
		}
		next[s.Key()] = l
		order = append(order, s.Key())
	}
	for k, l := range p.listeners {
		if _, keep := next[k]; !keep {
			l.close()
			res.Writes++
		}
	}
	p.listeners, p.order, p.pools = next, order, pools
	if res.Writes > 0 {
		p.log.Debug("proxy sync", "listeners", len(next), "pools", len(pools), "writes", res.Writes)
	}
	return res, nil
}

// localClients returns the predicate for the ExternalLocal short-circuit:
// the node's addresses and the Plan's local pods.
func localClients(plan *rulegen.Plan, isNode func(netip.Addr) bool) func(netip.Addr) bool {
	det := plan.Config.LocalDetector
	return func(a netip.Addr) bool {
		return isNode(a) || (det.Implemented() && det.IsLocal(a, ""))
	}
}

// poolKey names the endpoint set a listener uses: the service port and
// family, and whether it is the internal or the external set.
func poolKey(s ListenerSpec, localClients bool) string {
	set := "internal"
	if s.Frontend.External() && !localClients {
		set = "external"
	}
	return fmt.Sprintf("%s %s %s", s.Service, s.Family, set)
}

// buildPools returns the pools the specs need: the current ones where
// nothing changed, new ones (built from the current backends, so counts
// carry over) where the endpoints, scheduler or affinity did. Nothing live
// changes.
func (p *Proxy) buildPools(specs []ListenerSpec) (map[string]*pool, int, error) {
	pools := map[string]*pool{}
	rebuilt := 0
	need := func(s ListenerSpec, key string, eps []netip.AddrPort) error {
		if _, ok := pools[key]; ok {
			return nil
		}
		old := p.pools[key]
		if old.same(s.Scheduler, s.Affinity, eps) {
			pools[key] = old
			return nil
		}
		np, err := newPool(s.Scheduler, p.opts, s.Affinity, eps, old)
		if err != nil {
			return fmt.Errorf("lb: %s: %w", key, err)
		}
		pools[key] = np
		rebuilt++
		return nil
	}
	for _, s := range specs {
		if s.Action != rulegen.Forward {
			continue
		}
		if err := need(s, poolKey(s, false), s.Endpoints); err != nil {
			return nil, 0, err
		}
		if s.LocalClients != nil {
			if err := need(s, poolKey(s, true), s.LocalClients); err != nil {
				return nil, 0, err
			}
		}
	}
	return pools, rebuilt, nil
}

// openListeners binds the specs' new listeners; on error it closes those it
// opened and returns the error.
func (p *Proxy) openListeners(ctx context.Context, specs []ListenerSpec) (map[string]*listener, error) {
	opened := map[string]*listener{}
	for _, s := range specs {
		if _, ok := p.listeners[s.Key()]; ok {
			continue
		}
		l, err := p.listen(ctx, s)
		if err != nil {
			for _, o := range opened {
				o.close()
			}
			return nil, err
		}
		opened[s.Key()] = l
	}
	return opened, nil
}
