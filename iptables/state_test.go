package iptables

import (
	"context"
	"errors"
	"testing"
)

// stateCase is one payload and the state a Kernel must reach: shared by the
// Fake and the real kernels so that the Fake cannot drift from them.
type stateCase struct {
	name    string
	setup   string // applied first, must succeed
	payload string
	wantErr error  // the Fake's error (the real kernels must fail too); nil: success
	want    string // the filter and nat tables afterwards (foreign to both: all of them)
}

const emptyTables = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n" +
	"*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"

const natBuiltins = ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"

const filterBuiltins = ":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"

const setupXY = "*filter\n:X - [0:0]\n:Y - [0:0]\n-A INPUT -j X\n-A X -p tcp -m tcp --dport 80 -j Y\n-A X -j ACCEPT\n-A Y -j DROP\nCOMMIT\n"

const stateXY = "*filter\n" + filterBuiltins + ":X - [0:0]\n:Y - [0:0]\n-A INPUT -j X\n-A X -p tcp -m tcp --dport 80 -j Y\n-A X -j ACCEPT\n-A Y -j DROP\nCOMMIT\n" +
	"*nat\n" + natBuiltins + "COMMIT\n"

var stateCases = []stateCase{
	{name: "create", setup: "", payload: setupXY, want: stateXY},
	{name: "redeclare flushes", setup: setupXY,
		payload: "*filter\n:Y - [0:0]\n-A Y -s 10.0.0.0/8 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n",
		want: "*filter\n" + filterBuiltins + ":X - [0:0]\n:Y - [0:0]\n-A INPUT -j X\n-A X -p tcp -m tcp --dport 80 -j Y\n-A X -j ACCEPT\n" +
			"-A Y -s 10.0.0.0/8 -j REJECT --reject-with icmp-port-unreachable\nCOMMIT\n*nat\n" + natBuiltins + "COMMIT\n"},
	{name: "declared twice in one payload", setup: "",
		payload: "*filter\n:Z - [0:0]\n-A Z -j ACCEPT\n:Z - [0:0]\n-A Z -j DROP\nCOMMIT\n",
		want:    "*filter\n" + filterBuiltins + ":Z - [0:0]\n-A Z -j DROP\nCOMMIT\n*nat\n" + natBuiltins + "COMMIT\n"},
	{name: "insert delete by spec and number", setup: setupXY,
		payload: "*filter\n-I X 2 -s 10.1.0.0/16 -j RETURN\n-D X -j ACCEPT\n-I INPUT -i lo -j ACCEPT\n-D INPUT 2\nCOMMIT\n",
		want: "*filter\n" + filterBuiltins + ":X - [0:0]\n:Y - [0:0]\n-A INPUT -i lo -j ACCEPT\n-A X -p tcp -m tcp --dport 80 -j Y\n-A X -s 10.1.0.0/16 -j RETURN\n-A Y -j DROP\nCOMMIT\n" +
			"*nat\n" + natBuiltins + "COMMIT\n"},
	{name: "flush and delete chain", setup: setupXY,
		payload: "*filter\n-D INPUT -j X\n:Y - [0:0]\n-F X\n-X X\n-X Y\n-P FORWARD DROP\nCOMMIT\n",
		want:    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n" + natBuiltins + "COMMIT\n"},
	{name: "new chain that exists", setup: setupXY, payload: "*filter\n-N X\nCOMMIT\n", wantErr: ErrChainExists, want: stateXY},
	{name: "jump to missing chain", setup: setupXY, payload: "*filter\n-A X -j NOPE\nCOMMIT\n", wantErr: ErrNoTarget, want: stateXY},
	{name: "delete referenced chain", setup: setupXY, payload: "*filter\n:Y - [0:0]\n-X Y\nCOMMIT\n", wantErr: ErrChainInUse, want: stateXY},
	{name: "delete chain with rules", setup: setupXY, payload: "*filter\n-D X -p tcp -m tcp --dport 80 -j Y\n-X Y\nCOMMIT\n", wantErr: ErrChainNotEmpty, want: stateXY},
	{name: "delete missing rule", setup: setupXY, payload: "*filter\n-D X -j DROP\nCOMMIT\n", wantErr: ErrNoRule, want: stateXY},
	{name: "rule for missing chain", setup: setupXY, payload: "*filter\n-A NOPE -j ACCEPT\nCOMMIT\n", wantErr: ErrNoChain, want: stateXY},
	{name: "filter applies, nat fails, filter restored", setup: setupXY,
		payload: "*filter\n:Y - [0:0]\n-A Y -j ACCEPT\n-A INPUT -j Y\nCOMMIT\n*nat\n:KUBE-A - [0:0]\n-A PREROUTING -j KUBE-A\n-A KUBE-A -j KUBE-MISSING\nCOMMIT\n",
		wantErr: ErrNoTarget, want: stateXY},
	{name: "nat and filter, filter fails", setup: setupXY,
		payload: "*nat\n:KUBE-A - [0:0]\n-A PREROUTING -j KUBE-A\n-A KUBE-A -j DNAT --to-destination 10.0.0.1\nCOMMIT\n*filter\n-X X\nCOMMIT\n",
		wantErr: ErrChainNotEmpty, want: stateXY},
}

// runStateCases runs every case against a fresh kernel from newKernel.
func runStateCases(t *testing.T, newKernel func(t *testing.T) Kernel, strictErr bool) {
	for _, c := range stateCases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			k := newKernel(t)
			apply := func(text string) error {
				p, err := ParsePayload(IPv4, []byte(text))
				if err != nil {
					t.Fatal(err)
				}
				return k.Apply(ctx, p)
			}
			if c.setup != "" {
				if err := apply(c.setup); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			err := apply(c.payload)
			switch {
			case c.wantErr == nil && err != nil:
				t.Fatalf("apply: %v", err)
			case c.wantErr != nil && err == nil:
				t.Fatalf("apply succeeded, want %v", c.wantErr)
			case c.wantErr != nil && strictErr && !errors.Is(err, c.wantErr):
				t.Fatalf("apply: %v, want %v", err, c.wantErr)
			}
			if err != nil {
				t.Logf("rejected as expected: %v", err)
			}
			got, err := k.Read(ctx, IPv4, TableFilter, TableNat)
			if err != nil {
				t.Fatal(err)
			}
			if want := mustParse(t, c.want); !got.Equal(want) {
				t.Fatalf("state:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestFakeStateCases(t *testing.T) {
	runStateCases(t, func(*testing.T) Kernel { return NewFake() }, true)
}
