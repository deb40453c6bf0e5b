package kube_test

import (
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/proxykit/proxykit/servicemodel"
	"github.com/proxykit/proxykit/servicemodel/kube"
)

func ExampleLoad() {
	const input = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  clusterIP: 10.96.0.10
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-1
  namespace: demo
  labels: {kubernetes.io/service-name: web}
addressType: IPv4
ports: [{name: http, port: 8080}]
endpoints:
- addresses: [10.244.1.5]
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: demo}
spec:
  ports: [{port: 70000}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: demo}
`
	res, err := kube.Load(strings.NewReader(input))
	var oe *kube.ObjectError
	if errors.As(err, &oe) {
		fmt.Println("error:", err)
	}
	for _, s := range res.Skipped {
		fmt.Println(s)
	}
	snap, _ := res.Snapshot()
	for _, name := range snap.PortNames() {
		for _, ep := range snap.Endpoints(name, servicemodel.IPv4) {
			fmt.Println(name, "->", ep.AddrPort())
		}
	}
	// Output:
	// error: document 3 (Service demo/broken): spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive; spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive
	// document 4: v1 ConfigMap demo/settings: skipped: not a v1 Service or a discovery.k8s.io/v1 EndpointSlice
	// demo/web:http -> 10.244.1.5:8080
}

func ExampleNewEventHandler() {
	tracker := servicemodel.NewTracker()
	h := kube.NewEventHandler(tracker, nil, func(err error) { fmt.Println("error:", err) })
	// With client-go: serviceInformer.AddEventHandler(h); sliceInformer.AddEventHandler(h).
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "demo", Name: "web"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.10",
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
	}
	h.OnAdd(svc, true)
	_, changed := tracker.Snapshot()
	fmt.Println("changed:", changed)

	bad := svc.DeepCopy()
	bad.Spec.ClusterIP = "10.96.0.300"
	h.OnUpdate(svc, bad)
	snap, changed := tracker.Snapshot()
	fmt.Println("changed:", changed, "services:", snap.Len())
	// Output:
	// changed: [demo/web:http]
	// error: demo/web: spec.clusterIP: Invalid value: "10.96.0.300": must be a valid IP address or "None"
	// changed: [demo/web:http] services: 0
}
