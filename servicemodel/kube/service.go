package kube

import (
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/proxykit/proxykit/servicemodel"
)

// legacyPolicyGlobal is the pre-1.14 spelling of externalTrafficPolicy Cluster.
const legacyPolicyGlobal = "Global"

// ServiceFromAPI converts a Service.
//
// An ExternalName Service converts to a Service with only Name and Type set,
// and no error; servicemodel.Tracker treats it as deleted.
//
// Fields follow the API server's defaults: type ClusterIP, protocol TCP, an
// unset targetPort is the port number, externalTrafficPolicy "Global" means
// Cluster, ClientIP affinity without timeoutSeconds gets
// servicemodel.DefaultAffinityTimeout, clusterIPs falls back to clusterIP,
// and "None" means headless.
// loadBalancerSourceRanges falls back to the annotation
// service.beta.kubernetes.io/load-balancer-source-ranges (comma-separated)
// when the field is empty. Ingress entries without an IP (hostname only) are
// skipped. ipFamilies is only checked against the cluster IPs.
//
// On any problem it returns nil and a *servicemodel.ValidationError (Kind
// "Service") that lists every problem with the field path of the API object:
// those found while converting (an unparseable IP or CIDR) and those of
// servicemodel.Validate.
func ServiceFromAPI(in *corev1.Service) (*servicemodel.Service, error) {
	if in == nil {
		return nil, ErrNilObject
	}
	name := types.NamespacedName{Namespace: in.Namespace, Name: in.Name}
	typ := servicemodel.ServiceType(in.Spec.Type)
	if typ == "" {
		typ = servicemodel.TypeClusterIP
	}
	if typ == servicemodel.TypeExternalName {
		return &servicemodel.Service{Name: name, Type: typ}, nil
	}
	c := newConverter()
	spec := field.NewPath("spec")
	s := &servicemodel.Service{
		Name:                     name,
		Type:                     typ,
		Ports:                    convertServicePorts(in.Spec.Ports),
		ExternalIPs:              c.addrs("spec.externalIPs", spec.Child("externalIPs"), in.Spec.ExternalIPs),
		LoadBalancerIngress:      c.ingress(in.Status.LoadBalancer.Ingress),
		LoadBalancerSourceRanges: c.sourceRanges(in),
		ExternalTrafficPolicy:    externalPolicy(in.Spec.ExternalTrafficPolicy),
		HealthCheckNodePort:      in.Spec.HealthCheckNodePort,
		PublishNotReadyAddresses: in.Spec.PublishNotReadyAddresses,
		Scheduler:                in.Annotations[servicemodel.SchedulerAnnotation],
	}
	c.clusterIPs(s, &in.Spec, spec)
	c.affinity(s, &in.Spec, spec)
	if p := in.Spec.InternalTrafficPolicy; p != nil {
		s.InternalTrafficPolicy = servicemodel.TrafficPolicy(*p)
	}
	if d := in.Spec.TrafficDistribution; d != nil {
		s.TrafficDistribution = *d
	}
	if err := c.result("Service", name, servicemodel.Validate(s)); err != nil {
		return nil, err
	}
	return s, nil
}

func externalPolicy(p corev1.ServiceExternalTrafficPolicy) servicemodel.TrafficPolicy {
	if p == legacyPolicyGlobal {
		return servicemodel.PolicyCluster
	}
	return servicemodel.TrafficPolicy(p)
}

// clusterIPs sets ClusterIPs and Headless from clusterIPs, or clusterIP when
// clusterIPs is empty, and checks them against clusterIP and ipFamilies.
func (c *converter) clusterIPs(s *servicemodel.Service, in *corev1.ServiceSpec, spec *field.Path) {
	ips, p := in.ClusterIPs, spec.Child("clusterIPs")
	single := len(ips) == 0
	if single && in.ClusterIP != "" {
		ips = []string{in.ClusterIP}
	}
	if !single && in.ClusterIP != "" && in.ClusterIP != ips[0] {
		c.errs = append(c.errs, field.Invalid(p.Index(0), ips[0], "must be the same as spec.clusterIP ("+in.ClusterIP+")"))
	}
	for i, raw := range ips {
		at := p.Index(i)
		if single {
			at = spec.Child("clusterIP")
		}
		if raw == corev1.ClusterIPNone {
			s.Headless = true
			continue
		}
		a, ok := parseIP(raw)
		if !ok {
			c.errs = append(c.errs, field.Invalid(at, raw, `must be a valid IP address or "None"`))
			continue
		}
		if i < len(in.IPFamilies) && servicemodel.FamilyOf(a) != servicemodel.IPFamily(in.IPFamilies[i]) {
			c.errs = append(c.errs, field.Invalid(at, raw, "expected an "+string(in.IPFamilies[i])+
				" address, as spec.ipFamilies["+itoa(i)+"] says"))
		}
		s.ClusterIPs = append(s.ClusterIPs, a)
		c.remap.add("spec.clusterIPs", at)
	}
	for i, f := range in.IPFamilies {
		if f != corev1.IPv4Protocol && f != corev1.IPv6Protocol {
			c.errs = append(c.errs, field.NotSupported(spec.Child("ipFamilies").Index(i), f, []string{"IPv4", "IPv6"}))
		}
	}
}

func convertServicePorts(in []corev1.ServicePort) []servicemodel.ServicePort {
	out := make([]servicemodel.ServicePort, 0, len(in))
	for _, p := range in {
		sp := servicemodel.ServicePort{
			Name:     p.Name,
			Protocol: protocol(p.Protocol),
			Port:     p.Port,
			NodePort: p.NodePort,
		}
		switch {
		case p.TargetPort.Type == intstr.String && p.TargetPort.StrVal != "":
			sp.TargetPort.Name = p.TargetPort.StrVal
		case p.TargetPort.Type == intstr.Int && p.TargetPort.IntVal != 0:
			sp.TargetPort.Number = p.TargetPort.IntVal
		default: // unset: the API server defaults it to the port
			sp.TargetPort.Number = p.Port
		}
		out = append(out, sp)
	}
	return out
}

func protocol(p corev1.Protocol) servicemodel.Protocol {
	if p == "" {
		return servicemodel.TCP
	}
	return servicemodel.Protocol(p)
}

// ingress converts the load balancer ingress IPs; entries without an IP
// (hostname only) are skipped.
func (c *converter) ingress(in []corev1.LoadBalancerIngress) []servicemodel.LoadBalancerIngress {
	p := field.NewPath("status", "loadBalancer", "ingress")
	var out []servicemodel.LoadBalancerIngress
	for i, ing := range in {
		if ing.IP == "" {
			continue
		}
		a, ok := parseIP(ing.IP)
		if !ok {
			c.errs = append(c.errs, field.Invalid(p.Index(i).Child("ip"), ing.IP, "must be a valid IP address"))
			continue
		}
		lb := servicemodel.LoadBalancerIngress{IP: a}
		if ing.IPMode != nil {
			lb.IPMode = servicemodel.IPMode(*ing.IPMode)
		}
		out = append(out, lb)
		c.remap.add("status.loadBalancer.ingress", p.Index(i))
	}
	return out
}

// sourceRanges reads spec.loadBalancerSourceRanges, or the annotation when
// the field is empty. Empty entries of the annotation are ignored.
func (c *converter) sourceRanges(in *corev1.Service) []netip.Prefix {
	ranges := in.Spec.LoadBalancerSourceRanges
	var p *field.Path
	if len(ranges) == 0 {
		v := strings.TrimSpace(in.Annotations[corev1.AnnotationLoadBalancerSourceRangesKey])
		if v == "" {
			return nil
		}
		ranges = strings.Split(v, ",")
		p = field.NewPath("metadata", "annotations").Key(corev1.AnnotationLoadBalancerSourceRangesKey)
	}
	var out []netip.Prefix
	for i, r := range ranges {
		at := p
		if at == nil {
			at = field.NewPath("spec", "loadBalancerSourceRanges").Index(i)
		} else if strings.TrimSpace(r) == "" {
			continue
		}
		pfx, ok := parseCIDR(r)
		if !ok {
			c.errs = append(c.errs, field.Invalid(at, r, "must be a CIDR, e.g. 192.0.2.0/24"))
			continue
		}
		out = append(out, pfx)
		c.remap.add("spec.loadBalancerSourceRanges", at)
	}
	return out
}

// affinity sets AffinityTimeout for ClientIP session affinity.
func (c *converter) affinity(s *servicemodel.Service, in *corev1.ServiceSpec, spec *field.Path) {
	switch in.SessionAffinity {
	case "", corev1.ServiceAffinityNone:
		return
	case corev1.ServiceAffinityClientIP:
	default:
		c.errs = append(c.errs, field.NotSupported(spec.Child("sessionAffinity"), in.SessionAffinity,
			[]string{string(corev1.ServiceAffinityClientIP), string(corev1.ServiceAffinityNone)}))
		return
	}
	s.AffinityTimeout = servicemodel.DefaultAffinityTimeout
	cfg := in.SessionAffinityConfig
	if cfg == nil || cfg.ClientIP == nil || cfg.ClientIP.TimeoutSeconds == nil {
		return
	}
	t := *cfg.ClientIP.TimeoutSeconds
	if t <= 0 { // the model reads zero as "no affinity", so catch it here
		c.errs = append(c.errs, field.Invalid(spec.Child("sessionAffinityConfig", "clientIP", "timeoutSeconds"), t,
			"must be between 1 and 86400 seconds"))
		return
	}
	s.AffinityTimeout = time.Duration(t) * time.Second
}
