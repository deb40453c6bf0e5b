package kube

import (
	"errors"
	"fmt"
	"log/slog"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	"github.com/proxykit/proxykit/servicemodel"
)

// ErrUnexpectedObject is reported (wrapped) for an event about an object that
// is neither a *corev1.Service nor a *discoveryv1.EndpointSlice, or a
// tombstone without one.
var ErrUnexpectedObject = errors.New("kube: unexpected object in event")

// EventHandler feeds a servicemodel.Tracker from informer events. Register
// the same handler with a Service informer and an EndpointSlice informer;
// then take snapshots with Tracker.Snapshot.
//
// An object that does not convert is removed from the tracker (it cannot be
// served as written, and its previous version is stale) and its error, a
// *servicemodel.ValidationError, goes to onError and the log. FQDN slices
// are ignored. Resyncs (an update to the same resourceVersion) are skipped.
type EventHandler struct {
	tracker *servicemodel.Tracker
	logger  *slog.Logger
	onError func(error)
}

var _ cache.ResourceEventHandler = (*EventHandler)(nil)

// NewEventHandler returns a handler that feeds t. A nil logger discards;
// a nil onError ignores errors beyond logging them.
func NewEventHandler(t *servicemodel.Tracker, logger *slog.Logger, onError func(error)) *EventHandler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if onError == nil {
		onError = func(error) {}
	}
	return &EventHandler{tracker: t, logger: logger, onError: onError}
}

// OnAdd handles an added object.
func (h *EventHandler) OnAdd(obj any, _ bool) { h.set("add", nil, obj) }

// OnUpdate handles a changed object.
func (h *EventHandler) OnUpdate(oldObj, newObj any) { h.set("update", oldObj, newObj) }

// OnDelete handles a deleted object, or a cache.DeletedFinalStateUnknown
// tombstone holding one.
func (h *EventHandler) OnDelete(obj any) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	switch o := obj.(type) {
	case *corev1.Service:
		h.tracker.DeleteService(types.NamespacedName{Namespace: o.Namespace, Name: o.Name})
	case *discoveryv1.EndpointSlice:
		h.tracker.DeleteSlice(SliceService(o), o.Name)
	default:
		h.report("delete", fmt.Errorf("%w: %T", ErrUnexpectedObject, obj))
	}
}

func (h *EventHandler) set(op string, oldObj, obj any) {
	if resync(oldObj, obj) {
		return
	}
	switch o := obj.(type) {
	case *corev1.Service:
		h.setService(op, o)
	case *discoveryv1.EndpointSlice:
		if old, ok := oldObj.(*discoveryv1.EndpointSlice); ok && SliceService(old) != SliceService(o) {
			// the service-name label moved the slice to another service
			h.tracker.DeleteSlice(SliceService(old), old.Name)
		}
		h.setSlice(op, o)
	default:
		h.report(op, fmt.Errorf("%w: %T", ErrUnexpectedObject, obj))
	}
}

// resync reports whether an update is an informer's periodic resync: the
// same object at the same resourceVersion. Feeding it to the tracker would
// report every port as changed, since the tracker compares services by
// pointer.
func resync(oldObj, obj any) bool {
	a, ok1 := oldObj.(metav1.Object)
	b, ok2 := obj.(metav1.Object)
	return ok1 && ok2 && a.GetResourceVersion() != "" && a.GetResourceVersion() == b.GetResourceVersion() && a.GetUID() == b.GetUID()
}

func (h *EventHandler) setService(op string, in *corev1.Service) {
	name := types.NamespacedName{Namespace: in.Namespace, Name: in.Name}
	svc, err := ServiceFromAPI(in)
	if err == nil {
		err = h.tracker.SetService(svc)
	} else {
		h.tracker.DeleteService(name)
	}
	if err != nil {
		h.report(op, err)
	}
}

func (h *EventHandler) setSlice(op string, in *discoveryv1.EndpointSlice) {
	es, err := SliceFromAPI(in)
	switch {
	case err != nil, es == nil: // invalid, or FQDN (ignored): not served
		h.tracker.DeleteSlice(SliceService(in), in.Name)
	default:
		err = h.tracker.SetSlice(es)
	}
	if err != nil {
		h.report(op, err)
	}
}

func (h *EventHandler) report(op string, err error) {
	h.logger.Warn("kube: event not applied", "event", op, "error", err)
	h.onError(err)
}
