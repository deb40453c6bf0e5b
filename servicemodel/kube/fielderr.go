package kube

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/proxykit/proxykit/servicemodel"
)

// ErrNilObject is returned when a conversion is given a nil object.
var ErrNilObject = errors.New("kube: nil object")

// parseIP parses an address strictly: no zone, and an IPv4-mapped IPv6
// address becomes the IPv4 address it maps.
func parseIP(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseCIDR parses a prefix, ignoring surrounding space (kube-proxy trims
// it), and returns its network (10.1.2.3/8 becomes 10.0.0.0/8).
func parseCIDR(s string) (netip.Prefix, bool) {
	p, err := netip.ParsePrefix(strings.TrimSpace(s))
	if err != nil {
		return netip.Prefix{}, false
	}
	return p.Masked(), true
}

// converter collects the problems found while converting one object, and
// where the model's list entries came from in the API object.
type converter struct {
	errs  field.ErrorList
	remap pathRemap
}

func newConverter() *converter { return &converter{remap: pathRemap{}} }

// addrs parses a list of addresses. Unparseable ones are reported at their
// path and left out; the paths of the kept ones are recorded under modelPath.
func (c *converter) addrs(modelPath string, p *field.Path, in []string) []netip.Addr {
	var out []netip.Addr
	for i, s := range in {
		a, ok := parseIP(s)
		if !ok {
			c.errs = append(c.errs, field.Invalid(p.Index(i), s, "must be a valid IP address"))
			continue
		}
		out = append(out, a)
		c.remap.add(modelPath, p.Index(i))
	}
	return out
}

// result returns the model object, or every problem as one
// *servicemodel.ValidationError after mapping the model's validation errors
// onto the API object's field paths.
func (c *converter) result(kind string, name types.NamespacedName, modelErrs field.ErrorList) error {
	errs := append(c.errs, c.remap.apply(modelErrs)...)
	if len(errs) == 0 {
		return nil
	}
	return &servicemodel.ValidationError{Kind: kind, Name: name, Errs: errs}
}

// pathRemap maps a list path of the model (e.g. "spec.externalIPs") to the
// API path of each of its entries, in model order. Conversion drops entries
// (an unparseable IP, a port without a number, a hostname-only ingress), so
// model index i is not always API index i.
type pathRemap map[string][]*field.Path

func (r pathRemap) add(modelPath string, apiPath *field.Path) {
	r[modelPath] = append(r[modelPath], apiPath)
}

func (r pathRemap) apply(errs field.ErrorList) field.ErrorList {
	out := make(field.ErrorList, 0, len(errs))
	for _, fe := range errs {
		out = append(out, r.one(fe))
	}
	return out
}

func (r pathRemap) one(fe *field.Error) *field.Error {
	for prefix, paths := range r {
		rest, ok := strings.CutPrefix(fe.Field, prefix+"[")
		if !ok {
			continue
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			continue
		}
		i, err := strconv.Atoi(rest[:end])
		if err != nil || i < 0 || i >= len(paths) {
			continue
		}
		c := *fe
		c.Field = paths[i].String() + rest[end+1:]
		return &c
	}
	return fe
}

func itoa(i int) string { return strconv.Itoa(i) }
