package main

import (
	"context"
	"strings"
	"testing"
)

func runRender(args ...string) (int, string, string) {
	var out, errb strings.Builder
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// renderOK runs the command and fails the test unless it succeeds
// without a word on stderr; it returns stdout.
func renderOK(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := runRender(args...)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q:\n%s", code, errs, out)
	}
	return out
}

// wantLines reports every string of want that out lacks.
func wantLines(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func TestSampleAllModes(t *testing.T) {
	out := renderOK(t)
	wantLines(t, out, "######## mode plan", "demo/web:http IPv4", "demo/web:http IPv6", "frontend LoadBalancer 203.0.113.10:80")
}

func TestFamilyAndFlags(t *testing.T) {
	code, out, _ := runRender("-mode", "plan", "-family", "6", "-node-name", "node-b", "-masquerade-all")
	if code != exitOK || strings.Contains(out, " IPv4\n") || !strings.Contains(out, "masquerade all: true") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, `node "node-b"`) {
		t.Error("-node-name ignored")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{{"-family", "5"}, {"-mode", "bogus"}, {"-node-ip", "300.1.1.1"}, {"-cluster-cidr", "10.244.1.0/16"}} {
		if code, _, errs := runRender(args...); code != exitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}

func TestBadInputNamesFileDocumentAndField(t *testing.T) {
	code, out, errs := runRender("-mode", "plan", "testdata/mixed.yaml")
	if code != exitUsage || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want := "testdata/mixed.yaml: document 2 (Service default/web): spec.ports[1].port: Invalid value: 70000"
	if !strings.Contains(errs, want) {
		t.Fatalf("stderr lacks %q:\n%s", want, errs)
	}
	code, out, _ = runRender("-mode", "plan", "-keep-going", "testdata/mixed.yaml")
	if code != exitUsage || !strings.Contains(out, "default/good:http IPv4") || !strings.Contains(out, "10.244.1.5:8080") {
		t.Fatalf("keep-going: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "default/web") {
		t.Fatal("the bad service was rendered")
	}
}

func TestMissingFile(t *testing.T) {
	code, _, errs := runRender("testdata/no-such-file.yaml")
	if code != exitUsage || !strings.Contains(errs, "no-such-file.yaml") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

func TestIPTablesMode(t *testing.T) {
	code, out, errs := runRender("-mode", "iptables")
	if code != exitOK || errs != "" || !strings.HasPrefix(out, "*nat\n") || !strings.Contains(out, "-A KUBE-SERVICES -d 10.96.0.10/32") {
		t.Fatalf("exit %d, stderr %q:\n%s", code, errs, out)
	}
	_, out6, _ := runRender("-mode", "iptables", "-family", "6")
	if !strings.Contains(out6, "fd00:10:96::10/128") || strings.Contains(out6, "10.96.0.10/32") {
		t.Fatalf("-family 6:\n%s", out6)
	}
}
