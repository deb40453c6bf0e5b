package iptables

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// restoreTest runs "<variant>-restore --test" on text inside a fresh netns.
func restoreTest(t *testing.T, run Runner, v Variant, f Family, text []byte) error {
	t.Helper()
	_, stderr, err := run(context.Background(), Tool(v, f, "-restore"), []string{"--test"}, bytes.NewReader(text))
	if err != nil {
		return newRestoreError(Tool(v, f, "-restore"), textInput(text), stderr, err)
	}
	return nil
}

// TestPrintedAcceptedByRestore: the printed kube-proxy-shaped dump, an IPv6
// variant and a Diff payload pass iptables-restore --test, and every corpus
// dump prints to text that --test accepts exactly when it accepts the
// original (some dumps name ipsets or extensions this machine lacks).
func TestPrintedAcceptedByRestore(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			needVariant(t, v)
			run := NetNSRunner(newNetNS(t))
			rs := mustParse(t, kubeDump(50, 3))
			if err := restoreTest(t, run, v, IPv4, rs.Bytes()); err != nil {
				t.Fatalf("kube dump: %v", err)
			}
			v6 := strings.NewReplacer("10.96.0.", "fd00:10:96::", "10.128.0.", "fd00:10:244:1::", "/32", "/128", "10.0.0.0/8", "fd00::/8").Replace(kubeDump(5, 2))
			rs6, err := ParseString(IPv6, v6)
			if err != nil {
				t.Fatal(err)
			}
			if err := restoreTest(t, run, v, IPv6, rs6.Bytes()); err != nil {
				t.Fatalf("IPv6 dump: %v", err)
			}
			p, err := Diff(NewRuleset(IPv4), rs, kube)
			if err != nil {
				t.Fatal(err)
			}
			if err := restoreTest(t, run, v, IPv4, p.Bytes()); err != nil {
				t.Fatalf("payload: %v", err)
			}
			corpusAccepted(t, run, v)
		})
	}
}

func corpusAccepted(t *testing.T, run Runner, v Variant) {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	accepted := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := Parse(familyOf(file), data)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		origErr := restoreTest(t, run, v, rs.Family, data)
		printedErr := restoreTest(t, run, v, rs.Family, rs.Bytes())
		if (origErr == nil) != (printedErr == nil) {
			t.Errorf("%s: original: %v; printed: %v", filepath.Base(file), origErr, printedErr)
		}
		if origErr == nil {
			accepted++
		}
	}
	t.Logf("%s: %d of %d corpus dumps accepted by --test, printed forms agree", v, accepted, len(files))
}
