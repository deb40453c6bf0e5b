package iptables

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir holds real iptables-save dumps collected for the project; it is
// outside the repository, so the test skips when it is absent.
const corpusDir = "../../shared/corpus/iptables"

func corpusFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.txt"))
	if len(files) == 0 {
		t.Skipf("no corpus at %s", corpusDir)
	}
	return files
}

func familyOf(name string) Family {
	if strings.Contains(name, "ip6tables") || strings.Contains(name, "-v6-") {
		return IPv6
	}
	return IPv4
}

func TestCorpus(t *testing.T) {
	for _, file := range corpusFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := Parse(familyOf(file), data)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if rs.NumRules() == 0 && !strings.Contains(string(data), "-A ") {
				t.Log("no rules")
			}
			printed := rs.Bytes()
			again, err := Parse(rs.Family, printed)
			if err != nil {
				t.Fatalf("re-parse of printed text: %v\n%s", err, printed)
			}
			if !again.EqualWithCounters(rs) {
				t.Fatalf("printed text parses to a different ruleset")
			}
			if got, want := normalizeDump(t, string(printed)), normalizeDump(t, string(data)); got != want {
				t.Fatalf("printed text is not equivalent to the input:\n got: %s\nwant: %s", firstDiff(got, want), firstDiff(want, got))
			}
		})
	}
}

// normalizeDump reduces iptables-save text to what iptables-restore reads:
// no comment or blank lines, each line as its list of arguments.
func normalizeDump(t *testing.T, s string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		args, err := splitArgs(line)
		if err != nil {
			t.Fatalf("normalize %q: %v", line, err)
		}
		b.WriteString(strings.Join(args, "\x1f"))
		b.WriteByte('\n')
	}
	return b.String()
}

// firstDiff returns a's text from the first line where it differs from b.
func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range al {
		if i >= len(bl) || al[i] != bl[i] {
			return strings.ReplaceAll(al[i], "\x1f", " ")
		}
	}
	return "(prefix)"
}
