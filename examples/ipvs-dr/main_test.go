package main

import (
	"context"
	"strings"
	"testing"
)

func runDR(args ...string) (int, string, string) {
	var out, errb strings.Builder
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestPrintBothSides(t *testing.T) {
	code, out, errs := runDR("print", "-vip", "198.51.100.7", "-node", "10.1.0.21", "-node", "10.1.0.22")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"-A -t 198.51.100.7:80 -s rr",
		"-a -t 198.51.100.7:80 -r 10.1.0.21:80 -g -w 1", // DR: the node gets the frame unchanged
		"-a -t 198.51.100.7:80 -r 10.1.0.22:80 -g -w 1",
		"-d 198.51.100.7/32 -p tcp", // the node's rules capture the VIP as an externalIP
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"print", "-vip", "nope"}, {"node", "-endpoint", "10.0.0.1"}} {
		if code, _, errs := runDR(args...); code != exitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}

// Without IPVS (as on a host whose kernel lacks it) the director side says
// so and exits with its own status; with IPVS it would program this
// process's namespace, so the test runs it only where IPVS is missing.
func TestDirectorWithoutIPVS(t *testing.T) {
	code, _, errs := runDR("director", "-netns", "/proc/self/ns/net-does-not-exist")
	if code == exitNoIPVS && !strings.Contains(errs, "no IPVS") {
		t.Fatalf("exit %d without saying why: %q", code, errs)
	}
	if code == exitOK {
		t.Fatal("the director succeeded in a namespace that does not exist")
	}
}
