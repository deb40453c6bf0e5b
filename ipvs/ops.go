package ipvs

import (
	"fmt"
	"net/netip"
	"strings"
)

// OpKind is what an Op does. Diff emits kinds in this order.
type OpKind uint8

// Operation kinds.
const (
	OpCreateSet     OpKind = iota + 1 // Set: the spec (no entries)
	OpAddEntry                        // Set.Name, Entry
	OpAddAddress                      // Addr
	OpAddService                      // VS: settings (real servers follow as OpAddReal)
	OpUpdateService                   // VS: new settings, Prev: old settings
	OpAddReal                         // VS.VSKey, Real
	OpUpdateReal                      // VS.VSKey, Real: new, PrevReal: old
	OpDelReal                         // VS.VSKey, Real: the removed one
	OpDelService                      // VS: the removed server with its real servers
	OpDelAddress                      // Addr
	OpDelEntry                        // Set.Name, Entry
	OpDestroySet                      // Set: the removed set with its entries
)

var opNames = map[OpKind]string{
	OpCreateSet: "create-set", OpAddEntry: "add-entry", OpAddAddress: "add-address",
	OpAddService: "add-service", OpUpdateService: "update-service", OpAddReal: "add-real",
	OpUpdateReal: "update-real", OpDelReal: "del-real", OpDelService: "del-service",
	OpDelAddress: "del-address", OpDelEntry: "del-entry", OpDestroySet: "destroy-set",
}

func (k OpKind) String() string {
	if n, ok := opNames[k]; ok {
		return n
	}
	return fmt.Sprintf("op-%d", uint8(k))
}

// Op is one kernel operation. Which fields count depends on Kind (see the
// constants). The "previous" fields let Apply undo the operation.
type Op struct {
	Kind     OpKind
	VS       *VirtualServer
	Prev     *VirtualServer
	Real     RealServer
	PrevReal RealServer
	Addr     netip.Addr
	Set      *IPSet
	Entry    SetEntry
}

// String prints the operation as the command that would do it:
//
//	-A -t 10.96.0.1:443 -s rr
//	-e -t 10.96.0.1:443 -r 10.244.1.2:80 -m -w 0
//	ip addr add 10.96.0.1 dev <dummy>
//	add KUBE-CLUSTER-IP 10.96.0.1,tcp:443
func (o Op) String() string {
	switch o.Kind {
	case OpAddService, OpUpdateService, OpDelService:
		if o.VS == nil {
			return o.Kind.String() + " <nil>"
		}
		letter := map[OpKind]string{OpAddService: "-A ", OpUpdateService: "-E ", OpDelService: "-D "}[o.Kind]
		if o.Kind == OpDelService {
			return letter + serviceArg(o.VS.VSKey)
		}
		return letter + serviceArg(o.VS.VSKey) + " " + serviceOpts(o.VS)
	case OpAddReal, OpUpdateReal, OpDelReal:
		if o.VS == nil {
			return o.Kind.String() + " <nil>"
		}
		letter := map[OpKind]string{OpAddReal: "-a ", OpUpdateReal: "-e ", OpDelReal: "-d "}[o.Kind]
		if o.Kind == OpDelReal {
			return letter + serviceArg(o.VS.VSKey) + " -r " + o.Real.Key().String()
		}
		return letter + serviceArg(o.VS.VSKey) + " " + realOpts(o.Real)
	case OpAddAddress:
		return "ip addr add " + o.Addr.String() + " dev <dummy>"
	case OpDelAddress:
		return "ip addr del " + o.Addr.String() + " dev <dummy>"
	}
	return o.setString()
}

func (o Op) setString() string {
	if o.Set == nil {
		return o.Kind.String() + " <nil>"
	}
	switch o.Kind {
	case OpCreateSet:
		return createLine(o.Set)
	case OpDestroySet:
		return "destroy " + o.Set.Name
	case OpAddEntry:
		return "add " + o.Set.Name + " " + o.Entry.String()
	case OpDelEntry:
		return "del " + o.Set.Name + " " + o.Entry.String()
	}
	return o.Kind.String()
}

// Ops is an ordered list of operations.
type Ops []Op

// String prints one operation per line.
func (ops Ops) String() string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString(o.String() + "\n")
	}
	return b.String()
}

// inverse returns the operations that undo o, in order.
func (o Op) inverse() []Op {
	switch o.Kind {
	case OpCreateSet:
		return []Op{{Kind: OpDestroySet, Set: o.Set.Spec()}}
	case OpAddEntry:
		return []Op{{Kind: OpDelEntry, Set: o.Set, Entry: o.Entry}}
	case OpDelEntry:
		return []Op{{Kind: OpAddEntry, Set: o.Set, Entry: o.Entry}}
	case OpAddAddress:
		return []Op{{Kind: OpDelAddress, Addr: o.Addr}}
	case OpDelAddress:
		return []Op{{Kind: OpAddAddress, Addr: o.Addr}}
	case OpAddService:
		return []Op{{Kind: OpDelService, VS: o.VS.Settings()}}
	case OpUpdateService:
		return []Op{{Kind: OpUpdateService, VS: o.Prev, Prev: o.VS}}
	case OpAddReal:
		return []Op{{Kind: OpDelReal, VS: o.VS, Real: o.Real}}
	case OpUpdateReal:
		return []Op{{Kind: OpUpdateReal, VS: o.VS, Real: o.PrevReal, PrevReal: o.Real}}
	case OpDelReal:
		return []Op{{Kind: OpAddReal, VS: o.VS, Real: o.Real}}
	case OpDelService:
		inv := []Op{{Kind: OpAddService, VS: o.VS.Settings()}}
		for _, r := range o.VS.Reals {
			inv = append(inv, Op{Kind: OpAddReal, VS: o.VS, Real: r})
		}
		return inv
	case OpDestroySet:
		inv := []Op{{Kind: OpCreateSet, Set: o.Set.Spec()}}
		for _, e := range o.Set.Sorted() {
			inv = append(inv, Op{Kind: OpAddEntry, Set: o.Set, Entry: e})
		}
		return inv
	}
	return nil
}

// check reports an Op whose fields do not fit its kind.
func (o Op) check() error {
	var ok bool
	switch o.Kind {
	case OpAddService, OpUpdateService, OpDelService, OpAddReal, OpUpdateReal, OpDelReal:
		ok = o.VS != nil && (o.Kind != OpUpdateService || o.Prev != nil)
	case OpAddAddress, OpDelAddress:
		ok = o.Addr.IsValid()
	case OpCreateSet, OpDestroySet, OpAddEntry, OpDelEntry:
		ok = o.Set != nil
	}
	if !ok {
		return fmt.Errorf("ipvs: malformed operation %v", o.Kind)
	}
	return nil
}
