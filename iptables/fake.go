package iptables

import (
	"context"
	"fmt"
	"sync"
)

// Fake is an in-memory Kernel for tests, proxykit's and its users'. It
// keeps one Ruleset per family and applies payloads with the semantics of
// Ruleset.Apply: atomically across all tables of a payload, rejecting what
// iptables-restore rejects. It does not simulate packets. It is safe for
// concurrent use.
type Fake struct {
	// FailOn, when set, is called before each Apply with the Apply's
	// 1-based sequence number and payload; a non-nil result fails that
	// Apply with no change. See FailNth and FailWhen.
	FailOn func(n int, p *Payload) error

	mu      sync.Mutex
	state   map[Family]*Ruleset
	applies int
	applied []*Payload
}

// NewFake returns a Fake with no tables; a table appears, with its
// built-in chains, when a payload or Read first names it.
func NewFake() *Fake { return &Fake{state: map[Family]*Ruleset{}} }

// FailNth returns a FailOn hook that fails the nth Apply with err.
func FailNth(n int, err error) func(int, *Payload) error {
	return func(i int, _ *Payload) error {
		if i == n {
			return err
		}
		return nil
	}
}

// FailWhen returns a FailOn hook that fails every Apply whose payload
// match accepts.
func FailWhen(match func(*Payload) bool, err error) func(int, *Payload) error {
	return func(_ int, p *Payload) error {
		if match(p) {
			return err
		}
		return nil
	}
}

// Set replaces the Fake's state for rs.Family with a copy of rs (to seed
// foreign rules, or to simulate someone else's change).
func (k *Fake) Set(rs *Ruleset) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.state[rs.Family] = rs.Clone()
}

// Read implements Kernel. The result is a copy the caller may change.
func (k *Fake) Read(ctx context.Context, f Family, tables ...string) (*Ruleset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	rs := k.family(f)
	if len(tables) == 0 {
		return rs.Clone(), nil
	}
	out := NewRuleset(f)
	for _, name := range tables {
		t := rs.Table(name)
		if t == nil {
			t = newStandardTable(name)
		}
		out.SetTable(t.clone())
	}
	return out, nil
}

// Apply implements Kernel.
func (k *Fake) Apply(ctx context.Context, p *Payload) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.applies++
	if k.FailOn != nil {
		if err := k.FailOn(k.applies, p); err != nil {
			return fmt.Errorf("fake apply %d: injected failure: %w", k.applies, err)
		}
	}
	if err := k.family(p.Family).Apply(p); err != nil {
		return err
	}
	k.applied = append(k.applied, p)
	return nil
}

// HasChain implements Kernel.
func (k *Fake) HasChain(ctx context.Context, f Family, table, chain string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	t := k.family(f).Table(table)
	return t != nil && t.Chain(chain) != nil, nil
}

// Applied returns the payloads applied successfully so far, in order.
func (k *Fake) Applied() []*Payload {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]*Payload(nil), k.applied...)
}

func (k *Fake) family(f Family) *Ruleset {
	rs := k.state[f]
	if rs == nil {
		rs = NewRuleset(f)
		k.state[f] = rs
	}
	return rs
}
