package kube

import (
	"errors"
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/servicemodel"
)

// DefaultMaxBytes is Load's cap on the size of its input: 64 MiB, far more
// than any cluster's Services and EndpointSlices printed as YAML.
const DefaultMaxBytes = 64 << 20

// LoadOptions tunes Load. The zero value is what Load uses.
type LoadOptions struct {
	// MaxBytes caps the input; 0 means DefaultMaxBytes. Larger input is
	// refused whole with an error wrapping ErrTooLarge.
	MaxBytes int64
	// DefaultNamespace is given to objects without metadata.namespace, as
	// kubectl gives its context's namespace; "" means "default".
	DefaultNamespace string
}

// LoadResult is what Load read. Objects are in stream order.
type LoadResult struct {
	// Services and Slices are the objects that converted and validated.
	// ExternalName Services and FQDN slices are not among them (see Skipped).
	Services []*servicemodel.Service
	Slices   []*servicemodel.EndpointSlice

	// APIServices and APISlices are every Service and EndpointSlice that
	// decoded, including those that did not convert or were skipped.
	APIServices []*corev1.Service
	APISlices   []*discoveryv1.EndpointSlice

	// Skipped lists what was read and deliberately ignored: other kinds and
	// apiVersions, ExternalName Services, FQDN slices. Not errors.
	Skipped []Skip

	// Errors lists every problem, in stream order: a *DocError per document
	// (or List item) that could not be read, an *ObjectError per object that
	// did not convert. Load's error joins them.
	Errors []error
}

// Skip is an object Load read and ignored.
type Skip struct {
	Source
	APIVersion string
	Kind       string
	Name       types.NamespacedName
	Reason     string
}

// String prints "document 4: v1 ConfigMap demo/settings: skipped: reason".
func (s Skip) String() string {
	return s.Source.String() + ": " + strings.TrimSpace(s.APIVersion+" "+s.Kind) + " " + s.Name.String() + ": skipped: " + s.Reason
}

// Snapshot builds a servicemodel.Snapshot of the loaded Services and Slices.
func (r *LoadResult) Snapshot() (*servicemodel.Snapshot, error) {
	return servicemodel.NewSnapshot(r.Services, r.Slices)
}

// Load reads Services and EndpointSlices as kubectl prints them, with
// LoadOptions' defaults. See LoadOptions.Load.
func Load(r io.Reader) (*LoadResult, error) { return LoadOptions{}.Load(r) }

// Load reads Services and EndpointSlices from YAML or JSON: multi-document
// YAML (documents separated by "---" or ended by "..."), one or more
// concatenated JSON values (when the input starts with '{' or '['), and
// Lists (kind List with items of any kind, or a typed list such as
// ServiceList whose items may omit kind and apiVersion), nested up to 16
// deep. Services must be apiVersion v1, EndpointSlices discovery.k8s.io/v1;
// every other kind is skipped and listed in Skipped.
//
// Load always returns a non-nil result holding every good object, and an
// error that joins every problem (see LoadResult.Errors), so that a caller
// can report them all and still go on with the good objects. Documents are
// counted from 1, leaving out those with only blank lines and comments;
// lines are lines of the whole input, counted from 1. A broken JSON stream
// cannot be resynchronised: the documents after the broken one are lost,
// while YAML documents are independent. Reading the input fails whole (with
// no objects) when the reader fails or the input exceeds MaxBytes.
func (o LoadOptions) Load(r io.Reader) (*LoadResult, error) {
	res := &LoadResult{}
	limit := o.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	switch {
	case err != nil:
		err = fmt.Errorf("kube: reading input: %w", err)
	case int64(len(data)) > limit:
		err = fmt.Errorf("kube: %w: more than %d bytes", ErrTooLarge, limit)
	}
	if err != nil {
		res.Errors = append(res.Errors, err)
		return res, err
	}
	docs, splitErr := splitStream(data)
	l := &loader{res: res, namespace: o.DefaultNamespace}
	if l.namespace == "" {
		l.namespace = "default"
	}
	for _, d := range docs {
		l.document(d)
	}
	if splitErr != nil {
		res.Errors = append(res.Errors, splitErr)
	}
	return res, errors.Join(res.Errors...)
}
