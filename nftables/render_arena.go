package nftables

// arena hands out the slices of one service port's fragment from a few
// shared backing arrays, so that rendering 10k ports allocates per port,
// not per rule. A slice handed out is never appended to; if an array grows,
// earlier slices keep pointing into the old one, which stays valid.
type arena struct {
	rules    []Rule
	stmts    []Stmt
	values   []Value
	verdicts []Verdict
	chains   []Chain
}

func newArena(rules, stmts, values, verdicts, chains int) *arena {
	return &arena{rules: make([]Rule, 0, rules), stmts: make([]Stmt, 0, stmts),
		values: make([]Value, 0, values), verdicts: make([]Verdict, 0, verdicts), chains: make([]Chain, 0, chains)}
}

// rule returns a rule of the given statements.
func (a *arena) rule(s ...Stmt) Rule {
	n := len(a.stmts)
	a.stmts = append(a.stmts, s...)
	return Rule{Stmts: a.stmts[n:len(a.stmts):len(a.stmts)]}
}

// list returns the given rules as one slice.
func (a *arena) list(r ...Rule) []Rule {
	n := len(a.rules)
	a.rules = append(a.rules, r...)
	return a.rules[n:len(a.rules):len(a.rules)]
}

func (a *arena) key(v ...Value) []Value {
	n := len(a.values)
	a.values = append(a.values, v...)
	return a.values[n:len(a.values):len(a.values)]
}

func (a *arena) verdict(v Verdict) *Verdict {
	if len(a.verdicts) == cap(a.verdicts) {
		a.verdicts = make([]Verdict, 0, max(8, cap(a.verdicts)))
	}
	a.verdicts = append(a.verdicts, v)
	return &a.verdicts[len(a.verdicts)-1]
}

func (a *arena) chain(name string, rules []Rule) *Chain {
	if len(a.chains) == cap(a.chains) {
		a.chains = make([]Chain, 0, max(4, cap(a.chains)))
	}
	a.chains = append(a.chains, Chain{Name: name, Rules: rules})
	return &a.chains[len(a.chains)-1]
}
