package kube

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/proxykit/proxykit/servicemodel"
)

// handlerRig drives an EventHandler and records what it reports.
type handlerRig struct {
	t       *testing.T
	tracker *servicemodel.Tracker
	h       *EventHandler
	errs    []error
	log     bytes.Buffer
}

func newHandlerRig(t *testing.T) *handlerRig {
	r := &handlerRig{t: t, tracker: servicemodel.NewTracker()}
	logger := slog.New(slog.NewTextHandler(&r.log, nil))
	r.h = NewEventHandler(r.tracker, logger, func(err error) { r.errs = append(r.errs, err) })
	return r
}

// step takes a snapshot and checks the changed names and the endpoints of
// web:http, printed as addresses.
func (r *handlerRig) step(wantChanged []string, wantServices int, wantEndpoints []string) {
	r.t.Helper()
	snap, changed := r.tracker.Snapshot()
	var names []string
	for _, n := range changed {
		names = append(names, n.String())
	}
	assert.Equal(r.t, wantChanged, names, "changed")
	assert.Equal(r.t, wantServices, snap.Len(), "services")
	var eps []string
	web := servicemodel.ServicePortName{NamespacedName: types.NamespacedName{Namespace: "default", Name: "web"}, Port: "http", Protocol: servicemodel.TCP}
	for _, e := range snap.Endpoints(web, servicemodel.IPv4) {
		eps = append(eps, e.AddrPort().String())
	}
	assert.Equal(r.t, wantEndpoints, eps, "endpoints of web:http")
}

func TestEventHandlerSequence(t *testing.T) {
	r := newHandlerRig(t)
	svc, es := apiService(), apiSlice()

	r.h.OnAdd(svc, true)
	r.h.OnAdd(es, true)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.5:8080"})

	es2 := es.DeepCopy()
	es2.Endpoints = append(es2.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.244.1.6"}})
	r.h.OnUpdate(es, es2)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.5:8080", "10.244.1.6:8080"})

	bad := svc.DeepCopy()
	bad.Spec.Ports[0].Port = 70000
	r.h.OnUpdate(svc, bad)
	r.step([]string{"default/web:http"}, 0, []string{"10.244.1.5:8080", "10.244.1.6:8080"})
	require.Len(t, r.errs, 1)
	var ve *servicemodel.ValidationError
	require.ErrorAs(t, r.errs[0], &ve)
	assert.Equal(t, "spec.ports[0].port", ve.Errs[0].Field)
	assert.Contains(t, r.log.String(), "event not applied")

	r.h.OnUpdate(bad, svc)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.5:8080", "10.244.1.6:8080"})

	moved := es2.DeepCopy()
	moved.Labels[discoveryv1.LabelServiceName] = "other"
	r.h.OnUpdate(es2, moved)
	r.step([]string{"default/web:http"}, 1, nil)

	r.h.OnDelete(cache.DeletedFinalStateUnknown{Key: "default/web-abc", Obj: moved})
	r.h.OnAdd(es, false)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.5:8080"})

	r.h.OnDelete(cache.DeletedFinalStateUnknown{Key: "default/web", Obj: svc})
	r.step([]string{"default/web:http"}, 0, []string{"10.244.1.5:8080"})

	r.h.OnDelete(es)
	r.step(nil, 0, nil)
	assert.Len(t, r.errs, 1, "no new errors")
}

func TestEventHandlerSkipsResync(t *testing.T) {
	r := newHandlerRig(t)
	svc, es := apiService(), apiSlice()
	svc.ResourceVersion, es.ResourceVersion = "7", "9"
	r.h.OnAdd(svc, true)
	r.h.OnAdd(es, true)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.5:8080"})

	r.h.OnUpdate(svc, svc.DeepCopy())
	r.h.OnUpdate(es, es.DeepCopy())
	r.step(nil, 1, []string{"10.244.1.5:8080"})

	next := es.DeepCopy()
	next.ResourceVersion = "10"
	next.Endpoints[0].Addresses = []string{"10.244.1.9"}
	r.h.OnUpdate(es, next)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.9:8080"})
}

func TestEventHandlerIgnores(t *testing.T) {
	r := newHandlerRig(t)
	svc, es := apiService(), apiSlice()
	r.h.OnAdd(svc, false)
	r.h.OnAdd(es, false)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.5:8080"})

	ext := svc.DeepCopy()
	ext.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}
	r.h.OnUpdate(svc, ext)
	fqdn := apiSlice()
	fqdn.Name, fqdn.AddressType = "web-fqdn", discoveryv1.AddressTypeFQDN
	r.h.OnAdd(fqdn, false)
	r.step([]string{"default/web:http"}, 0, []string{"10.244.1.5:8080"})
	assert.Empty(t, r.errs, "ExternalName and FQDN are ignored, not errors")
}

func TestEventHandlerInvalidSliceIsRemoved(t *testing.T) {
	r := newHandlerRig(t)
	r.h.OnAdd(apiService(), false)
	es := apiSlice()
	r.h.OnAdd(es, false)
	r.step([]string{"default/web:http"}, 1, []string{"10.244.1.5:8080"})

	bad := es.DeepCopy()
	bad.Endpoints[0].Addresses = []string{"not-an-ip"}
	r.h.OnUpdate(es, bad)
	r.step([]string{"default/web:http"}, 1, nil)
	require.Len(t, r.errs, 1)
	assert.EqualError(t, r.errs[0], `default/web-abc: endpoints[0].addresses[0]: Invalid value: "not-an-ip": must be a valid IP address`)
}

func TestEventHandlerUnexpectedObjects(t *testing.T) {
	r := newHandlerRig(t)
	r.h.OnAdd(&corev1.Pod{}, false)
	r.h.OnUpdate(nil, "text")
	r.h.OnDelete(cache.DeletedFinalStateUnknown{Key: "default/gone"})
	require.Len(t, r.errs, 3)
	for _, err := range r.errs {
		assert.True(t, errors.Is(err, ErrUnexpectedObject), "%v", err)
	}
	assert.EqualError(t, r.errs[0], "kube: unexpected object in event: *v1.Pod")
	r.step(nil, 0, nil)
}

func TestNewEventHandlerDefaults(t *testing.T) {
	h := NewEventHandler(servicemodel.NewTracker(), nil, nil)
	h.OnAdd(&corev1.Pod{}, false) // must neither panic nor need a logger
}
