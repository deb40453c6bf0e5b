package nftables

import (
	"fmt"
	"strings"
)

// OpKind is the kind of one transaction step.
type OpKind uint8

// Transaction steps. Each maps to one nf_tables netlink message (element
// operations are split into several messages when large).
const (
	OpAddTable OpKind = iota + 1
	OpDeleteTable
	OpAddChain // creates the chain (empty); Chain.Rules are added by OpAddRule
	OpFlushChain
	OpDeleteChain
	OpAddRule
	OpAddSet // creates the set or map (without elements)
	OpDeleteSet
	OpAddElements
	OpDeleteElements
)

var opNames = map[OpKind]string{
	OpAddTable: "add table", OpDeleteTable: "delete table", OpAddChain: "add chain", OpFlushChain: "flush chain",
	OpDeleteChain: "delete chain", OpAddRule: "add rule", OpAddSet: "add set", OpDeleteSet: "delete set",
	OpAddElements: "add element", OpDeleteElements: "delete element",
}

func (k OpKind) String() string {
	if n, ok := opNames[k]; ok {
		return n
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one step of a Transaction.
type Op struct {
	Kind  OpKind
	Table TableID
	// Table's comment, for OpAddTable.
	Comment string
	// Chain is the chain for OpAddChain (its Hook matters, its Rules do not).
	Chain *Chain
	// Name is the chain or set the op acts on.
	Name string
	// Rule is the rule OpAddRule appends to chain Name.
	Rule *Rule
	// Set is the definition for OpAddSet and, for element ops, the set's definition.
	Set *Set
	// Elements are added or (by key) deleted.
	Elements []Element
}

// String prints the op as an nft command.
func (o Op) String() string {
	switch o.Kind {
	case OpAddTable, OpDeleteTable:
		return fmt.Sprintf("%s %s", o.Kind, o.Table)
	case OpAddChain:
		if o.Chain != nil && o.Chain.Hook != nil {
			return fmt.Sprintf("add chain %s %s { %s }", o.Table, o.Name, o.Chain.Hook)
		}
		return fmt.Sprintf("add chain %s %s", o.Table, o.Name)
	case OpFlushChain, OpDeleteChain:
		return fmt.Sprintf("%s %s %s", o.Kind, o.Table, o.Name)
	case OpAddRule:
		return fmt.Sprintf("add rule %s %s %s", o.Table, o.Name, ruleText(o.Table.Family, *o.Rule))
	case OpAddSet:
		return fmt.Sprintf("add %s %s %s { %s; }", o.Set.kind(), o.Table, o.Name, o.Set.typeLine())
	case OpDeleteSet:
		return fmt.Sprintf("delete set %s %s", o.Table, o.Name)
	case OpAddElements, OpDeleteElements:
		items := make([]string, len(o.Elements))
		for i, e := range o.Elements {
			if o.Kind == OpDeleteElements {
				items[i] = keyString(e.Key)
			} else {
				items[i] = o.Set.elementString(e)
			}
		}
		return fmt.Sprintf("%s %s %s { %s }", o.Kind, o.Table, o.Name, strings.Join(items, ", "))
	}
	return o.Kind.String()
}

// Transaction is an ordered list of ops that a Kernel applies all or nothing.
// The order never lets an op reference an object that does not exist yet or
// delete one that is still referenced.
type Transaction struct {
	Ops []Op
}

// Empty reports whether there is nothing to do.
func (tx *Transaction) Empty() bool { return tx == nil || len(tx.Ops) == 0 }

// Writes counts the kernel objects the transaction writes: one per op, plus
// one per element beyond the first of an element op.
func (tx *Transaction) Writes() int {
	if tx == nil {
		return 0
	}
	n := 0
	for _, o := range tx.Ops {
		n++
		if len(o.Elements) > 1 {
			n += len(o.Elements) - 1
		}
	}
	return n
}

// String prints what would change, one nft command per line.
func (tx *Transaction) String() string {
	if tx.Empty() {
		return "# no changes\n"
	}
	var b strings.Builder
	for _, o := range tx.Ops {
		b.WriteString(o.String())
		b.WriteString("\n")
	}
	return b.String()
}
