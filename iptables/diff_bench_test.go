package iptables

import (
	"strings"
	"testing"
)

// oneEndpointChange returns a copy of rs (a kubeDump) in which the first
// endpoint of service 0 is replaced: its KUBE-SVC chain is rewritten, one
// KUBE-SEP chain added and one removed. It also returns those chains.
func oneEndpointChange(tb testing.TB, rs *Ruleset) (*Ruleset, []ChainRef) {
	tb.Helper()
	des := rs.Clone()
	nat := des.Table(TableNat)
	name := svcName(0)
	svc := nat.Chain(chainName("KUBE-SVC-", name))
	oldSep := chainName("KUBE-SEP-", name+podIP(0))
	newIP := "10.200.0.1"
	newSep := chainName("KUBE-SEP-", name+newIP)
	rules := make([]Rule, svc.NumRules())
	for i, r := range svc.Rules() {
		if r.Target == oldSep {
			var err error
			if r, err = ParseRule(svc.Name, strings.NewReplacer(oldSep, newSep, podIP(0), newIP).Replace(r.Spec)); err != nil {
				tb.Fatal(err)
			}
		}
		rules[i] = r
	}
	nat.SetChain(NewChain(svc.Name, rules...))
	var sepRules []Rule
	for _, r := range nat.Chain(oldSep).Rules() {
		nr, err := ParseRule(newSep, strings.ReplaceAll(r.Spec, podIP(0), newIP))
		if err != nil {
			tb.Fatal(err)
		}
		sepRules = append(sepRules, nr)
	}
	nat.SetChain(NewChain(newSep, sepRules...))
	nat.DeleteChain(oldSep)
	return des, []ChainRef{{TableNat, svc.Name}, {TableNat, oldSep}, {TableNat, newSep}}
}

func TestOneEndpointChangeDiff(t *testing.T) {
	cur := mustParse(t, kubeDump(50, 4))
	des, changed := oneEndpointChange(t, cur)
	full, err := Diff(cur, des, kube)
	if err != nil {
		t.Fatal(err)
	}
	hinted, err := DiffChanged(cur, des, kube, changed)
	if err != nil {
		t.Fatal(err)
	}
	if string(full.Bytes()) != string(hinted.Bytes()) {
		t.Fatalf("Diff:\n%s\nDiffChanged:\n%s", full.Bytes(), hinted.Bytes())
	}
	if strings.Contains(string(full.Bytes()), "KUBE-SERVICES") || full.Writes() != 3+5+2+1 {
		t.Fatalf("payload (%d writes):\n%s", full.Writes(), full.Bytes())
	}
	got := cur.Clone()
	if err := got.Apply(full); err != nil || !got.Equal(des) {
		t.Fatalf("apply: %v", err)
	}
}

func benchDiff(b *testing.B, hinted bool) {
	cur := scaleRuleset(b)
	des, changed := oneEndpointChange(b, cur)
	b.ReportAllocs()
	b.ResetTimer()
	var p *Payload
	var err error
	for b.Loop() {
		if hinted {
			p, err = DiffChanged(cur, des, kube, changed)
		} else {
			p, err = Diff(cur, des, kube)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(p.Bytes())), "payload-bytes")
}

// BenchmarkDiff10kOneEndpoint: full Diff of the 10k-service ruleset against
// a copy with one endpoint changed (chains shared with the copy compare by
// pointer).
func BenchmarkDiff10kOneEndpoint(b *testing.B) { benchDiff(b, false) }

// BenchmarkDiffChanged10kOneEndpoint: the same change with the changed
// chains named.
func BenchmarkDiffChanged10kOneEndpoint(b *testing.B) { benchDiff(b, true) }

// BenchmarkDiff10kAgainstReparse: full Diff against an independently parsed
// equal ruleset: every chain's rules are compared.
func BenchmarkDiff10kAgainstReparse(b *testing.B) {
	cur, err1 := ParseString(IPv4, scale(b))
	des, err2 := ParseString(IPv4, strings.Clone(scale(b)))
	if err1 != nil || err2 != nil {
		b.Fatal(err1, err2)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if p, err := Diff(cur, des, kube); err != nil || !p.Empty() {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyCache10kOneEndpoint: updating a cached 10k-service state
// with the one-endpoint payload (Ruleset.Apply, as the Fake does).
func BenchmarkApplyCache10kOneEndpoint(b *testing.B) {
	cur := scaleRuleset(b)
	des, changed := oneEndpointChange(b, cur)
	p, err := DiffChanged(cur, des, kube, changed)
	if err != nil {
		b.Fatal(err)
	}
	back, err := DiffChanged(des, cur, kube, changed)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := cur.Apply(p); err != nil {
			b.Fatal(err)
		}
		if err := cur.Apply(back); err != nil {
			b.Fatal(err)
		}
	}
}
