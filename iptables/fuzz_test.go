package iptables

import "testing"

func FuzzParse(f *testing.F) {
	f.Add(sampleDump)
	f.Add("*filter\n:X - [0:0]\n-A X -m comment --comment \"a\\\"b\" -j X\nCOMMIT\n")
	f.Add("*nat\n:A - [1:2]\n[3:4] -A A a\"b c\"d \"\" -g A\nCOMMIT")
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseString(IPv4, s)
		if err != nil {
			return
		}
		printed := rs.String()
		again, err := ParseString(IPv4, printed)
		if err != nil {
			t.Fatalf("printed text does not parse: %v\ninput: %q\nprinted: %q", err, s, printed)
		}
		if !again.EqualWithCounters(rs) {
			t.Fatalf("printed text parses differently\ninput: %q\nprinted: %q", s, printed)
		}
		if again.String() != printed {
			t.Fatalf("printing is not stable:\n%q\n%q", printed, again.String())
		}
	})
}
