package iptables

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// kubeDump generates a kube-proxy-shaped nat table (iptables mode) for nsvc
// services with nep endpoints each: per service a KUBE-SERVICES rule, a
// KUBE-SVC chain (masquerade rule and nep probability jumps) and nep
// KUBE-SEP chains (masquerade and DNAT). 10k x 10 gives 320k rules, 110k
// chains and about 46 MB, like the scale fixture.
func kubeDump(nsvc, nep int) string {
	var b strings.Builder
	b.Grow(nsvc * nep * 470)
	b.WriteString("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n")
	b.WriteString(":KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n")
	for i := 0; i < nsvc; i++ {
		name := svcName(i)
		fmt.Fprintf(&b, ":%s - [0:0]\n", chainName("KUBE-SVC-", name))
		for j := 0; j < nep; j++ {
			fmt.Fprintf(&b, ":%s - [0:0]\n", chainName("KUBE-SEP-", name+podIP(i*nep+j)))
		}
	}
	b.WriteString(`-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
`)
	for i := 0; i < nsvc; i++ {
		writeService(&b, i, nep)
	}
	for i := 0; i < nsvc; i++ {
		name := svcName(i)
		fmt.Fprintf(&b, "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"%s cluster IP\" -m tcp --dport 80 -j %s\n",
			clusterIP(i), name, chainName("KUBE-SVC-", name))
	}
	b.WriteString("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\nCOMMIT\n")
	return b.String()
}

// writeService writes the rules of service i's KUBE-SVC and KUBE-SEP chains.
func writeService(b *strings.Builder, i, nep int) {
	name := svcName(i)
	svc := chainName("KUBE-SVC-", name)
	fmt.Fprintf(b, "-A %s ! -s 10.0.0.0/8 -d %s/32 -p tcp -m comment --comment \"%s cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n",
		svc, clusterIP(i), name)
	for j := 0; j < nep; j++ {
		ep := podIP(i*nep + j)
		prob := ""
		if j < nep-1 {
			prob = " -m statistic --mode random --probability " + StatisticProbability(1.0/float64(nep-j))
		}
		fmt.Fprintf(b, "-A %s -m comment --comment \"%s -> %s:8080\"%s -j %s\n", svc, name, ep, prob, chainName("KUBE-SEP-", name+ep))
	}
	for j := 0; j < nep; j++ {
		ep := podIP(i*nep + j)
		sep := chainName("KUBE-SEP-", name+ep)
		fmt.Fprintf(b, "-A %s -s %s/32 -m comment --comment \"%s\" -j KUBE-MARK-MASQ\n", sep, ep, name)
		fmt.Fprintf(b, "-A %s -p tcp -m comment --comment \"%s\" -m tcp -j DNAT --to-destination %s:8080\n", sep, name, ep)
	}
}

func svcName(i int) string { return fmt.Sprintf("ns%d/svc%d:http", i%100, i) }

func chainName(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + strings.ToUpper(hex.EncodeToString(sum[:])[:16])
}

func clusterIP(i int) string { return ipString(10<<24 | 96<<16 + i + 1) }

func podIP(k int) string { return ipString(10<<24 | 128<<16 + k + 1) }

func ipString(n int) string {
	return fmt.Sprintf("%d.%d.%d.%d", n>>24&255, n>>16&255, n>>8&255, n&255)
}

func TestKubeDumpShape(t *testing.T) {
	rs, err := ParseString(IPv4, kubeDump(20, 3))
	if err != nil {
		t.Fatal(err)
	}
	nat := rs.Table("nat")
	// 8 fixed chains, per service 1 SVC + 3 SEP; rules: 7 fixed + 1 nodeports + per service 1+3+6+1.
	if nat.Len() != 8+20*4 || rs.NumRules() != 8+20*11 {
		t.Fatalf("chains %d rules %d", nat.Len(), rs.NumRules())
	}
}

var scaleDump string

func scale(b *testing.B) string {
	if scaleDump == "" {
		scaleDump = kubeDump(10000, 10)
	}
	return scaleDump
}

// scaleRuleset parses the 10k-service dump for benchmarks.
func scaleRuleset(b *testing.B) *Ruleset {
	rs, err := ParseString(IPv4, scale(b))
	if err != nil {
		b.Fatal(err)
	}
	return rs
}

// BenchmarkParse10kServices parses the 10k x 10 dump (320k rules, 110k
// chains, ~46 MB): "bytes" copies the input first (Parse), "owned" parses
// a buffer the caller hands over (ParseString; Exec.Read does this).
func BenchmarkParse10kServices(b *testing.B) {
	s := scale(b)
	for _, mode := range []string{"bytes", "owned"} {
		b.Run(mode, func(b *testing.B) {
			data := []byte(s)
			b.SetBytes(int64(len(s)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if mode == "bytes" {
					_, err = Parse(IPv4, data)
				} else {
					_, err = ParseString(IPv4, s)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWhole10k measures operations on the whole 10k-service
// ruleset: "print" (Ruleset.Bytes, iptables-save text) and "clone"
// (Ruleset.Clone, which copies the 110k-entry chain index).
func BenchmarkWhole10k(b *testing.B) {
	rs := scaleRuleset(b)
	for name, op := range map[string]func(){
		"print": func() { _ = rs.Bytes() },
		"clone": func() { _ = rs.Clone() },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				op()
			}
		})
	}
}
