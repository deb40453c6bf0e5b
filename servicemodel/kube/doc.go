// Package kube converts Kubernetes API objects into proxykit's servicemodel
// and reads them from YAML or JSON as kubectl prints them.
//
// ServiceFromAPI and SliceFromAPI convert one corev1.Service or
// discoveryv1.EndpointSlice. Every problem, whether found while converting
// (an unparseable IP or CIDR) or by servicemodel's validation, is reported in
// one *servicemodel.ValidationError with the field path of the API object.
//
// Load reads a stream of documents: multi-document YAML, JSON objects, and
// Lists (kind List, ServiceList, EndpointSliceList, nested). It returns every
// good object and one error that joins a *DocError for each malformed
// document and an *ObjectError for each object that does not convert, so a
// caller can report everything at once and still use the good objects.
// Input is capped (DefaultMaxBytes). YAML is read as kubectl reads it
// (sigs.k8s.io/yaml): YAML 1.1 scalars, so an unquoted y, n, yes, no, on or
// off is a boolean, and of duplicate keys the last wins.
//
// EventHandler feeds a servicemodel.Tracker from informer events.
package kube
