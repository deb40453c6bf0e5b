package iptables

import (
	"context"
	"fmt"
)

// Kernel reads and writes iptables state. Exec is the real one, Fake the
// in-memory one; both have the same semantics (see Ruleset.Apply).
type Kernel interface {
	// Read returns the named tables of family f (every table the kernel
	// has when none are named).
	Read(ctx context.Context, f Family, tables ...string) (*Ruleset, error)
	// Apply runs p (iptables-restore --noflush) all or nothing: if any
	// table fails, every table holds what it held before.
	Apply(ctx context.Context, p *Payload) error
	// HasChain reports whether table of family f has the named chain.
	HasChain(ctx context.Context, f Family, table, chain string) (bool, error)
}

// CanaryMissing returns the tables (among those named) that lack the
// canary chain. Someone who flushes the tables (iptables -F/-X, a firewall
// reload) deletes the canary too, so a missing canary means the kernel no
// longer holds what a cached state says and a full resync is due. Create
// the canary by declaring it in the desired Ruleset of each table.
func CanaryMissing(ctx context.Context, k Kernel, f Family, canary string, tables ...string) ([]string, error) {
	var missing []string
	for _, t := range tables {
		ok, err := k.HasChain(ctx, f, t, canary)
		if err != nil {
			return nil, fmt.Errorf("canary %s in %s table: %w", canary, t, err)
		}
		if !ok {
			missing = append(missing, t)
		}
	}
	return missing, nil
}
