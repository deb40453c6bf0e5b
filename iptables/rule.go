package iptables

import (
	"fmt"
	"strings"
)

// Counters are packet and byte counters, as iptables-save -c prints them
// ("[packets:bytes]").
type Counters struct {
	Packets, Bytes uint64
}

// Rule is one rule of a chain.
//
// Spec holds the rule's match and target arguments as iptables-save text:
// everything after "-A CHAIN ", one space between arguments, quoting as
// written (Parse keeps the kernel's own quoting, NewRule quotes like
// iptables-save). Keeping the text rather than a token slice lets Parse share
// the input's memory, and makes two rules equal exactly when their texts are;
// Args returns the tokens. Rules of other software round-trip unchanged.
//
// Comment, Target and Goto are derived from Spec by NewRule and ParseRule; do
// not set them by hand.
type Rule struct {
	Chain string // the chain the rule belongs to
	Spec  string // match and target arguments, iptables-save text

	Comment string // value of the first "--comment" argument, unquoted; "" if none
	Target  string // argument of "-j"/"--jump" or "-g"/"--goto"; "" for a rule without target

	Counters    Counters // per-rule counters (iptables-save -c)
	HasCounters bool     // Counters were given ("[p:b] -A ...")
	Goto        bool     // the target was given with -g/--goto
}

// NewRule builds a rule of chain from unquoted arguments, e.g.
//
//	NewRule("KUBE-SERVICES", "-d", "10.96.0.10/32", "-p", "tcp",
//		"-m", "comment", "--comment", "kube-system/kube-dns:dns-tcp cluster IP",
//		"-m", "tcp", "--dport", "53", "-j", "KUBE-SVC-ERIFXISQEP7F7OF4")
//
// Values of --comment, --log-prefix and --nflog-prefix are quoted the way
// iptables-save prints them; other arguments are quoted only when they must
// be (empty, or holding a blank or a double quote). To compare equal with the
// rule read back from the kernel, give the arguments in the order and form
// iptables-save prints them (e.g. "10.0.0.1/32", "-m tcp" after "-p tcp").
func NewRule(chain string, args ...string) (Rule, error) {
	if err := checkChainName(chain); err != nil {
		return Rule{}, err
	}
	var b strings.Builder
	for i, a := range args {
		if strings.ContainsAny(a, "\n\x00") {
			return Rule{}, fmt.Errorf("rule in chain %s: argument %d: %w", chain, i, errBadChar)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		if i > 0 && isSaveStringOption(args[i-1]) {
			b.WriteString(QuoteSaveString(a))
		} else {
			b.WriteString(quoteMinimal(a))
		}
	}
	return ParseRule(chain, b.String())
}

// ParseRule builds a rule of chain from its iptables-save text (the part
// after "-A CHAIN "). Blanks between arguments are normalised to one space.
func ParseRule(chain, spec string) (Rule, error) {
	if err := checkChainName(chain); err != nil {
		return Rule{}, err
	}
	r := Rule{Chain: chain}
	if err := r.setSpec(spec); err != nil {
		return Rule{}, fmt.Errorf("rule in chain %s: %w", chain, err)
	}
	return r, nil
}

// setSpec stores spec (normalised) and derives Comment, Target and Goto.
func (r *Rule) setSpec(spec string) error {
	if err := r.analyze(spec); err != nil {
		return err
	}
	if r.Spec == spec {
		return nil
	}
	return r.analyze(r.Spec)
}

// analyze scans spec once: it derives Comment, Target and Goto, and sets
// Spec to spec when canonical, or to its canonical rewrite.
func (r *Rule) analyze(spec string) error {
	if r.analyzeFast(spec) {
		return nil
	}
	r.Comment, r.Target, r.Goto = "", "", false
	sc := newTokenScanner(spec)
	var want byte // what the next argument is: 'c' comment, 't' target, 's' skipped value
	pendingGoto := false
	for {
		t, ok, err := sc.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch want {
		case 'c':
			if r.Comment == "" {
				r.Comment = t.value(spec)
			}
			want = 0
			continue
		case 't':
			r.Target, r.Goto = t.value(spec), pendingGoto
			want = 0
			continue
		case 's':
			want = 0
			continue
		}
		if t.quoted || t.odd {
			continue
		}
		switch t.raw(spec) {
		case "--comment":
			want = 'c'
		case "--log-prefix", "--nflog-prefix":
			want = 's'
		case "-j", "--jump":
			want, pendingGoto = 't', false
		case "-g", "--goto":
			want, pendingGoto = 't', true
		}
	}
	if sc.canonical {
		r.Spec = spec
		return nil
	}
	toks, _, err := scanAll(spec)
	if err != nil {
		return err
	}
	r.Spec = rebuildSpec(spec, toks)
	return nil
}

// rebuildSpec joins the tokens of spec with single spaces, re-quoting
// tokens whose quoting iptables-restore would split differently.
func rebuildSpec(spec string, toks []token) string {
	var b strings.Builder
	b.Grow(len(spec))
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t.odd {
			b.WriteString(quoteMinimal(t.value(spec)))
		} else {
			b.WriteString(t.raw(spec))
		}
	}
	return b.String()
}

// Args returns the rule's arguments as iptables-restore reads them (quotes
// and escapes removed).
func (r Rule) Args() []string {
	args, _ := splitArgs(r.Spec)
	return args
}

// Equal reports whether r and o are the same rule of the same chain.
// Counters are ignored.
func (r Rule) Equal(o Rule) bool { return r.Chain == o.Chain && r.Spec == o.Spec }

// String returns the rule as an iptables-save line, without counters.
func (r Rule) String() string {
	if r.Spec == "" {
		return "-A " + r.Chain
	}
	return "-A " + r.Chain + " " + r.Spec
}

// checkChainName rejects names iptables-restore cannot read back as one
// bare argument.
func checkChainName(name string) error {
	if name == "" {
		return fmt.Errorf("empty chain name")
	}
	if strings.ContainsAny(name, " \t\n\"\x00") || name[0] == '-' || name[0] == '!' {
		return fmt.Errorf("invalid chain name %q", name)
	}
	return nil
}
