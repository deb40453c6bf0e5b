package main

import (
	"context"
	"strings"
	"testing"
)

func runProxy(args ...string) (int, string, string) {
	var out, errb strings.Builder
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// The demo serves the sample on loopback end to end: every forwarding
// listener answers from a demo backend, the empty service resets.
func TestDemoEndToEnd(t *testing.T) {
	code, out, errs := runProxy("-demo", "-duration", "2s", "-port-offset", "21000", "-nodeport-offset", "-9000")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	for _, want := range []string{
		"listening TCP 127.1.0.1:21053  demo/dns:dns-tcp  ClusterIP 10.96.0.53:53  rr [127.2.0.",
		"listening UDP 127.1.0.1:21053  demo/dns:dns/UDP",
		"(demo/web:http ClusterIP 10.96.0.10:80): 10.244.",
		"(demo/dns:dns/UDP ClusterIP 10.96.0.53:53): 10.244.1.12:5353: ping",
		"(demo/empty:http ClusterIP 10.96.0.70:80): rejected as planned",
		"(demo/shop:http NodePort *:30080 +localhost): 10.244.",
		"stopped",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "no answer") {
		t.Errorf("a listener did not answer:\n%s", out)
	}
}

func TestFileInputAndBadFlags(t *testing.T) {
	if code, _, _ := runProxy("-port-offset", "70000"); code != 2 {
		t.Errorf("bad -port-offset: exit %d", code)
	}
	if code, _, errs := runProxy("testdata/none.yaml"); code != 1 || !strings.Contains(errs, "none.yaml") {
		t.Errorf("missing file: exit %d, %q", code, errs)
	}
	code, out, errs := runProxy("-duration", "100ms", "-port-offset", "22000", "-nodeport-offset", "-8000", "testdata/web.yaml")
	if code != 0 || !strings.Contains(out, "listening TCP 127.1.0.1:22080  default/web:http  ClusterIP 10.96.5.5:80  rr [10.244.1.5:8080]") {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
}
