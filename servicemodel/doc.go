// Package servicemodel is proxykit's pure model of Kubernetes-style Services
// and their endpoints.
//
// A Service carries everything a Kubernetes Service can ask of a proxy
// (cluster IPs in one or two families, ports, node ports, external and load
// balancer IPs, source ranges, session affinity, traffic policies, topology
// distribution) plus load-balancing hints some backends honour (the scheduler
// named by the annotation proxykit.io/scheduler). Endpoints come from
// EndpointSlices with Kubernetes' condition semantics.
//
// A Snapshot is an immutable view of Services and their merged endpoints. A
// Tracker takes informer-style add, update and delete events and yields new
// snapshots together with the ServicePortNames that changed; its cost follows
// the change, not the size of the cluster, because snapshots share unchanged
// parts.
//
// Validate reports every problem of a Service with its field path, in
// apimachinery's field.Error form. An invalid Service is skipped and reported;
// the others are still served.
//
// The package does no I/O and imports no other package of this module.
// Package servicemodel/kube converts Kubernetes API objects and reads YAML.
package servicemodel
