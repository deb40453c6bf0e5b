package kube

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/servicemodel"
)

func apiSlice() *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web-abc",
			Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr("http"), Protocol: ptr(corev1.ProtocolTCP), Port: ptr(int32(8080))}},
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"10.244.1.5"}}},
	}
}

func modelSlice() *servicemodel.EndpointSlice {
	return &servicemodel.EndpointSlice{
		Service:   types.NamespacedName{Namespace: "default", Name: "web"},
		Name:      "web-abc",
		Family:    servicemodel.IPv4,
		Ports:     []servicemodel.EndpointPort{{Name: "http", Protocol: servicemodel.TCP, Port: 8080}},
		Endpoints: []servicemodel.Endpoint{{Addr: netip.MustParseAddr("10.244.1.5")}},
	}
}

func TestSliceFromAPI(t *testing.T) {
	tests := []struct {
		name string
		in   func(*discoveryv1.EndpointSlice)
		want func(*servicemodel.EndpointSlice)
	}{
		{"plain", func(*discoveryv1.EndpointSlice) {}, func(*servicemodel.EndpointSlice) {}},
		{"IPv6", func(es *discoveryv1.EndpointSlice) {
			es.AddressType = discoveryv1.AddressTypeIPv6
			es.Endpoints[0].Addresses = []string{"fd00::5"}
		}, func(es *servicemodel.EndpointSlice) {
			es.Family = servicemodel.IPv6
			es.Endpoints[0].Addr = netip.MustParseAddr("fd00::5")
		}},
		{"port defaults, and a port without number is skipped", func(es *discoveryv1.EndpointSlice) {
			es.Ports = []discoveryv1.EndpointPort{{Name: ptr("none")}, {Port: ptr(int32(53))}, {Name: ptr("dns"), Protocol: ptr(corev1.ProtocolUDP), Port: ptr(int32(5353))}}
		}, func(es *servicemodel.EndpointSlice) {
			es.Ports = []servicemodel.EndpointPort{{Protocol: servicemodel.TCP, Port: 53}, {Name: "dns", Protocol: servicemodel.UDP, Port: 5353}}
		}},
		{"first address only", func(es *discoveryv1.EndpointSlice) { es.Endpoints[0].Addresses = []string{"10.244.1.5", "10.244.1.6"} },
			func(*servicemodel.EndpointSlice) {}},
		{"conditions, node, zone, hints", func(es *discoveryv1.EndpointSlice) {
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{
				Addresses:  []string{"10.244.2.7"},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr(false), Serving: ptr(true), Terminating: ptr(true)},
				NodeName:   ptr("node-b"),
				Zone:       ptr("zone-b"),
				Hints: &discoveryv1.EndpointHints{ForZones: []discoveryv1.ForZone{{Name: "zone-a"}, {Name: "zone-b"}},
					ForNodes: []discoveryv1.ForNode{{Name: "node-b"}}},
			})
		}, func(es *servicemodel.EndpointSlice) {
			es.Endpoints = append(es.Endpoints, servicemodel.Endpoint{
				Addr:  netip.MustParseAddr("10.244.2.7"),
				Ready: servicemodel.Bool(false), Serving: servicemodel.Bool(true), Terminating: servicemodel.Bool(true),
				NodeName: "node-b", Zone: "zone-b", ForZones: []string{"zone-a", "zone-b"}, ForNodes: []string{"node-b"},
			})
		}},
		{"empty hints", func(es *discoveryv1.EndpointSlice) { es.Endpoints[0].Hints = &discoveryv1.EndpointHints{} },
			func(*servicemodel.EndpointSlice) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, want := apiSlice(), modelSlice()
			tt.in(in)
			tt.want(want)
			got, err := SliceFromAPI(in)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

func TestSliceFromAPIConditionsAreCopied(t *testing.T) {
	in := apiSlice()
	in.Endpoints[0].Conditions.Ready = ptr(true)
	got, err := SliceFromAPI(in)
	require.NoError(t, err)
	*in.Endpoints[0].Conditions.Ready = false
	assert.True(t, *got.Endpoints[0].Ready, "the model must not share the API object's pointers")
	assert.Nil(t, got.Endpoints[0].Serving, "nil stays nil")
}

func TestSliceFromAPIFQDNIgnored(t *testing.T) {
	in := apiSlice()
	in.AddressType = discoveryv1.AddressTypeFQDN
	in.Endpoints[0].Addresses = []string{"db.example.com"}
	got, err := SliceFromAPI(in)
	assert.NoError(t, err)
	assert.Nil(t, got)
}

func TestSliceFromAPIErrors(t *testing.T) {
	tests := []struct {
		name string
		in   func(*discoveryv1.EndpointSlice)
		want []string
	}{
		{"no service label, no name", func(es *discoveryv1.EndpointSlice) { es.Labels, es.Name = nil, "" }, []string{
			`metadata.name: Required value: names the slice`,
			`metadata.labels[kubernetes.io/service-name]: Required value: names the owning service`,
		}},
		{"bad addresses keep their API paths", func(es *discoveryv1.EndpointSlice) {
			es.Endpoints = []discoveryv1.Endpoint{{}, {Addresses: []string{"10.1.1"}}, {Addresses: []string{"fd00::1"}}}
		}, []string{
			`endpoints[0].addresses: Required value: needs at least one address`,
			`endpoints[1].addresses[0]: Invalid value: "10.1.1": must be a valid IP address`,
			`endpoints[2].addresses[0]: Invalid value: "fd00::1": does not match addressType IPv4`,
		}},
		{"bad port after a skipped one keeps its API path", func(es *discoveryv1.EndpointSlice) {
			es.Ports = []discoveryv1.EndpointPort{{Name: ptr("x")}, {Port: ptr(int32(0))}}
		}, []string{
			`ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive`,
		}},
		{"unknown addressType", func(es *discoveryv1.EndpointSlice) { es.AddressType = "IPX" }, []string{
			`addressType: Unsupported value: "IPX": supported values: "IPv4", "IPv6"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := apiSlice()
			tt.in(in)
			got, err := SliceFromAPI(in)
			assert.Nil(t, got)
			msgs := validationMessages(t, err, "EndpointSlice", types.NamespacedName{Namespace: "default", Name: in.Name})
			assert.Equal(t, tt.want, msgs)
		})
	}
}
