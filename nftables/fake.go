package nftables

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"syscall"
)

// Fake is a strict in-memory Kernel for tests. It applies a transaction on a
// copy of its state and swaps it in only when every op succeeded, and it
// refuses what the kernel refuses: a rule jumping to a missing chain or
// looking up a missing set, an element of the wrong type or jumping to a
// missing chain, deleting a missing object, a non-empty or still referenced
// chain, a referenced set, a set redefined differently, an element re-added
// with different data. Errors are *ApplyError wrapping the errno the kernel
// would return.
type Fake struct {
	mu     sync.Mutex
	owner  Ownership
	tables map[TableID]*fakeTable
	fault  func(index int, op Op) error
	applys int
}

// NewFake returns an empty fake that owns the given tables (DefaultTables when none).
func NewFake(owned ...TableID) *Fake { return NewFakeOwning(Ownership{Tables: owned}) }

// NewFakeOwning returns an empty fake with the given ownership.
func NewFakeOwning(o Ownership) *Fake {
	return &Fake{owner: o.withDefault(), tables: map[TableID]*fakeTable{}}
}

// SetFault installs f, called before each op of every later Apply; a non-nil
// return fails that op (and so the whole transaction). nil removes it.
func (f *Fake) SetFault(fault func(index int, op Op) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fault = fault
}

// Applies returns how many transactions were applied successfully.
func (f *Fake) Applies() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applys
}

// Apply implements Kernel.
func (f *Fake) Apply(ctx context.Context, tx *Transaction) error {
	if err := checkOwned(f.owner, tx); err != nil {
		return err
	}
	return f.apply(ctx, tx, true)
}

// Tamper applies tx as another program would: without the ownership check
// and without counting it. Tests use it to simulate drift and foreign tables.
func (f *Fake) Tamper(ctx context.Context, tx *Transaction) error { return f.apply(ctx, tx, false) }

func (f *Fake) apply(ctx context.Context, tx *Transaction, count bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if tx.Empty() {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeTx{base: f.tables, tables: make(map[TableID]*fakeTable, len(f.tables)), touched: map[TableID]bool{}}
	for id, t := range f.tables {
		w.tables[id] = t
	}
	for i, op := range tx.Ops {
		var err error
		if f.fault != nil {
			err = f.fault(i, op)
		}
		if err == nil {
			err = w.apply(op)
		}
		if err != nil {
			return &ApplyError{Index: i, Op: op, Err: err}
		}
	}
	f.tables = w.tables
	if count {
		f.applys++
	}
	return nil
}

// Read implements Kernel: the owned tables that exist.
func (f *Fake) Read(ctx context.Context) (*Ruleset, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return f.read(f.ownedIDs()), nil
}

// ownedIDs lists the owned tables that exist (or are listed), in order.
func (f *Fake) ownedIDs() []TableID {
	f.mu.Lock()
	defer f.mu.Unlock()
	ids := slices.Clone(f.owner.Tables)
	var extra []TableID
	for id := range f.tables {
		if f.owner.Owns(id) && !slices.Contains(ids, id) {
			extra = append(extra, id)
		}
	}
	sortIDs(extra)
	return append(ids, extra...)
}

// ReadAll returns every table the fake holds, owned or not.
func (f *Fake) ReadAll() *Ruleset {
	f.mu.Lock()
	ids := make([]TableID, 0, len(f.tables))
	for id := range f.tables {
		ids = append(ids, id)
	}
	f.mu.Unlock()
	sortIDs(ids)
	return f.read(ids)
}

func (f *Fake) read(ids []TableID) *Ruleset {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := &Ruleset{}
	for _, id := range ids {
		if ft := f.tables[id]; ft != nil {
			rs.Tables = append(rs.Tables, ft.export())
		}
	}
	return rs
}

type fakeTable struct {
	id       TableID
	comment  string
	chains   map[string]*fakeChain
	sets     map[string]*fakeSet
	order    []string // chain creation order (may hold deleted names)
	setOrder []string
}

type fakeChain struct {
	hook  *Hook
	rules []Rule
}

type fakeSet struct {
	def   Set // without elements
	elems map[string]Element
	order []string
}

func (t *fakeTable) export() *Table {
	out := NewTable(t.id.Family, t.id.Name)
	out.Comment = t.comment
	for _, name := range t.setOrder {
		s := t.sets[name]
		if s == nil || out.Set(name) != nil {
			continue
		}
		def := s.def
		def.Elements = nil
		for _, k := range liveKeys(s.order, s.elems) {
			def.Elements = append(def.Elements, s.elems[k])
		}
		_ = out.AddSet(&def)
	}
	for _, name := range t.order {
		c := t.chains[name]
		if c == nil || out.Chain(name) != nil {
			continue
		}
		_ = out.AddChain(&Chain{Name: name, Hook: c.hook, Rules: append([]Rule(nil), c.rules...)})
	}
	return out
}

func (t *fakeTable) clone() *fakeTable {
	c := *t
	c.chains = make(map[string]*fakeChain, len(t.chains))
	for k, v := range t.chains {
		c.chains[k] = v
	}
	c.sets = make(map[string]*fakeSet, len(t.sets))
	for k, v := range t.sets {
		c.sets[k] = v
	}
	c.order = append([]string(nil), t.order...)
	c.setOrder = append([]string(nil), t.setOrder...)
	return &c
}

// fakeTx is a copy-on-write view of the state during one Apply.
type fakeTx struct {
	base          map[TableID]*fakeTable
	tables        map[TableID]*fakeTable
	touched       map[TableID]bool
	touchedChains map[*fakeChain]bool
	touchedSets   map[*fakeSet]bool
}

func (w *fakeTx) table(id TableID) (*fakeTable, error) {
	t := w.tables[id]
	if t == nil {
		return nil, fmt.Errorf("table %s: %w", id, syscall.ENOENT)
	}
	if !w.touched[id] {
		t = t.clone()
		w.tables[id] = t
		w.touched[id] = true
	}
	return t, nil
}

func (w *fakeTx) chain(t *fakeTable, name string) (*fakeChain, error) {
	c := t.chains[name]
	if c == nil {
		return nil, fmt.Errorf("chain %s: %w", name, syscall.ENOENT)
	}
	if !w.touchedChains[c] {
		c = &fakeChain{hook: c.hook, rules: append([]Rule(nil), c.rules...)}
		t.chains[name] = c
		if w.touchedChains == nil {
			w.touchedChains = map[*fakeChain]bool{}
		}
		w.touchedChains[c] = true
	}
	return c, nil
}

func (w *fakeTx) set(t *fakeTable, name string) (*fakeSet, error) {
	s := t.sets[name]
	if s == nil {
		return nil, fmt.Errorf("set %s: %w", name, syscall.ENOENT)
	}
	if !w.touchedSets[s] {
		n := &fakeSet{def: s.def, elems: make(map[string]Element, len(s.elems)), order: append([]string(nil), s.order...)}
		for k, v := range s.elems {
			n.elems[k] = v
		}
		s = n
		t.sets[name] = s
		if w.touchedSets == nil {
			w.touchedSets = map[*fakeSet]bool{}
		}
		w.touchedSets[s] = true
	}
	return s, nil
}
