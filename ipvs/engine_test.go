package ipvs

import (
	"context"
	"errors"
	"testing"
)

func TestApplyRejectsWithoutChange(t *testing.T) {
	f := NewFake(testOptions)
	mustApply(t, f, Diff(nil, sampleState(), DiffOptions{}))
	before := f.Dump()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	outside := &VirtualServer{VSKey: FWMarkKey(0x5000, false), Scheduler: "rr"}
	cases := map[string]struct {
		ctx  context.Context
		ops  Ops
		want error
	}{
		"malformed":       {context.Background(), Ops{{Kind: OpAddAddress, Addr: ip("10.9.9.9")}, {Kind: OpAddReal}}, nil},
		"canceled":        {canceled, Ops{{Kind: OpAddAddress, Addr: ip("10.9.9.9")}}, context.Canceled},
		"foreign mark":    {context.Background(), Ops{{Kind: OpAddService, VS: outside}}, ErrNotOurs},
		"duplicate entry": {context.Background(), Ops{{Kind: OpAddEntry, Set: NewIPSet("KUBE-HOSTS", HashIP, false), Entry: HostEntry(ip("10.0.0.10"))}}, ErrExists},
		"missing address": {context.Background(), Ops{{Kind: OpDelAddress, Addr: ip("10.9.9.8")}}, ErrNotFound},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := f.Apply(c.ctx, c.ops)
			var ae *ApplyError
			if !errors.As(err, &ae) || (c.want != nil && !errors.Is(err, c.want)) || ae.UndoErr != nil {
				t.Fatalf("Apply = %v, want an *ApplyError wrapping %v", err, c.want)
			}
			if !f.Dump().Equal(before) {
				t.Fatalf("kernel changed:\n%v", f.Dump())
			}
		})
	}
}

func TestOpStrings(t *testing.T) {
	st := sampleState()
	ops := Diff(nil, st, DiffOptions{})
	ops = append(ops, Diff(st, nil, DiffOptions{})...)
	v := st.Services[tcp("10.96.0.1", 443)]
	ops = append(ops, Op{Kind: OpUpdateService, VS: v.Settings(), Prev: v.Settings()},
		Op{Kind: OpUpdateReal, VS: v, Real: v.Reals[0]}, Op{Kind: OpDelReal, VS: v, Real: v.Reals[0]})
	golden(t, "sample.ops", ops.String())
}
