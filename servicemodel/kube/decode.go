package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kjson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	"github.com/proxykit/proxykit/servicemodel"
)

// Errors a DocError may wrap; inspect them with errors.Is.
var (
	ErrNotText           = errors.New("not UTF-8 text")
	ErrNotObject         = errors.New("not an object")
	ErrMissingKind       = errors.New("kind is not set")
	ErrMissingAPIVersion = errors.New("apiVersion is not set")
	ErrListTooDeep       = errors.New("lists nested too deeply")
)

// maxListDepth bounds how deeply Lists may nest.
const maxListDepth = 16

// loader turns documents into a LoadResult.
type loader struct {
	res       *LoadResult
	namespace string
}

// piece is one JSON value to read: a document or a List item. doc is the
// document's own text, where data comes from at path prefix; it serves to
// find the line of a problem.
type piece struct {
	Source
	data   []byte
	doc    *docText
	prefix []any
}

func (p piece) item(i int, data []byte) piece {
	return piece{Source: p.Source.item(i), data: data, doc: p.doc, prefix: append(slices.Clone(p.prefix), "items", i)}
}

// docError reports a problem with a piece; for a List item, at the item's line.
func (p piece) docError(err error) *DocError {
	de := &DocError{Source: p.Source, Err: err}
	if len(p.prefix) > 0 {
		de.ErrLine = p.doc.lineOf(p.prefix)
	}
	return de
}

// typeMeta is the kind and apiVersion a piece has, or that the items of a
// typed list (ServiceList) default to.
type typeMeta = metav1.TypeMeta

func (l *loader) fail(err error) { l.res.Errors = append(l.res.Errors, err) }

func (l *loader) document(d document) {
	p := piece{Source: d.Source, data: d.data, doc: &docText{text: d.data, base: d.base}}
	if !d.json {
		if off := firstInvalidUTF8(d.data); off >= 0 {
			l.fail(&DocError{Source: d.Source, ErrLine: d.base + lineAt(d.data, off) - 1,
				Err: fmt.Errorf("%w: byte 0x%02x", ErrNotText, d.data[off])})
			return
		}
		j, err := yaml.YAMLToJSON(d.data)
		if err != nil {
			l.fail(yamlDocError(d.Source, d.base, d.data, err))
			return
		}
		p.data = j
	}
	l.value(p, typeMeta{}, 0)
}

// value reads one object and dispatches on its kind.
func (l *loader) value(p piece, def typeMeta, depth int) {
	if null, err := objectShape(p.data); null || err != nil {
		if err != nil {
			l.fail(p.docError(err))
		}
		return
	}
	var tm typeMeta
	if err := kjson.Unmarshal(p.data, &tm); err != nil {
		l.fail(l.decodeError(p, err, &tm))
		return
	}
	if tm.Kind == "" {
		tm.Kind = def.Kind
	}
	if tm.APIVersion == "" {
		tm.APIVersion = def.APIVersion
	}
	switch {
	case tm.Kind == "":
		l.fail(p.docError(ErrMissingKind))
	case tm.APIVersion == "":
		l.fail(p.docError(fmt.Errorf("%w (kind %s)", ErrMissingAPIVersion, tm.Kind)))
	case strings.HasSuffix(tm.Kind, "List"):
		l.list(p, tm, depth)
	case tm.APIVersion == "v1" && tm.Kind == "Service":
		l.service(p, tm)
	case tm.APIVersion == discoveryv1.SchemeGroupVersion.String() && tm.Kind == "EndpointSlice":
		l.slice(p, tm)
	default:
		l.skip(p, tm, objectName(p.data), "not a v1 Service or a discovery.k8s.io/v1 EndpointSlice")
	}
}

// objectShape reports whether a JSON value is null (an empty document), or
// an error when it is not an object.
func objectShape(j []byte) (null bool, err error) {
	t := bytes.TrimSpace(j)
	switch {
	case len(t) == 0 || bytes.Equal(t, []byte("null")):
		return true, nil
	case t[0] == '{':
		return false, nil
	case t[0] == '[':
		return false, fmt.Errorf("%w: got a list, want a mapping with kind and apiVersion", ErrNotObject)
	case t[0] == '"':
		return false, fmt.Errorf("%w: got a string, want a mapping with kind and apiVersion", ErrNotObject)
	}
	return false, fmt.Errorf("%w: got %.40s, want a mapping with kind and apiVersion", ErrNotObject, t)
}

func (l *loader) list(p piece, tm typeMeta, depth int) {
	if depth >= maxListDepth {
		l.fail(p.docError(fmt.Errorf("%w: more than %d", ErrListTooDeep, maxListDepth)))
		return
	}
	var list struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := kjson.Unmarshal(p.data, &list); err != nil {
		l.fail(l.decodeError(p, err, &list))
		return
	}
	var def typeMeta // items of a List carry their own kind
	if tm.Kind != "List" {
		def = typeMeta{APIVersion: tm.APIVersion, Kind: strings.TrimSuffix(tm.Kind, "List")}
	}
	for i, item := range list.Items {
		l.value(p.item(i, item), def, depth+1)
	}
}

func (l *loader) service(p piece, tm typeMeta) {
	in, name := readObject[corev1.Service](l, p)
	if in == nil {
		return
	}
	l.res.APIServices = append(l.res.APIServices, in)
	svc, err := ServiceFromAPI(in)
	if l.converted(p, tm, name, err, err == nil && svc.Type == servicemodel.TypeExternalName, "type ExternalName: proxies ignore it") {
		l.res.Services = append(l.res.Services, svc)
	}
}

func (l *loader) slice(p piece, tm typeMeta) {
	in, name := readObject[discoveryv1.EndpointSlice](l, p)
	if in == nil {
		return
	}
	l.res.APISlices = append(l.res.APISlices, in)
	es, err := SliceFromAPI(in)
	if l.converted(p, tm, name, err, err == nil && es == nil, "addressType FQDN: proxies ignore it") {
		l.res.Slices = append(l.res.Slices, es)
	}
}

// apiObject is a pointer to a Kubernetes API type.
type apiObject[T any] interface {
	*T
	metav1.Object
}

// readObject decodes p into a new T and gives it the default namespace when
// it has none. It returns nil when p does not decode, after reporting it.
func readObject[T any, P apiObject[T]](l *loader, p piece) (P, types.NamespacedName) {
	in := P(new(T))
	if err := kjson.Unmarshal(p.data, in); err != nil {
		l.fail(l.decodeError(p, err, P(new(T))))
		return nil, types.NamespacedName{}
	}
	if in.GetNamespace() == "" {
		in.SetNamespace(l.namespace)
	}
	return in, types.NamespacedName{Namespace: in.GetNamespace(), Name: in.GetName()}
}

// converted records a conversion's failure or a deliberately ignored
// object, and reports whether the object is to be kept.
func (l *loader) converted(p piece, tm typeMeta, name types.NamespacedName, err error, ignored bool, reason string) bool {
	switch {
	case err != nil:
		l.fail(&ObjectError{Source: p.Source, Kind: tm.Kind, Name: name, Err: err})
	case ignored:
		l.skip(p, tm, name, reason)
	default:
		return true
	}
	return false
}

func (l *loader) skip(p piece, tm typeMeta, name types.NamespacedName, reason string) {
	l.res.Skipped = append(l.res.Skipped, Skip{Source: p.Source, APIVersion: tm.APIVersion, Kind: tm.Kind, Name: name, Reason: reason})
}

// objectName reads metadata.namespace and name, as far as they decode.
func objectName(j []byte) types.NamespacedName {
	var obj struct {
		Metadata struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
	}
	_ = kjson.Unmarshal(j, &obj) // a name is only a label for the report
	return types.NamespacedName{Namespace: obj.Metadata.Namespace, Name: obj.Metadata.Name}
}

// decodeError reports a value that does not decode into its Go type (a
// string where a number belongs), with its field path and line when they can
// be found: encoding/json, unlike the case-sensitive decoder, gives the
// offset of the value, which leads to its path and so to its YAML node.
func (l *loader) decodeError(p piece, err error, into any) *DocError {
	de := p.docError(err)
	var te *json.UnmarshalTypeError
	if !errors.As(json.Unmarshal(p.data, into), &te) {
		return de
	}
	path := jsonPathAt(p.data, te.Offset)
	if len(path) == 0 {
		return de
	}
	de.Field = pathString(path)
	if n := p.doc.lineOf(append(slices.Clone(p.prefix), path...)); n > 0 {
		de.ErrLine = n
	}
	return de
}
