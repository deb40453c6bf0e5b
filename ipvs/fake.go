package ipvs

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"
)

// Fake is a strict in-memory Kernel for tests: it rejects what the kernel
// rejects (a duplicate virtual server, a real server of a missing virtual
// server, deleting what is absent, an entry of the wrong type), applies the
// same ownership rule and the same journal-and-undo as Real, and can fail
// any write on demand (SetFailure). It does not simulate packets.
type Fake struct {
	*engine
	d *fakeDriver
}

var _ Kernel = (*Fake)(nil)

// NewFake returns an empty fake kernel.
func NewFake(opts Options) *Fake {
	o := opts.withDefaults()
	kern := &fakeKernel{svcs: map[VSKey]*VirtualServer{}, links: map[string]map[netip.Addr]struct{}{}, ipsets: map[string]*IPSet{}}
	d := &fakeDriver{fakeKernel: kern, dummy: o.Dummy}
	return &Fake{engine: newEngine(d, o), d: d}
}

// AddForeign installs a virtual server that is not ours (as another program
// would), for ownership tests.
func (f *Fake) AddForeign(v *VirtualServer) error {
	if err := f.d.addService(v); err != nil {
		return err
	}
	for _, r := range v.Reals {
		if err := f.d.addReal(v.VSKey, r); err != nil {
			return err
		}
	}
	return nil
}

// SetConns sets the connection counters of a real server, as traffic would.
func (f *Fake) SetConns(k VSKey, rs RSKey, active, inactive int) error {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	v, ok := f.d.svcs[k]
	if !ok {
		return fmt.Errorf("%w: %v", ErrNotFound, k)
	}
	i := findReal(v.Reals, rs)
	if i < 0 {
		return fmt.Errorf("%w: %v -> %v", ErrNotFound, k, rs)
	}
	v.Reals[i].ActiveConns, v.Reals[i].InactiveConns = active, inactive
	return nil
}

// Dump returns everything the fake kernel holds, ours or not, including the
// ownership sets. Addresses are those of this handle's dummy interface.
func (f *Fake) Dump() *State {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	st := NewState()
	for k, v := range f.d.svcs {
		st.Services[k] = v.Clone()
	}
	for a := range f.d.links[f.d.dummy] {
		st.Addresses[a] = struct{}{}
	}
	for n, s := range f.d.ipsets {
		st.Sets[n] = s.Clone()
	}
	return st
}

// Writes returns the number of successful kernel writes so far.
func (f *Fake) Writes() int {
	f.d.mu.Lock()
	defer f.d.mu.Unlock()
	return f.d.writes
}

// fakeKernel is the in-memory kernel.
type fakeKernel struct {
	mu     sync.Mutex
	svcs   map[VSKey]*VirtualServer
	links  map[string]map[netip.Addr]struct{} // dummy interfaces and their addresses
	ipsets map[string]*IPSet
	writes int
}

// fakeDriver is one handle's view: the kernel and its dummy interface.
type fakeDriver struct {
	*fakeKernel
	dummy string
}

func notFound(what any) error { return fmt.Errorf("%w: %v", ErrNotFound, what) }
func exists(what any) error   { return fmt.Errorf("%w: %v", ErrExists, what) }

func (d *fakeDriver) services() ([]*VirtualServer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*VirtualServer, 0, len(d.svcs))
	for _, v := range d.svcs {
		out = append(out, v.Settings())
	}
	return out, nil
}

func (d *fakeDriver) reals(k VSKey) ([]RealServer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.svcs[k]
	if !ok {
		return nil, notFound(k)
	}
	return v.Clone().Reals, nil
}

func (d *fakeDriver) service(k VSKey) (*VirtualServer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	v, ok := d.svcs[k]
	if !ok {
		return nil, notFound(k)
	}
	return v.Settings(), nil
}

// change runs f under the lock and counts a successful write.
func (d *fakeDriver) change(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := f(); err != nil {
		return err
	}
	d.writes++
	return nil
}

func (d *fakeDriver) addService(v *VirtualServer) error {
	return d.change(func() error {
		if _, ok := d.svcs[v.VSKey]; ok {
			return exists(v.VSKey)
		}
		if !validSchedName(v.Scheduler) || !v.Addr.IsValid() {
			return fmt.Errorf("invalid virtual server %v (scheduler %q)", v.VSKey, v.Scheduler)
		}
		d.svcs[v.VSKey] = v.Settings()
		return nil
	})
}

func (d *fakeDriver) updateService(v *VirtualServer) error {
	return d.change(func() error {
		old, ok := d.svcs[v.VSKey]
		if !ok {
			return notFound(v.VSKey)
		}
		n := v.Settings()
		n.Reals = old.Reals
		d.svcs[v.VSKey] = n
		return nil
	})
}

func (d *fakeDriver) delService(k VSKey) error {
	return d.change(func() error {
		if _, ok := d.svcs[k]; !ok {
			return notFound(k)
		}
		delete(d.svcs, k)
		return nil
	})
}

// withReal runs f on the virtual server k and the index of r in it (-1).
func (d *fakeDriver) withReal(k VSKey, r RealServer, f func(v *VirtualServer, i int) error) error {
	return d.change(func() error {
		v, ok := d.svcs[k]
		if !ok {
			return notFound(k)
		}
		return f(v, findReal(v.Reals, r.Key()))
	})
}

func (d *fakeDriver) addReal(k VSKey, r RealServer) error {
	return d.withReal(k, r, func(v *VirtualServer, i int) error {
		if i >= 0 {
			return exists(r.Key())
		}
		if r.Addr.Is4() != k.Addr.Is4() || r.Weight < 0 || r.Weight > 65535 {
			return fmt.Errorf("invalid real server %v", r.Key())
		}
		r.ActiveConns, r.InactiveConns = 0, 0
		v.Reals = append(v.Reals, r)
		return nil
	})
}

func (d *fakeDriver) updateReal(k VSKey, r RealServer) error {
	return d.withReal(k, r, func(v *VirtualServer, i int) error {
		if i < 0 {
			return notFound(r.Key())
		}
		r.ActiveConns, r.InactiveConns = v.Reals[i].ActiveConns, v.Reals[i].InactiveConns
		v.Reals[i] = r
		return nil
	})
}

func (d *fakeDriver) delReal(k VSKey, r RealServer) error {
	return d.withReal(k, r, func(v *VirtualServer, i int) error {
		if i < 0 {
			return notFound(r.Key())
		}
		v.Reals = append(v.Reals[:i:i], v.Reals[i+1:]...)
		return nil
	})
}

func (d *fakeDriver) addrs() ([]netip.Addr, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]netip.Addr, 0, len(d.links[d.dummy]))
	for a := range d.links[d.dummy] {
		out = append(out, a)
	}
	return out, nil
}

func (d *fakeDriver) addAddr(a netip.Addr) error {
	return d.change(func() error {
		link := d.links[d.dummy]
		if link == nil {
			link = map[netip.Addr]struct{}{}
			d.links[d.dummy] = link
		}
		if _, ok := link[a]; ok {
			return exists(a)
		}
		link[a] = struct{}{}
		return nil
	})
}

func (d *fakeDriver) delAddr(a netip.Addr) error {
	return d.change(func() error {
		if _, ok := d.links[d.dummy][a]; !ok {
			return notFound(a)
		}
		delete(d.links[d.dummy], a)
		return nil
	})
}

func (d *fakeDriver) delLink() error {
	return d.change(func() error {
		delete(d.links, d.dummy)
		return nil
	})
}

func (d *fakeDriver) sets(prefix string) ([]*IPSet, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []*IPSet
	for n, s := range d.ipsets {
		if strings.HasPrefix(n, prefix) {
			out = append(out, s.Clone())
		}
	}
	return out, nil
}

func (d *fakeDriver) createSet(s *IPSet) error {
	return d.change(func() error {
		if _, ok := d.ipsets[s.Name]; ok {
			return exists("ipset " + s.Name)
		}
		if !s.Type.valid() || s.Name == "" || len(s.Name) > 31 {
			return fmt.Errorf("invalid ipset %q of type %q", s.Name, s.Type)
		}
		d.ipsets[s.Name] = s.Spec()
		return nil
	})
}

func (d *fakeDriver) destroySet(name string) error {
	return d.change(func() error {
		if _, ok := d.ipsets[name]; !ok {
			return notFound("ipset " + name)
		}
		delete(d.ipsets, name)
		return nil
	})
}

// withSet runs f on the named set after checking e against its type.
func (d *fakeDriver) withSet(s *IPSet, e SetEntry, f func(set *IPSet) error) error {
	return d.change(func() error {
		set, ok := d.ipsets[s.Name]
		if !ok {
			return notFound("ipset " + s.Name)
		}
		if err := set.checkEntry(e); err != nil {
			return err
		}
		return f(set)
	})
}

func (d *fakeDriver) addEntry(s *IPSet, e SetEntry) error {
	return d.withSet(s, e, func(set *IPSet) error {
		if !set.entries.insert(e) {
			return exists(e)
		}
		return nil
	})
}

func (d *fakeDriver) delEntry(s *IPSet, e SetEntry) error {
	return d.withSet(s, e, func(set *IPSet) error {
		if !set.entries.remove(e) {
			return notFound(e)
		}
		return nil
	})
}

// Open returns another handle on the same fake kernel with its own options,
// as a second program, or this one after a restart, would have.
func (f *Fake) Open(opts Options) *Fake {
	o := opts.withDefaults()
	d := &fakeDriver{fakeKernel: f.d.fakeKernel, dummy: o.Dummy}
	return &Fake{engine: newEngine(d, o), d: d}
}
