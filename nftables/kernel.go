package nftables

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Kernel reads back and changes the tables a backend owns.
type Kernel interface {
	// Read returns the owned tables that exist, with their chains, rules,
	// sets, maps and (except for dynamic sets) elements. Rules the decoder
	// does not recognise hold an Unknown statement.
	Read(ctx context.Context) (*Ruleset, error)
	// Apply applies tx all or nothing. A transaction touching a table the
	// kernel does not own fails with ErrNotOwned before anything is sent.
	Apply(ctx context.Context, tx *Transaction) error
}

// ErrNotOwned reports an op on a table outside the kernel's owned tables.
var ErrNotOwned = errors.New("table not owned by this kernel")

// ApplyError reports which op of a transaction the kernel refused. Err wraps
// the reason (a syscall.Errno such as ENOENT or EBUSY for both Netlink and
// Fake), so errors.Is(err, syscall.ENOENT) works.
type ApplyError struct {
	Index int // the op's index in Transaction.Ops; -1 when unknown
	Op    Op
	Err   error
}

func (e *ApplyError) Error() string {
	if e.Index < 0 {
		return fmt.Sprintf("nftables transaction refused: %v", e.Err)
	}
	return fmt.Sprintf("nftables transaction refused at op %d (%s): %v", e.Index, e.Op, e.Err)
}

func (e *ApplyError) Unwrap() error { return e.Err }

// Ownership names the tables a kernel owns and may read and change: Tables,
// plus, when Prefix is set, every ip, ip6 and inet table whose name starts
// with Prefix (so a ruleset sharded over "proxykit", "proxykit-01" ..
// "proxykit-31" stays owned with Tables naming "proxykit" and Prefix
// "proxykit-", and stale shards are seen and deleted, whatever the shard
// count).
// The zero Ownership owns DefaultTables.
type Ownership struct {
	Tables []TableID
	Prefix string
}

func (o Ownership) withDefault() Ownership {
	if len(o.Tables) == 0 && o.Prefix == "" {
		o.Tables = DefaultTables()
	}
	return o
}

// Owns reports whether id is owned.
func (o Ownership) Owns(id TableID) bool {
	for _, t := range o.Tables {
		if t == id {
			return true
		}
	}
	return o.Prefix != "" && strings.HasPrefix(id.Name, o.Prefix) &&
		(id.Family == FamilyIPv4 || id.Family == FamilyIPv6 || id.Family == FamilyInet)
}

// families lists the families whose tables must be listed to find the owned ones.
func (o Ownership) families() []Family {
	if o.Prefix != "" {
		return []Family{FamilyIPv4, FamilyIPv6, FamilyInet}
	}
	var out []Family
	for _, t := range o.Tables {
		if !slices.Contains(out, t.Family) {
			out = append(out, t.Family)
		}
	}
	return out
}

func checkOwned(o Ownership, tx *Transaction) error {
	if tx == nil {
		return nil
	}
	for i, op := range tx.Ops {
		if !o.Owns(op.Table) {
			return &ApplyError{Index: i, Op: op, Err: fmt.Errorf("%w: %s", ErrNotOwned, op.Table)}
		}
	}
	return nil
}

// Cleanup deletes every table k owns that exists, and nothing else.
func Cleanup(ctx context.Context, k Kernel) error {
	current, err := k.Read(ctx)
	if err != nil {
		return err
	}
	return k.Apply(ctx, Diff(current, &Ruleset{}, nil))
}
