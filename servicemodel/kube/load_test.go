package kube

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/servicemodel"
)

// summary prints what Load returned, one line per object or problem.
func summary(res *LoadResult) []string {
	var out []string
	for _, s := range res.Services {
		out = append(out, "service "+s.Name.String())
	}
	for _, es := range res.Slices {
		out = append(out, "slice "+es.Service.String()+" "+es.Name)
	}
	for _, s := range res.Skipped {
		out = append(out, s.String())
	}
	for _, err := range res.Errors {
		out = append(out, "error "+err.Error())
	}
	return out
}

func loadFile(t *testing.T, name string) (*LoadResult, error) {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	require.NoError(t, err)
	defer f.Close()
	return Load(f)
}

func TestLoadFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"cluster.yaml", []string{
			"service demo/web",
			"service demo/lb",
			"slice demo/web web-v4",
			"document 4: discovery.k8s.io/v1 EndpointSlice demo/db-fqdn: skipped: addressType FQDN: proxies ignore it",
			"document 5: v1 ConfigMap demo/settings: skipped: not a v1 Service or a discovery.k8s.io/v1 EndpointSlice",
			"document 6: v1 Service default/ext: skipped: type ExternalName: proxies ignore it",
		}},
		{"list.json", []string{"service kube-system/dns", "slice kube-system/dns dns-1"}},
		{"servicelist.yaml", []string{"service team/a", "service team/b"}},
		{"stream.json", []string{"service s/a", "slice s/a a-1"}},
		{"broken.yaml", []string{
			"service demo/good",
			"error document 2 (line 6): line 9: yaml: found character that cannot start any token",
			"error document 3 (Service default/web): spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive; " +
				"spec.ports[1].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
			"error document 4 (line 20): line 25: spec.ports[0].port: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32",
			"error document 5 (line 27): apiVersion is not set (kind Service)",
			"error document 6 (line 30): not an object: got a string, want a mapping with kind and apiVersion",
			"error document 7 (line 32): line 35: yaml: found unexpected end of stream",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			res, err := loadFile(t, tt.file)
			require.NotNil(t, res)
			assert.Equal(t, tt.want, summary(res))
			if len(res.Errors) == 0 {
				assert.NoError(t, err)
			} else {
				assert.Equal(t, errors.Join(res.Errors...).Error(), err.Error())
			}
		})
	}
}

func TestLoadConvertsEveryField(t *testing.T) {
	res, err := loadFile(t, "cluster.yaml")
	require.NoError(t, err)
	require.Len(t, res.APIServices, 3, "web, lb and the ExternalName ext")
	require.Len(t, res.APISlices, 2, "web-v4 and the FQDN slice")
	web, lb := res.Services[0], res.Services[1]
	assert.Equal(t, "[10.96.0.10 fd00:96::10]", fmt.Sprint(web.ClusterIPs))
	assert.Equal(t, servicemodel.TargetPort{Name: "http"}, web.Ports[0].TargetPort)
	assert.Equal(t, servicemodel.DefaultAffinityTimeout, web.AffinityTimeout)
	assert.Equal(t, "rr", web.Scheduler)
	assert.Equal(t, servicemodel.PolicyLocal, lb.ExternalTrafficPolicy)
	assert.Equal(t, int32(32000), lb.HealthCheckNodePort)
	assert.Equal(t, "[{198.51.100.1 VIP}]", fmt.Sprint(lb.LoadBalancerIngress))
	assert.Equal(t, "[192.0.2.0/24]", fmt.Sprint(lb.LoadBalancerSourceRanges))

	snap, err := res.Snapshot()
	require.NoError(t, err)
	name := servicemodel.ServicePortName{NamespacedName: types.NamespacedName{Namespace: "demo", Name: "web"}, Port: "http", Protocol: servicemodel.TCP}
	eps := snap.Endpoints(name, servicemodel.IPv4)
	require.Len(t, eps, 2)
	assert.Equal(t, "10.244.1.11:8080", eps[0].AddrPort().String())
	assert.True(t, eps[0].Ready)
	assert.Equal(t, []string{"zone-a"}, eps[0].ForZones)
	assert.Equal(t, []bool{false, true, true}, []bool{eps[1].Ready, eps[1].Serving, eps[1].Terminating})
}

func TestLoadMalformed(t *testing.T) {
	const svc = "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\nspec: {clusterIP: 10.96.9.9, ports: [{port: 80}]}\n"
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty input", "", nil},
		{"only comments and empty documents", "# nothing\n---\n---\n  \n", nil},
		{"null documents", "---\n~\n---\nnull\n", nil},
		{"tab indentation", svc + "---\napiVersion: v1\nkind: Service\nmetadata:\n\tname: x\n", []string{
			"service default/ok",
			"error document 2 (line 6): line 9: yaml: found character that cannot start any token"}},
		{"CRLF and a tab", "apiVersion: v1\r\nkind: Service\r\nmetadata:\r\n\tname: x\r\n", []string{
			"error document 1 (line 1): line 4: yaml: found character that cannot start any token"}},
		{"unterminated quote", "apiVersion: v1\nkind: Service\nmetadata:\n  name: \"open\n", []string{
			"error document 1 (line 1): line 5: yaml: found unexpected end of stream"}},
		{"wrong type in YAML", "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: 80\n  - port: abc\n", []string{
			"error document 1 (line 1): line 7: spec.ports[1].port: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"}},
		{"wrong type in an anchored YAML value", "apiVersion: v1\nkind: Service\nx: &p {port: abc}\nspec:\n  ports: [*p]\n", []string{
			"error document 1 (line 1): line 3: spec.ports[0].port: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"}},
		{"number out of range", "apiVersion: v1\nkind: Service\nspec:\n  ports:\n  - port: 5000000000\n", []string{
			"error document 1 (line 1): line 5: spec.ports[0].port: json: cannot unmarshal number 5000000000 into Go struct field ServicePort.spec.ports.port of type int32"}},
		{"wrong type in JSON", "{\"apiVersion\": \"v1\", \"kind\": \"Service\",\n \"spec\": {\"ports\": [\n  {\"port\": \"abc\"}]}}", []string{
			"error document 1 (line 1): line 3: spec.ports[0].port: json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"}},
		{"kind of the wrong type", "kind: 5\napiVersion: v1\n", []string{
			"error document 1 (line 1): kind: json: cannot unmarshal number into Go struct field TypeMeta.kind of type string"}},
		{"missing kind", "apiVersion: v1\nmetadata: {name: x}\n", []string{"error document 1 (line 1): kind is not set"}},
		{"missing apiVersion", "# c\n\nkind: Service\n", []string{"error document 1 (line 3): apiVersion is not set (kind Service)"}},
		{"scalar document", "42\n", []string{"error document 1 (line 1): not an object: got 42, want a mapping with kind and apiVersion"}},
		{"list document", "- a\n- b\n", []string{"error document 1 (line 1): not an object: got a list, want a mapping with kind and apiVersion"}},
		{"JSON array", "[1, 2]", []string{"error document 1 (line 1): not an object: got a list, want a mapping with kind and apiVersion"}},
		{"control characters", "\x00\x01binary\x02", []string{"error document 1 (line 1): yaml: control characters are not allowed"}},
		{"invalid UTF-8", svc + "---\nkind: Service\napiVersion: v1\nmetadata: {name: \xff\xfe}\n", []string{
			"service default/ok",
			"error document 2 (line 6): line 8: not UTF-8 text: byte 0xff"}},
		{"deeply nested YAML", "a: " + strings.Repeat("[", 20000) + "\n", []string{
			"error document 1 (line 1): yaml: exceeded max depth of 10000"}},
		{"deeply nested JSON", "{\"kind\":" + strings.Repeat("[", 20000), []string{
			"error document 1 (line 1): invalid character '[' exceeded max depth"}},
		{"alias bomb", "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
			"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n" +
			"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n", []string{
			"error document 1 (line 1): yaml: document contains excessive aliasing"}},
		{"broken JSON stream", "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\"}\n{\"kind\": oops}\n" + `{"kind":"Service"}`, []string{
			"document 1: v1 ConfigMap /: skipped: not a v1 Service or a discovery.k8s.io/v1 EndpointSlice",
			"error document 2 (line 2): invalid character 'o' looking for beginning of value"}},
		{"truncated JSON", "{\"apiVersion\":\"v1\",\n\"kind\":\"Service\"", []string{"error document 1 (line 1): line 2: unexpected EOF"}},
		{"items not a list", "apiVersion: v1\nkind: List\nitems: 5\n", []string{
			"error document 1 (line 1): line 3: items: json: cannot unmarshal number into Go struct field .items of type []json.RawMessage"}},
		{"bad List items", "apiVersion: v1\nkind: List\nitems:\n- 5\n- kind: Service\n", []string{
			"error document 1 items[0] (line 1): line 4: not an object: got 5, want a mapping with kind and apiVersion",
			"error document 1 items[1] (line 1): line 5: apiVersion is not set (kind Service)"}},
		{"wrong type in a List item", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n" +
			"- apiVersion: discovery.k8s.io/v1\n  kind: EndpointSlice\n  addressType: IPv4\n  ports:\n  - port: x\n", []string{
			"document 1 items[0]: v1 ConfigMap /: skipped: not a v1 Service or a discovery.k8s.io/v1 EndpointSlice",
			"error document 1 items[1] (line 1): line 10: ports[0].port: json: cannot unmarshal string into Go struct field EndpointPort.ports.port of type int32"}},
		{"document end marker keeps what follows", strings.Replace(svc, "ok", "a", 1) + "...\n" + strings.Replace(svc, "ok", "b", 1), []string{
			"service default/a", "service default/b"}},
		{"content on the separator line", "--- " + strings.ReplaceAll(strings.TrimSpace(svc), "\n", ", ") + "\n", []string{
			"error document 1 (line 1): yaml: mapping values are not allowed in this context"}},
		{"flow mapping on the separator line", "--- {apiVersion: v1, kind: Service, metadata: {name: c}, spec: {ports: [{port: 1}]}}\n", []string{
			"service default/c"}},
		{"not a separator", "---x: 1\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 1}]}\n", []string{
			"service default/s"}},
		{"an invalid object in a List", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata: {name: Bad}\n  spec: {ports: [{port: 1}]}\n", []string{
			"error document 1 items[0] (Service default/Bad): metadata.name: Invalid value: \"Bad\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', " +
				"start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"}},
		{"other apiVersion of a known kind", "apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: k, namespace: kn}\n", []string{
			"document 1: serving.knative.dev/v1 Service kn/k: skipped: not a v1 Service or a discovery.k8s.io/v1 EndpointSlice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(tt.in))
			require.NotNil(t, res)
			assert.Equal(t, tt.want, summary(res))
			assert.Equal(t, len(res.Errors) > 0, err != nil)
		})
	}
}

func TestLoadNestedLists(t *testing.T) {
	nest := func(depth int) string {
		s := `{"apiVersion":"v1","kind":"Service","metadata":{"name":"deep"},"spec":{"ports":[{"port":1}]}}`
		for range depth {
			s = `{"apiVersion":"v1","kind":"List","items":[` + s + `]}`
		}
		return s
	}
	res, err := Load(strings.NewReader(nest(maxListDepth)))
	require.NoError(t, err)
	assert.Equal(t, []string{"service default/deep"}, summary(res))

	res, err = Load(strings.NewReader(nest(maxListDepth + 1)))
	assert.ErrorIs(t, err, ErrListTooDeep)
	assert.Empty(t, res.Services)
}

func TestLoadErrorsAreTyped(t *testing.T) {
	res, err := loadFile(t, "broken.yaml")
	require.Error(t, err)
	var de *DocError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, Source{Doc: 2, Line: 6}, de.Source)
	assert.Equal(t, 9, de.ErrLine)
	var oe *ObjectError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "Service", oe.Kind)
	assert.Equal(t, types.NamespacedName{Namespace: "default", Name: "web"}, oe.Name)
	var ve *servicemodel.ValidationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, "spec.ports[1].port", ve.Errs[0].Field)
	assert.ErrorIs(t, err, ErrMissingAPIVersion)
	assert.ErrorIs(t, err, ErrNotObject)
	assert.Len(t, res.APIServices, 2, "good and web decoded; the others did not")
}

func TestLoadOptions(t *testing.T) {
	in := "apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {ports: [{port: 1}]}\n"
	res, err := LoadOptions{DefaultNamespace: "team"}.Load(strings.NewReader(in))
	require.NoError(t, err)
	assert.Equal(t, []string{"service team/a"}, summary(res))
	assert.Equal(t, "team", res.APIServices[0].Namespace)

	_, err = LoadOptions{MaxBytes: int64(len(in))}.Load(strings.NewReader(in))
	assert.NoError(t, err, "exactly at the cap")
	res, err = LoadOptions{MaxBytes: int64(len(in)) - 1}.Load(strings.NewReader(in))
	assert.ErrorIs(t, err, ErrTooLarge)
	assert.Empty(t, res.Services)
	assert.Equal(t, []error{err}, res.Errors)
}

func TestLoadReaderError(t *testing.T) {
	boom := errors.New("boom")
	res, err := Load(iotest.ErrReader(boom))
	assert.ErrorIs(t, err, boom)
	require.NotNil(t, res)
}
