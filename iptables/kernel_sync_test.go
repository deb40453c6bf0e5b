package iptables

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

const foreignSeed = `*nat
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER -i docker0 -j RETURN
COMMIT
*filter
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
`

const kubeFilter = `*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-PROXY-CANARY - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
COMMIT
`

// desiredKube is a kube-proxy-shaped desired state for nsvc services, with
// the endpoints of service 0 shifted by shift.
func desiredKube(t *testing.T, nsvc, shift int) *Ruleset {
	t.Helper()
	nat := kubeDump(nsvc, 3)
	if shift != 0 {
		old := "10.128.0.1:8080"
		nat = strings.ReplaceAll(nat, old, "10.128.200.1:8080")
	}
	rs := mustParse(t, nat+kubeFilter)
	rs.Table(TableNat).SetChain(&Chain{Name: "KUBE-PROXY-CANARY"})
	return rs
}

// TestRealSync runs a full sync, a one-endpoint change and a cleanup
// against the real kernel next to foreign (Docker-like) rules.
func TestRealSync(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			ctx := context.Background()
			k := newExec(t, v)
			seed, err := ParsePayload(IPv4, []byte(foreignSeed))
			if err != nil {
				t.Fatal(err)
			}
			if err := k.Apply(ctx, seed); err != nil {
				t.Fatal(err)
			}
			seeded, _ := k.Read(ctx, IPv4, TableNat, TableFilter)
			state := seeded
			for step, des := range []*Ruleset{desiredKube(t, 30, 0), desiredKube(t, 30, 1), NewRuleset(IPv4)} {
				state = syncReal(t, k, state, des)
				t.Logf("step %d done", step)
			}
			if !state.Equal(seeded) {
				t.Fatalf("after cleanup:\n%s\nwant the foreign seed:\n%s", state, seeded)
			}
		})
	}
}

// syncReal applies Diff(state, des) and checks the kernel reached des.
func syncReal(t *testing.T, k Kernel, state, des *Ruleset) *Ruleset {
	t.Helper()
	ctx := context.Background()
	p, err := Diff(state, des, kube)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Apply(ctx, p); err != nil {
		t.Fatalf("apply: %v\n%s", err, p)
	}
	got, err := k.Read(ctx, IPv4, TableNat, TableFilter)
	if err != nil {
		t.Fatal(err)
	}
	checkSynced(t, state, des, got, kube)
	again, err := Diff(got, des, kube)
	if err != nil || !again.Empty() {
		t.Fatalf("kernel text differs from desired text:\n%s", again.Bytes())
	}
	cached := state.Clone()
	if err := cached.Apply(p); err != nil || !cached.Equal(got) {
		t.Fatalf("cache updated with Ruleset.Apply differs from the kernel: %v\n%s", err, cached)
	}
	return got
}

func TestRealCanaryAndDetect(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			ctx := context.Background()
			k := newExec(t, v)
			p, _ := ParsePayload(IPv4, []byte("*nat\n:KUBE-PROXY-CANARY - [0:0]\nCOMMIT\n*filter\n:KUBE-PROXY-CANARY - [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n"))
			if err := k.Apply(ctx, p); err != nil {
				t.Fatal(err)
			}
			missing, err := CanaryMissing(ctx, k, IPv4, "KUBE-PROXY-CANARY", TableNat, TableFilter, TableMangle)
			if err != nil || !slices.Equal(missing, []string{TableMangle}) {
				t.Fatalf("missing %v, %v", missing, err)
			}
			got, err := DetectVariant(ctx, k.run)
			if err != nil || got != v {
				t.Fatalf("detected %q (%v), want %q: the namespace holds rules of %s only", got, err, v, v)
			}
		})
	}
}

// TestRealInjectedFailureLeavesStateIdentical: a payload whose filter part
// applies and whose nat part the kernel rejects leaves iptables-save's
// output byte for byte as it was.
func TestRealInjectedFailureLeavesStateIdentical(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			ctx := context.Background()
			k := newExec(t, v)
			if err := k.Apply(ctx, mustPayload(t, foreignSeed)); err != nil {
				t.Fatal(err)
			}
			save := func() string {
				out, err := k.exec(ctx, Tool(v, IPv4, "-save"), []string{"-c"}, nil)
				if err != nil {
					t.Fatal(err)
				}
				var keep []string
				for _, l := range strings.Split(string(out), "\n") {
					if !strings.HasPrefix(l, "#") {
						keep = append(keep, l)
					}
				}
				return strings.Join(keep, "\n")
			}
			before := save()
			bad := mustPayload(t, "*filter\n:KUBE-FORWARD - [0:0]\n-A FORWARD -j KUBE-FORWARD\n-A KUBE-FORWARD -j ACCEPT\nCOMMIT\n"+
				"*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -j KUBE-SVC-MISSING\nCOMMIT\n")
			err := k.Apply(ctx, bad)
			var re *RestoreError
			if !errors.As(err, &re) || re.Table != TableNat || re.Line == 0 {
				t.Fatalf("got %v, want a RestoreError for the nat table with a line", err)
			}
			t.Logf("rejected: %v", err)
			if after := save(); after != before {
				t.Fatalf("iptables-save changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func mustPayload(t *testing.T, text string) *Payload {
	t.Helper()
	p, err := ParsePayload(IPv4, []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRealSyncIPv6 runs a full sync and a cleanup with ip6tables.
func TestRealSyncIPv6(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			ctx := context.Background()
			k := newExec(t, v)
			text := strings.NewReplacer("10.96.0.", "fd00:10:96::", "10.128.0.", "fd00:10:244:1::", "/32", "/128",
				"10.0.0.0/8", "fd00::/8", ":8080", "").Replace(kubeDump(5, 2))
			des, err := ParseString(IPv6, text+kubeFilter)
			if err != nil {
				t.Fatal(err)
			}
			cur, err := k.Read(ctx, IPv6, TableNat, TableFilter)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []*Ruleset{des, NewRuleset(IPv6)} {
				p, err := Diff(cur, want, kube)
				if err != nil {
					t.Fatal(err)
				}
				if err := k.Apply(ctx, p); err != nil {
					t.Fatalf("apply: %v\n%s", err, p.Bytes())
				}
				got, err := k.Read(ctx, IPv6, TableNat, TableFilter)
				if err != nil {
					t.Fatal(err)
				}
				checkSynced(t, cur, want, got, kube)
				if again, _ := Diff(got, want, kube); !again.Empty() {
					t.Fatalf("ip6tables-save text differs from desired:\n%s", again.Bytes())
				}
				cur = got
			}
		})
	}
}

// TestRealBulkLoad loads a payload naming more than nftBulkChains chains
// (restoreInput lists the table first on nft) and checks the result, and
// that a failure in such a payload still names the failing line.
func TestRealBulkLoad(t *testing.T) {
	for _, v := range variants {
		t.Run(string(v), func(t *testing.T) {
			ctx := context.Background()
			k := newExec(t, v)
			des := mustParse(t, kubeDump(700, 2))
			p, err := Diff(NewRuleset(IPv4), des, kube)
			if err != nil {
				t.Fatal(err)
			}
			if n := distinctChains(p.Tables[0], nftBulkChains); n <= nftBulkChains {
				t.Fatalf("payload names only %d chains", n)
			}
			bad := &Payload{Family: IPv4, Tables: []*TablePayload{{Table: TableNat, Ops: slices.Clone(p.Tables[0].Ops)}}}
			badRule, _ := ParseRule("KUBE-SERVICES", "-j KUBE-SVC-NOWHERE")
			bad.Tables[0].Ops = append(bad.Tables[0].Ops, Op{Kind: OpAppend, Chain: "KUBE-SERVICES", Rule: badRule})
			var re *RestoreError
			if err := k.Apply(ctx, bad); !errors.As(err, &re) || re.Line == 0 || (re.Text != badRule.String() && re.Text != "COMMIT") {
				t.Fatalf("bad bulk payload: %v", err)
			}
			if err := k.Apply(ctx, p); err != nil {
				t.Fatal(err)
			}
			got, err := k.Read(ctx, IPv4, TableNat)
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := Diff(got, des, kube); !again.Empty() {
				t.Fatalf("after bulk load:\n%s", again)
			}
		})
	}
}
