package servicemodel

import (
	"errors"
	"reflect"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// Tracker takes add, update and delete events for Services and
// EndpointSlices, the way informers deliver them, and yields immutable
// Snapshots with the ServicePortNames that changed since the previous one.
// Each event costs what it touches: one service, or one service's slices. It
// is safe for concurrent use.
type Tracker struct {
	mu        sync.Mutex
	services  *COWEditor[types.NamespacedName, *Service]
	endpoints *COWEditor[types.NamespacedName, *serviceEndpoints]
	slices    map[types.NamespacedName]map[string]*EndpointSlice
	last      *Snapshot
	// dirty holds, per changed service, the snapshot entries before the first change.
	dirty map[types.NamespacedName]dirtyEntry
}

type dirtyEntry struct {
	svc *Service
	eps *serviceEndpoints
}

// NewTracker returns a tracker whose first snapshot is empty.
func NewTracker() *Tracker {
	t := &Tracker{slices: map[types.NamespacedName]map[string]*EndpointSlice{}, last: EmptySnapshot()}
	t.reset()
	return t
}

func (t *Tracker) reset() {
	t.services = t.last.services.Edit()
	t.endpoints = t.last.endpoints.Edit()
	t.dirty = map[types.NamespacedName]dirtyEntry{}
}

func (t *Tracker) markDirty(name types.NamespacedName) {
	if _, ok := t.dirty[name]; ok {
		return
	}
	svc, _ := t.last.services.Get(name)
	eps, _ := t.last.endpoints.Get(name)
	t.dirty[name] = dirtyEntry{svc: svc, eps: eps}
}

// SetService adds or replaces a service. An invalid service is removed from
// the snapshot (it cannot be served as written) and its problems are returned
// as a *ValidationError. An ExternalName service is treated as deleted.
func (t *Tracker) SetService(svc *Service) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.markDirty(svc.Name)
	if svc.Type == TypeExternalName {
		t.services.Delete(svc.Name)
		return nil
	}
	if errs := Validate(svc); len(errs) > 0 {
		t.services.Delete(svc.Name)
		return &ValidationError{Kind: "Service", Name: svc.Name, Errs: errs}
	}
	t.services.Set(svc.Name, svc)
	return nil
}

// DeleteService removes a service. Its slices stay until they are deleted.
func (t *Tracker) DeleteService(name types.NamespacedName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.markDirty(name)
	t.services.Delete(name)
}

// SetSlice adds or replaces an EndpointSlice. An invalid slice is removed and
// its problems are returned as a *ValidationError.
func (t *Tracker) SetSlice(es *EndpointSlice) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if errs := ValidateSlice(es); len(errs) > 0 {
		if es.Service.Name != "" {
			t.removeSlice(es.Service, es.Name)
		}
		return &ValidationError{Kind: "EndpointSlice", Name: types.NamespacedName{Namespace: es.Service.Namespace, Name: es.Name}, Errs: errs}
	}
	t.markDirty(es.Service)
	bySlice := t.slices[es.Service]
	if bySlice == nil {
		bySlice = map[string]*EndpointSlice{}
		t.slices[es.Service] = bySlice
	}
	bySlice[es.Name] = es
	t.remerge(es.Service)
	return nil
}

// DeleteSlice removes an EndpointSlice of a service.
func (t *Tracker) DeleteSlice(svc types.NamespacedName, sliceName string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeSlice(svc, sliceName)
}

func (t *Tracker) removeSlice(svc types.NamespacedName, sliceName string) {
	if _, ok := t.slices[svc][sliceName]; !ok {
		return
	}
	t.markDirty(svc)
	delete(t.slices[svc], sliceName)
	if len(t.slices[svc]) == 0 {
		delete(t.slices, svc)
	}
	t.remerge(svc)
}

func (t *Tracker) remerge(svc types.NamespacedName) {
	bySlice := t.slices[svc]
	if len(bySlice) == 0 {
		t.endpoints.Delete(svc)
		return
	}
	list := make([]*EndpointSlice, 0, len(bySlice))
	for _, es := range bySlice {
		list = append(list, es)
	}
	slices.SortFunc(list, func(a, b *EndpointSlice) int { return cmpStr(a.Name, b.Name) })
	t.endpoints.Set(svc, mergeSlices(list))
}

// Snapshot returns the current state and the ServicePortNames whose
// programming may differ from the previous snapshot's, sorted. Unchanged
// services are shared with the previous snapshot.
func (t *Tracker) Snapshot() (*Snapshot, []ServicePortName) {
	t.mu.Lock()
	defer t.mu.Unlock()
	next := &Snapshot{services: t.services.Done(), endpoints: t.endpoints.Done()}
	var changed []ServicePortName
	for name, before := range t.dirty {
		svc, _ := next.services.Get(name)
		eps, _ := next.endpoints.Get(name)
		changed = append(changed, changedPorts(before, dirtyEntry{svc: svc, eps: eps})...)
	}
	slices.SortFunc(changed, ServicePortName.Compare)
	changed = slices.Compact(changed)
	t.last = next
	t.reset()
	return next, changed
}

// changedPorts lists the ports whose service or endpoints differ between two
// versions of one service.
func changedPorts(before, after dirtyEntry) []ServicePortName {
	var out []ServicePortName
	add := func(svc *Service, only func(ServicePortName) bool) {
		if svc == nil {
			return
		}
		for _, p := range svc.Ports {
			if n := svc.PortName(p); only == nil || only(n) {
				out = append(out, n)
			}
		}
	}
	if !sameService(before.svc, after.svc) {
		add(before.svc, nil)
		add(after.svc, nil)
		return out
	}
	if before.eps == after.eps {
		return nil
	}
	add(after.svc, func(n ServicePortName) bool {
		for _, f := range []IPFamily{IPv4, IPv6} {
			if !slices.EqualFunc(before.eps.get(n, f), after.eps.get(n, f), PortEndpoint.Equal) {
				return true
			}
		}
		return false
	})
	return out
}

// sameService compares two versions of a service by value, so that an
// informer resync (an equal object, newly converted) changes nothing.
func sameService(a, b *Service) bool {
	return a == b || a != nil && b != nil && reflect.DeepEqual(a, b)
}

func (se *serviceEndpoints) get(n ServicePortName, f IPFamily) []PortEndpoint {
	if se == nil {
		return nil
	}
	if pe := se.find(portKey{n.Port, n.Protocol, f}); pe != nil {
		return pe.eps
	}
	return nil
}

// Equal compares two resolved endpoints field by field.
func (e PortEndpoint) Equal(o PortEndpoint) bool {
	return e.Addr == o.Addr && e.Port == o.Port && e.Ready == o.Ready && e.Serving == o.Serving &&
		e.Terminating == o.Terminating && e.NodeName == o.NodeName && e.Zone == o.Zone &&
		slices.Equal(e.ForZones, o.ForZones) && slices.Equal(e.ForNodes, o.ForNodes)
}

// NewSnapshot builds a snapshot from a fixed set of objects. Invalid objects
// are skipped; their problems are returned joined, each a *ValidationError.
func NewSnapshot(services []*Service, slices []*EndpointSlice) (*Snapshot, error) {
	t := NewTracker()
	var errs []error
	for _, s := range services {
		if err := t.SetService(s); err != nil {
			errs = append(errs, err)
		}
	}
	for _, es := range slices {
		if err := t.SetSlice(es); err != nil {
			errs = append(errs, err)
		}
	}
	snap, _ := t.Snapshot()
	return snap, errors.Join(errs...)
}
