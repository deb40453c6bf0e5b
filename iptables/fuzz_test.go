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

// FuzzRuleSpec checks that the fast path of rule analysis agrees with the
// general tokenizer whenever it accepts a spec.
func FuzzRuleSpec(f *testing.F) {
	f.Add(`-m comment --comment "ns/svc:http cluster IP" -j KUBE-SVC-X`)
	f.Add(`-j LOG --log-prefix "-j X " -g Y`)
	f.Add(`-m comment --comment a"b c"d -j A`)
	f.Fuzz(func(t *testing.T, spec string) {
		var fast Rule
		if !fast.analyzeFast(spec) {
			return
		}
		toks, _, err := scanAll(spec)
		if err != nil {
			t.Fatalf("fast path accepted %q, tokenizer failed: %v", spec, err)
		}
		args, _ := splitArgs(spec)
		want := Rule{}
		for i := 0; i < len(args); i++ {
			if i+1 >= len(args) || toks[i].quoted || toks[i].odd {
				continue
			}
			switch args[i] {
			case "--comment":
				if want.Comment == "" {
					want.Comment = args[i+1]
				}
				i++
			case "--log-prefix", "--nflog-prefix":
				i++
			case "-j", "--jump", "-g", "--goto":
				want.Target, want.Goto = args[i+1], args[i][1] == 'g' || args[i] == "--goto"
				i++
			}
		}
		if fast.Comment != want.Comment || fast.Target != want.Target || fast.Goto != want.Goto {
			t.Fatalf("%q: fast %q/%q/%v, tokens %q/%q/%v", spec, fast.Comment, fast.Target, fast.Goto, want.Comment, want.Target, want.Goto)
		}
	})
}
