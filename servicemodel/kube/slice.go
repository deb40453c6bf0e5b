package kube

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/proxykit/proxykit/servicemodel"
)

// SliceFromAPI converts an EndpointSlice.
//
// A slice of addressType FQDN is ignored, as kube-proxy ignores it: the
// result is nil with a nil error. Callers must check for a nil slice.
//
// The owning service comes from the label kubernetes.io/service-name and the
// slice's namespace. A port without a number is skipped, as kube-proxy does;
// a port without a name has name "", without a protocol TCP. Each endpoint
// uses its first address; its conditions keep Kubernetes' nil semantics
// (copied, not shared with in), and nodeName, zone and the hints forZones
// and forNodes are kept.
//
// On any problem it returns nil and a *servicemodel.ValidationError (Kind
// "EndpointSlice", named by the slice's namespace and name) listing every
// problem with the field path of the API object.
func SliceFromAPI(in *discoveryv1.EndpointSlice) (*servicemodel.EndpointSlice, error) {
	if in == nil {
		return nil, ErrNilObject
	}
	if in.AddressType == discoveryv1.AddressTypeFQDN {
		return nil, nil
	}
	c := newConverter()
	if in.Name == "" {
		c.errs = append(c.errs, field.Required(field.NewPath("metadata", "name"), "names the slice"))
	}
	es := &servicemodel.EndpointSlice{
		Service:   SliceService(in),
		Name:      in.Name,
		Family:    servicemodel.IPFamily(in.AddressType),
		Ports:     c.slicePorts(in.Ports),
		Endpoints: c.endpoints(in.Endpoints),
	}
	name := types.NamespacedName{Namespace: in.Namespace, Name: in.Name}
	if err := c.result("EndpointSlice", name, servicemodel.ValidateSlice(es)); err != nil {
		return nil, err
	}
	return es, nil
}

// SliceService returns the name of the Service that owns a slice, from its
// namespace and the label kubernetes.io/service-name (Name is "" without it).
func SliceService(in *discoveryv1.EndpointSlice) types.NamespacedName {
	return types.NamespacedName{Namespace: in.Namespace, Name: in.Labels[discoveryv1.LabelServiceName]}
}

func (c *converter) slicePorts(in []discoveryv1.EndpointPort) []servicemodel.EndpointPort {
	out := make([]servicemodel.EndpointPort, 0, len(in))
	for i, p := range in {
		if p.Port == nil {
			continue
		}
		ep := servicemodel.EndpointPort{Port: *p.Port, Protocol: servicemodel.TCP}
		if p.Name != nil {
			ep.Name = *p.Name
		}
		if p.Protocol != nil {
			ep.Protocol = protocol(*p.Protocol)
		}
		out = append(out, ep)
		c.remap.add("ports", field.NewPath("ports").Index(i))
	}
	return out
}

func (c *converter) endpoints(in []discoveryv1.Endpoint) []servicemodel.Endpoint {
	out := make([]servicemodel.Endpoint, 0, len(in))
	for i, ep := range in {
		p := field.NewPath("endpoints").Index(i)
		if len(ep.Addresses) == 0 {
			c.errs = append(c.errs, field.Required(p.Child("addresses"), "needs at least one address"))
			continue
		}
		a, ok := parseIP(ep.Addresses[0])
		if !ok {
			c.errs = append(c.errs, field.Invalid(p.Child("addresses").Index(0), ep.Addresses[0], "must be a valid IP address"))
			continue
		}
		out = append(out, servicemodel.Endpoint{
			Addr:        a,
			Ready:       copyBool(ep.Conditions.Ready),
			Serving:     copyBool(ep.Conditions.Serving),
			Terminating: copyBool(ep.Conditions.Terminating),
			NodeName:    deref(ep.NodeName),
			Zone:        deref(ep.Zone),
			ForZones:    hintZones(ep.Hints),
			ForNodes:    hintNodes(ep.Hints),
		})
		c.remap.add("endpoints", p)
	}
	return out
}

func copyBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	return servicemodel.Bool(*b)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func hintZones(h *discoveryv1.EndpointHints) []string {
	if h == nil {
		return nil
	}
	return names(h.ForZones, func(z discoveryv1.ForZone) string { return z.Name })
}

func hintNodes(h *discoveryv1.EndpointHints) []string {
	if h == nil {
		return nil
	}
	return names(h.ForNodes, func(n discoveryv1.ForNode) string { return n.Name })
}

func names[T any](in []T, name func(T) string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = name(v)
	}
	return out
}
