package servicemodel

import (
	"net/netip"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidationError reports every problem found in one object, each with its
// field path. Inspect it with errors.As.
type ValidationError struct {
	Kind string // "Service" or "EndpointSlice"
	Name types.NamespacedName
	Errs field.ErrorList
}

// Error prints "namespace/name: path: problem" for each problem, joined by "; ".
func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Errs))
	for _, fe := range e.Errs {
		parts = append(parts, fe.Error())
	}
	return e.Name.String() + ": " + strings.Join(parts, "; ")
}

// MaxAffinityTimeoutSeconds is Kubernetes' upper bound for
// sessionAffinityConfig.clientIP.timeoutSeconds.
const MaxAffinityTimeoutSeconds = 86400

// KnownSchedulers lists the scheduler names the proxykit.io/scheduler
// annotation may carry: the IPVS schedulers, plus random.
var knownSchedulers = map[string]bool{
	"rr": true, "wrr": true, "lc": true, "wlc": true, "lblc": true, "lblcr": true,
	"dh": true, "sh": true, "sed": true, "nq": true, "mh": true, "fo": true,
	"ovf": true, "twos": true, "random": true,
}

// IsKnownScheduler reports whether name is a scheduler proxykit knows.
func IsKnownScheduler(name string) bool { return knownSchedulers[name] }

// Validate returns every problem of s, each with its field path, or nil.
func Validate(s *Service) field.ErrorList {
	var errs field.ErrorList
	meta := field.NewPath("metadata")
	for _, msg := range validation.IsDNS1123Label(s.Name.Namespace) {
		errs = append(errs, field.Invalid(meta.Child("namespace"), s.Name.Namespace, msg))
	}
	for _, msg := range validation.IsDNS1035Label(s.Name.Name) {
		errs = append(errs, field.Invalid(meta.Child("name"), s.Name.Name, msg))
	}
	spec := field.NewPath("spec")
	switch s.Type {
	case TypeClusterIP, TypeNodePort, TypeLoadBalancer:
	default:
		errs = append(errs, field.NotSupported(spec.Child("type"), s.Type,
			[]string{string(TypeClusterIP), string(TypeNodePort), string(TypeLoadBalancer)}))
	}
	errs = append(errs, validateClusterIPs(s, spec)...)
	errs = append(errs, validatePorts(s, spec.Child("ports"))...)
	for i, ip := range s.ExternalIPs {
		errs = append(errs, validateUnicast(spec.Child("externalIPs").Index(i), ip)...)
	}
	ingress := field.NewPath("status", "loadBalancer", "ingress")
	for i, in := range s.LoadBalancerIngress {
		errs = append(errs, validateUnicast(ingress.Index(i).Child("ip"), in.IP)...)
		if in.IPMode != "" && in.IPMode != IPModeVIP && in.IPMode != IPModeProxy {
			errs = append(errs, field.NotSupported(ingress.Index(i).Child("ipMode"), in.IPMode, []string{string(IPModeVIP), string(IPModeProxy)}))
		}
	}
	for i, p := range s.LoadBalancerSourceRanges {
		switch {
		case !p.IsValid():
			errs = append(errs, field.Invalid(spec.Child("loadBalancerSourceRanges").Index(i), p.String(), "must be a CIDR"))
		case p != p.Masked() || p.Addr().Is4In6():
			errs = append(errs, field.Invalid(spec.Child("loadBalancerSourceRanges").Index(i), p.String(), "must be a network address, e.g. "+p.Masked().String()))
		}
	}
	errs = append(errs, validatePolicies(s, spec)...)
	return errs
}

func validateClusterIPs(s *Service, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	p := spec.Child("clusterIPs")
	if s.Headless && len(s.ClusterIPs) > 0 {
		errs = append(errs, field.Invalid(p, "None", "a headless service has no other cluster IP"))
	}
	if len(s.ClusterIPs) > 2 {
		errs = append(errs, field.TooMany(p, len(s.ClusterIPs), 2))
	}
	seen := map[IPFamily]bool{}
	for i, ip := range s.ClusterIPs {
		errs = append(errs, validateUnicast(p.Index(i), ip)...)
		if ip.IsValid() {
			if f := FamilyOf(ip); seen[f] {
				errs = append(errs, field.Duplicate(p.Index(i), ip.String()+" ("+string(f)+" twice)"))
			} else {
				seen[f] = true
			}
		}
	}
	if s.Type != TypeClusterIP && s.Headless {
		errs = append(errs, field.Invalid(spec.Child("clusterIP"), "None", "may only be None for type ClusterIP"))
	}
	return errs
}

func validateUnicast(p *field.Path, ip netip.Addr) field.ErrorList {
	switch {
	case !ip.IsValid():
		return field.ErrorList{field.Required(p, "must be a valid IP address")}
	case ip.IsUnspecified(), ip.IsMulticast(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return field.ErrorList{field.Invalid(p, ip.String(), "must be a unicast, non-link-local address")}
	case ip.Is4In6() || ip.Zone() != "":
		return field.ErrorList{field.Invalid(p, ip.String(), "must be a plain IPv4 or IPv6 address (no IPv4-mapped form, no zone)")}
	}
	return nil
}

func validatePorts(s *Service, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(s.Ports) == 0 && !s.Headless {
		errs = append(errs, field.Required(p, "a service that is not headless needs at least one port"))
	}
	names := map[string]bool{}
	keys := map[string]bool{}
	for i, port := range s.Ports {
		pp := p.Index(i)
		if port.Name == "" && len(s.Ports) > 1 {
			errs = append(errs, field.Required(pp.Child("name"), "required when a service has more than one port"))
		}
		if port.Name != "" {
			for _, msg := range validation.IsDNS1123Label(port.Name) {
				errs = append(errs, field.Invalid(pp.Child("name"), port.Name, msg))
			}
			if names[port.Name] {
				errs = append(errs, field.Duplicate(pp.Child("name"), port.Name))
			}
			names[port.Name] = true
		}
		switch port.Protocol {
		case TCP, UDP, SCTP:
		default:
			errs = append(errs, field.NotSupported(pp.Child("protocol"), port.Protocol, []string{string(TCP), string(UDP), string(SCTP)}))
		}
		errs = append(errs, validatePortNum(pp.Child("port"), port.Port, false)...)
		if key := string(port.Protocol) + "/" + strconv.Itoa(int(port.Port)); keys[key] {
			errs = append(errs, field.Duplicate(pp, key))
		} else {
			keys[key] = true
		}
		errs = append(errs, validateTargetPort(pp.Child("targetPort"), port.TargetPort)...)
		errs = append(errs, validatePortNum(pp.Child("nodePort"), port.NodePort, true)...)
		if port.NodePort != 0 && s.Type == TypeClusterIP {
			errs = append(errs, field.Forbidden(pp.Child("nodePort"), "may not be used when type is ClusterIP"))
		}
	}
	return errs
}

func validatePortNum(p *field.Path, n int32, zeroOK bool) field.ErrorList {
	if zeroOK && n == 0 {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortNum(int(n)) {
		errs = append(errs, field.Invalid(p, n, msg))
	}
	return errs
}

func validateTargetPort(p *field.Path, t TargetPort) field.ErrorList {
	if t.Name != "" {
		var errs field.ErrorList
		for _, msg := range validation.IsValidPortName(t.Name) {
			errs = append(errs, field.Invalid(p, t.Name, msg))
		}
		return errs
	}
	return validatePortNum(p, t.Number, false)
}

func validatePolicies(s *Service, spec *field.Path) field.ErrorList {
	var errs field.ErrorList
	policies := []string{string(PolicyCluster), string(PolicyLocal)}
	if s.ExternalTrafficPolicy != "" && s.ExternalTrafficPolicy != PolicyCluster && s.ExternalTrafficPolicy != PolicyLocal {
		errs = append(errs, field.NotSupported(spec.Child("externalTrafficPolicy"), s.ExternalTrafficPolicy, policies))
	}
	if s.InternalTrafficPolicy != "" && s.InternalTrafficPolicy != PolicyCluster && s.InternalTrafficPolicy != PolicyLocal {
		errs = append(errs, field.NotSupported(spec.Child("internalTrafficPolicy"), s.InternalTrafficPolicy, policies))
	}
	if s.AffinityTimeout < 0 || s.AffinityTimeout.Seconds() > MaxAffinityTimeoutSeconds || (s.AffinityTimeout > 0 && s.AffinityTimeout.Seconds() < 1) {
		errs = append(errs, field.Invalid(spec.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), int64(s.AffinityTimeout.Seconds()),
			"must be between 1 and 86400 seconds"))
	}
	errs = append(errs, validatePortNum(spec.Child("healthCheckNodePort"), s.HealthCheckNodePort, true)...)
	if s.Scheduler != "" && !IsKnownScheduler(s.Scheduler) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "annotations").Key(SchedulerAnnotation), s.Scheduler,
			"not a known scheduler (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos, random)"))
	}
	return errs
}

// ValidateSlice returns every problem of an EndpointSlice, or nil.
func ValidateSlice(es *EndpointSlice) field.ErrorList {
	var errs field.ErrorList
	if es.Service.Name == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "labels").Key("kubernetes.io/service-name"), "names the owning service"))
	}
	if es.Family != IPv4 && es.Family != IPv6 {
		errs = append(errs, field.NotSupported(field.NewPath("addressType"), es.Family, []string{string(IPv4), string(IPv6)}))
	}
	for i, port := range es.Ports {
		errs = append(errs, validatePortNum(field.NewPath("ports").Index(i).Child("port"), port.Port, false)...)
	}
	familyOK := es.Family == IPv4 || es.Family == IPv6
	for i, ep := range es.Endpoints {
		p := field.NewPath("endpoints").Index(i).Child("addresses").Index(0)
		if !ep.Addr.IsValid() {
			errs = append(errs, field.Required(p, "must be a valid IP address"))
		} else if familyOK && FamilyOf(ep.Addr) != es.Family {
			errs = append(errs, field.Invalid(p, ep.Addr.String(), "does not match addressType "+string(es.Family)))
		}
	}
	return errs
}
