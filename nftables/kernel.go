package nftables

import (
	"context"
	"errors"
	"fmt"
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

func checkOwned(owned []TableID, tx *Transaction) error {
	if tx == nil {
		return nil
	}
	for i, op := range tx.Ops {
		found := false
		for _, id := range owned {
			if id == op.Table {
				found = true
				break
			}
		}
		if !found {
			return &ApplyError{Index: i, Op: op, Err: fmt.Errorf("%w: %s", ErrNotOwned, op.Table)}
		}
	}
	return nil
}
