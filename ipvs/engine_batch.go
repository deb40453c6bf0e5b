package ipvs

import (
	"context"
	"fmt"
	"strings"
)

// entryBatcher is a driver that writes many entries of one set at once. It
// returns how many entries it wrote, which of them were applied, the index
// of the first refused (-1 when none) and the error.
type entryBatcher interface {
	entries(s *IPSet, add bool, es []SetEntry) (done []bool, sent, failed int, err error)
}

// entryRun returns how many operations at the start of ops add (or delete)
// entries of the same set, not an ownership set (whose cache exec keeps).
func (e *engine) entryRun(ops Ops) int {
	first := ops[0]
	if (first.Kind != OpAddEntry && first.Kind != OpDelEntry) || first.Set == nil || e.opts.isOwnerSet(first.Set.Name) {
		return 0
	}
	n := 1
	for n < len(ops) && ops[n].Kind == first.Kind && ops[n].Set != nil && ops[n].Set.Name == first.Set.Name {
		n++
	}
	return n
}

// doEntries performs a run of entry operations through b, journaling the
// inverse of each applied entry; each operation passes the checks and the
// failure hook first, as in do. It returns the index of the failed one.
func (e *engine) doEntries(ctx context.Context, t *tx, b entryBatcher, run Ops) (int, error) {
	es := make([]SetEntry, 0, len(run))
	var stop error
	for _, o := range run {
		if stop = ctx.Err(); stop == nil {
			stop = o.check()
		}
		if stop == nil && e.fail != nil {
			stop = e.fail(o)
		}
		if stop != nil {
			break
		}
		es = append(es, o.Entry)
	}
	if len(es) > 0 {
		done, sent, failed, err := b.entries(run[0].Set, run[0].Kind == OpAddEntry, es)
		t.writes += sent
		for i, ok := range done {
			if ok {
				t.journal = append(t.journal, run[i].inverse())
			}
		}
		if err != nil {
			if failed < 0 {
				failed = firstNotDone(done)
			}
			return failed, fmt.Errorf("%v: %w", strings.TrimSpace(run[failed].String()), err)
		}
	}
	if stop != nil {
		return len(es), stop
	}
	return 0, nil
}

// firstNotDone returns the index of the first false in done (0 when none).
func firstNotDone(done []bool) int {
	for i, ok := range done {
		if !ok {
			return i
		}
	}
	return 0
}
