package kube

import (
	"bytes"
	"fmt"
	"testing"
)

// clusterYAML prints n Services, each with one EndpointSlice of ten
// endpoints, as multi-document YAML.
func clusterYAML(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: bench}\n"+
			"spec:\n  clusterIP: 10.96.%d.%d\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n", i, i/250, i%250+1)
		fmt.Fprintf(&b, "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: svc-%d-1\n  namespace: bench\n"+
			"  labels: {kubernetes.io/service-name: svc-%d}\naddressType: IPv4\nports: [{name: http, port: 8080}]\nendpoints:\n", i, i)
		for e := range 10 {
			fmt.Fprintf(&b, "- addresses: [10.%d.%d.%d]\n  conditions: {ready: true}\n  nodeName: node-%d\n", 100+i/65536, i/256%256, e+1, e)
		}
	}
	return b.Bytes()
}

func BenchmarkLoad1kServices(b *testing.B) {
	data := clusterYAML(1000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		res, err := Load(bytes.NewReader(data))
		if err != nil || len(res.Services) != 1000 || len(res.Slices) != 1000 {
			b.Fatalf("%d services, %d slices, %v", len(res.Services), len(res.Slices), err)
		}
	}
}
