package kube

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/proxykit/proxykit/servicemodel"
)

func apiService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeClusterIP,
			ClusterIP:  "10.96.0.10",
			ClusterIPs: []string{"10.96.0.10"},
			Ports:      []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func modelService() *servicemodel.Service {
	return &servicemodel.Service{
		Name:       types.NamespacedName{Namespace: "default", Name: "web"},
		Type:       servicemodel.TypeClusterIP,
		ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.10")},
		Ports: []servicemodel.ServicePort{{Name: "http", Protocol: servicemodel.TCP, Port: 80,
			TargetPort: servicemodel.TargetPort{Number: 8080}}},
	}
}

func TestServiceFromAPI(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		name string
		in   func(*corev1.Service)
		want func(*servicemodel.Service)
	}{
		{"plain", func(*corev1.Service) {}, func(*servicemodel.Service) {}},
		{"type defaults to ClusterIP", func(s *corev1.Service) { s.Spec.Type = "" }, func(*servicemodel.Service) {}},
		{"NodePort", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.Ports[0].NodePort = 30080
		}, func(s *servicemodel.Service) {
			s.Type = servicemodel.TypeNodePort
			s.Ports[0].NodePort = 30080
		}},
		{"dual-stack clusterIPs", func(s *corev1.Service) {
			s.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::10"}
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
		}, func(s *servicemodel.Service) { s.ClusterIPs = append(s.ClusterIPs, addr("fd00::10")) }},
		{"clusterIP fallback", func(s *corev1.Service) { s.Spec.ClusterIPs = nil }, func(*servicemodel.Service) {}},
		{"no cluster IP yet", func(s *corev1.Service) { s.Spec.ClusterIPs, s.Spec.ClusterIP = nil, "" },
			func(s *servicemodel.Service) { s.ClusterIPs = nil }},
		{"IPv4-mapped IPv6 is IPv4", func(s *corev1.Service) { s.Spec.ClusterIPs, s.Spec.ClusterIP = []string{"::ffff:10.96.0.10"}, "" },
			func(*servicemodel.Service) {}},
		{"headless", func(s *corev1.Service) { s.Spec.ClusterIPs, s.Spec.ClusterIP = []string{"None"}, "None" },
			func(s *servicemodel.Service) { s.ClusterIPs, s.Headless = nil, true }},
		{"headless by clusterIP", func(s *corev1.Service) { s.Spec.ClusterIPs, s.Spec.ClusterIP = nil, "None" },
			func(s *servicemodel.Service) { s.ClusterIPs, s.Headless = nil, true }},
		{"protocol defaults to TCP", func(s *corev1.Service) { s.Spec.Ports[0].Protocol = "" }, func(*servicemodel.Service) {}},
		{"UDP and SCTP", func(s *corev1.Service) {
			s.Spec.Ports[0].Protocol = corev1.ProtocolUDP
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "sctp", Protocol: corev1.ProtocolSCTP, Port: 9, TargetPort: intstr.FromInt32(9)})
		}, func(s *servicemodel.Service) {
			s.Ports[0].Protocol = servicemodel.UDP
			s.Ports = append(s.Ports, servicemodel.ServicePort{Name: "sctp", Protocol: servicemodel.SCTP, Port: 9, TargetPort: servicemodel.TargetPort{Number: 9}})
		}},
		{"named targetPort", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("web") },
			func(s *servicemodel.Service) { s.Ports[0].TargetPort = servicemodel.TargetPort{Name: "web"} }},
		{"unset targetPort is the port", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.IntOrString{} },
			func(s *servicemodel.Service) { s.Ports[0].TargetPort = servicemodel.TargetPort{Number: 80} }},
		{"empty named targetPort is the port", func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("") },
			func(s *servicemodel.Service) { s.Ports[0].TargetPort = servicemodel.TargetPort{Number: 80} }},
		{"externalIPs", func(s *corev1.Service) { s.Spec.ExternalIPs = []string{"192.0.2.1", "2001:db8::1"} },
			func(s *servicemodel.Service) { s.ExternalIPs = []netip.Addr{addr("192.0.2.1"), addr("2001:db8::1")} }},
		{"LoadBalancer ingress with ipMode, hostname skipped", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Spec.Ports[0].NodePort = 30080
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{
				{Hostname: "lb.example.com"},
				{IP: "192.0.2.10", IPMode: ptr(corev1.LoadBalancerIPModeProxy)},
				{IP: "2001:db8::10"},
			}
		}, func(s *servicemodel.Service) {
			s.Type = servicemodel.TypeLoadBalancer
			s.Ports[0].NodePort = 30080
			s.LoadBalancerIngress = []servicemodel.LoadBalancerIngress{{IP: addr("192.0.2.10"), IPMode: servicemodel.IPModeProxy}, {IP: addr("2001:db8::10")}}
		}},
		{"loadBalancerSourceRanges, masked and trimmed", func(s *corev1.Service) {
			s.Spec.LoadBalancerSourceRanges = []string{" 192.0.2.7/24", "2001:db8::/32 "}
			s.Annotations = map[string]string{corev1.AnnotationLoadBalancerSourceRangesKey: "10.0.0.0/8"}
		}, func(s *servicemodel.Service) {
			s.LoadBalancerSourceRanges = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/32")}
		}},
		{"source ranges from the annotation", func(s *corev1.Service) {
			s.Annotations = map[string]string{corev1.AnnotationLoadBalancerSourceRangesKey: " 10.0.0.0/8, ,192.168.0.0/16 "}
		}, func(s *servicemodel.Service) {
			s.LoadBalancerSourceRanges = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.0.0/16")}
		}},
		{"ClientIP affinity default timeout", func(s *corev1.Service) { s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP },
			func(s *servicemodel.Service) { s.AffinityTimeout = servicemodel.DefaultAffinityTimeout }},
		{"ClientIP affinity timeout", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(60))}}
		}, func(s *servicemodel.Service) { s.AffinityTimeout = time.Minute }},
		{"affinity None ignores the config", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityNone
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(60))}}
		}, func(*servicemodel.Service) {}},
		{"traffic policies", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeNodePort
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.InternalTrafficPolicy = ptr(corev1.ServiceInternalTrafficPolicyLocal)
			s.Spec.HealthCheckNodePort = 32000
		}, func(s *servicemodel.Service) {
			s.Type = servicemodel.TypeNodePort
			s.ExternalTrafficPolicy, s.InternalTrafficPolicy = servicemodel.PolicyLocal, servicemodel.PolicyLocal
			s.HealthCheckNodePort = 32000
		}},
		{"legacy Global policy is Cluster", func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = "Global" },
			func(s *servicemodel.Service) { s.ExternalTrafficPolicy = servicemodel.PolicyCluster }},
		{"trafficDistribution, publishNotReadyAddresses, scheduler", func(s *corev1.Service) {
			s.Spec.TrafficDistribution = ptr(corev1.ServiceTrafficDistributionPreferClose)
			s.Spec.PublishNotReadyAddresses = true
			s.Annotations = map[string]string{servicemodel.SchedulerAnnotation: "mh"}
		}, func(s *servicemodel.Service) {
			s.TrafficDistribution = corev1.ServiceTrafficDistributionPreferClose
			s.PublishNotReadyAddresses = true
			s.Scheduler = "mh"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, want := apiService(), modelService()
			tt.in(in)
			tt.want(want)
			got, err := ServiceFromAPI(in)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestServiceFromAPIExternalName(t *testing.T) {
	in := apiService()
	in.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"}
	got, err := ServiceFromAPI(in)
	require.NoError(t, err)
	assert.Equal(t, &servicemodel.Service{Name: types.NamespacedName{Namespace: "default", Name: "web"}, Type: servicemodel.TypeExternalName}, got)
}

func TestServiceFromAPIErrors(t *testing.T) {
	tests := []struct {
		name string
		in   func(*corev1.Service)
		want []string // every error, in order
	}{
		{"bad cluster IPs", func(s *corev1.Service) {
			s.Spec.ClusterIPs, s.Spec.ClusterIP = []string{"10.96.0.300", "fd00::1%eth0"}, ""
		}, []string{
			`spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address or "None"`,
			`spec.clusterIPs[1]: Invalid value: "fd00::1%eth0": must be a valid IP address or "None"`,
		}},
		{"bad clusterIP", func(s *corev1.Service) { s.Spec.ClusterIPs, s.Spec.ClusterIP = nil, "x" }, []string{
			`spec.clusterIP: Invalid value: "x": must be a valid IP address or "None"`,
		}},
		{"clusterIP disagrees with clusterIPs", func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.11" }, []string{
			`spec.clusterIPs[0]: Invalid value: "10.96.0.10": must be the same as spec.clusterIP (10.96.0.11)`,
		}},
		{"ipFamilies disagree", func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, "IPv5"} }, []string{
			`spec.clusterIPs[0]: Invalid value: "10.96.0.10": expected an IPv6 address, as spec.ipFamilies[0] says`,
			`spec.ipFamilies[1]: Unsupported value: "IPv5": supported values: "IPv4", "IPv6"`,
		}},
		{"model error after a dropped entry keeps the API path", func(s *corev1.Service) {
			s.Spec.ExternalIPs = []string{"bogus", "224.0.0.1"}
		}, []string{
			`spec.externalIPs[0]: Invalid value: "bogus": must be a valid IP address`,
			`spec.externalIPs[1]: Invalid value: "224.0.0.1": must be a unicast, non-link-local address`,
		}},
		{"bad ingress IP and ipMode", func(s *corev1.Service) {
			s.Spec.Type = corev1.ServiceTypeLoadBalancer
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "h"}, {IP: "nope"}, {IP: "192.0.2.1", IPMode: ptr(corev1.LoadBalancerIPMode("Teleport"))}}
		}, []string{
			`status.loadBalancer.ingress[1].ip: Invalid value: "nope": must be a valid IP address`,
			`status.loadBalancer.ingress[2].ipMode: Unsupported value: "Teleport": supported values: "VIP", "Proxy"`,
		}},
		{"bad source ranges", func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/33", "10.0.0.1"} }, []string{
			`spec.loadBalancerSourceRanges[0]: Invalid value: "10.0.0.0/33": must be a CIDR, e.g. 192.0.2.0/24`,
			`spec.loadBalancerSourceRanges[1]: Invalid value: "10.0.0.1": must be a CIDR, e.g. 192.0.2.0/24`,
		}},
		{"bad source range annotation", func(s *corev1.Service) {
			s.Annotations = map[string]string{corev1.AnnotationLoadBalancerSourceRangesKey: "10.0.0.0/8,junk"}
		}, []string{
			`metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]: Invalid value: "junk": must be a CIDR, e.g. 192.0.2.0/24`,
		}},
		{"affinity", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(0))}}
		}, []string{
			`spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be between 1 and 86400 seconds`,
		}},
		{"affinity too long (model)", func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptr(int32(86401))}}
		}, []string{
			`spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 86401: must be between 1 and 86400 seconds`,
		}},
		{"unknown affinity", func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" }, []string{
			`spec.sessionAffinity: Unsupported value: "Cookie": supported values: "ClientIP", "None"`,
		}},
		{"model errors: port, protocol, policy, scheduler", func(s *corev1.Service) {
			s.Spec.Ports = append(s.Spec.Ports, corev1.ServicePort{Name: "big", Protocol: "ICMP", Port: 70000})
			s.Spec.ExternalTrafficPolicy = "Nearby"
			s.Annotations = map[string]string{servicemodel.SchedulerAnnotation: "fastest"}
		}, []string{
			`spec.ports[1].protocol: Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"`,
			`spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			`spec.ports[1].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive`,
			`spec.externalTrafficPolicy: Unsupported value: "Nearby": supported values: "Cluster", "Local"`,
			`metadata.annotations[proxykit.io/scheduler]: Invalid value: "fastest": not a known scheduler (rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, mh, fo, ovf, twos, random)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := apiService()
			tt.in(in)
			got, err := ServiceFromAPI(in)
			assert.Nil(t, got)
			msgs := validationMessages(t, err, "Service", types.NamespacedName{Namespace: "default", Name: "web"})
			assert.Equal(t, tt.want, msgs)
		})
	}
}

func TestServiceFromAPINil(t *testing.T) {
	_, err := ServiceFromAPI(nil)
	assert.ErrorIs(t, err, ErrNilObject)
	_, err = SliceFromAPI(nil)
	assert.ErrorIs(t, err, ErrNilObject)
}
