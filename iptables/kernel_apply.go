package iptables

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Apply implements Kernel. iptables-restore commits each table on its own,
// so Apply restores one table per run; before each table but the last it
// saves that table (iptables-save -c -t), and if a later table fails it
// puts the saved tables back (iptables-restore -c, replacing them whole)
// and returns the original error. The nat table goes last, so the large
// table of a kube-proxy-style ruleset is never saved. A change another
// program makes to an earlier table between the save and a rollback would
// be lost; a failed rollback is reported as a *RollbackError.
func (e *Exec) Apply(ctx context.Context, p *Payload) error {
	var tables []*TablePayload
	for _, t := range p.Tables {
		if len(t.Ops) > 0 {
			tables = append(tables, t)
		}
	}
	slices.SortStableFunc(tables, func(a, b *TablePayload) int {
		return boolInt(a.Table == TableNat) - boolInt(b.Table == TableNat)
	})
	restore := Tool(e.variant, p.Family, "-restore")
	var done []savedTable
	for i, t := range tables {
		if i < len(tables)-1 {
			snap, err := e.exec(ctx, Tool(e.variant, p.Family, "-save"), []string{"-c", "-t", t.Table}, nil)
			if err != nil {
				return fmt.Errorf("save %s table before apply: %w", t.Table, err)
			}
			done = append(done, savedTable{name: t.Table, text: snap})
		}
		_, err := e.exec(ctx, restore, []string{"--noflush", "--wait"}, e.restoreInput(t))
		if err == nil {
			continue
		}
		var re *RestoreError
		if errors.As(err, &re) {
			re.Table = t.Table
		}
		done = done[:i] // the tables before this one were committed
		if rbErr := e.rollback(context.WithoutCancel(ctx), p.Family, done); rbErr != nil {
			return errors.Join(err, rbErr)
		}
		return err
	}
	return nil
}

// nftBulkChains is the number of distinct chains in one table's payload
// above which restoreInput lists the table first for iptables-nft.
const nftBulkChains = 2000

// restoreInput returns the table's restore input, written on demand (see
// tableInput). iptables-nft-restore (1.8.x) keeps the chains its commands
// name in a sorted linked list, so a payload naming C chains costs
// O(commands x C): at 110k chains a bulk load never finishes. A first
// command that names no chain makes it fetch the whole table instead; "-S"
// is such a command and changes nothing (it prints the table, which costs
// what the table holds). In that mode it does not create missing built-in
// chains, so the payload's built-in chains are declared with "-" (which
// creates a missing one and leaves an existing one, its policy and rules,
// alone). Used only for large payloads on nft.
func (e *Exec) restoreInput(t *TablePayload) *tableInput {
	return &tableInput{t: t, nftBulk: e.variant == NFT && distinctChains(t, nftBulkChains) > nftBulkChains}
}

// tableInput is one table's iptables-restore input. It is written (to
// the command's stdin) straight from the payload, so that a full sync does
// not build the whole text in memory.
type tableInput struct {
	t       *TablePayload
	nftBulk bool
}

// WriteTo writes the restore text; it can be called more than once.
func (in *tableInput) WriteTo(w io.Writer) (int64, error) {
	rw := newRestoreWriter(w)
	in.t.write(rw, in.nftBulk)
	return rw.result()
}

// distinctChains counts the chains t's commands name, up to limit+1.
func distinctChains(t *TablePayload, limit int) int {
	seen := map[string]bool{}
	multi := 0 // chains of multiple ops: Diff's declare op names them all
	for i := range t.Ops {
		if o := &t.Ops[i]; o.multi() {
			multi = max(multi, len(o.Chains))
		} else {
			seen[o.Chain] = true
		}
		if len(seen)+multi > limit {
			break
		}
	}
	return len(seen) + multi
}

type savedTable struct {
	name string
	text []byte
}

// RollbackError reports tables that could not be put back after a failed
// Apply: the kernel may hold a partial update; a full resync is due.
type RollbackError struct {
	Tables []string
	Err    error
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("rollback of tables %v failed: %v", e.Tables, e.Err)
}

func (e *RollbackError) Unwrap() error { return e.Err }

func (e *Exec) rollback(ctx context.Context, f Family, saved []savedTable) error {
	var failed []string
	var errs []error
	for i := len(saved) - 1; i >= 0; i-- {
		s := saved[i]
		if _, err := e.exec(ctx, Tool(e.variant, f, "-restore"), []string{"-c", "--wait"}, textInput(s.text)); err != nil {
			failed = append(failed, s.name)
			errs = append(errs, err)
		}
	}
	if len(failed) > 0 {
		return &RollbackError{Tables: failed, Err: errors.Join(errs...)}
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
