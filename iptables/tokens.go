package iptables

import (
	"errors"
	"strings"
)

// Tokenizing and quoting follow iptables-restore (add_param_to_argv in
// iptables' xshared.c): outside double quotes, spaces and tabs separate
// arguments; a double quote opens a quoted section in which a backslash
// escapes the next character; the closing quote ends the argument (so `""`
// is an empty argument).

var (
	errUnterminatedQuote = errors.New("unterminated double quote")
	errBadChar           = errors.New("newline or NUL byte in an argument")
)

// token is one argument found by scanTokens: its position in the input and
// how it was written.
type token struct {
	start, end int  // the raw text, including any quotes
	quoted     bool // the raw text is exactly one "..." section
	escaped    bool // the quoted section holds a backslash escape
	odd        bool // quotes in the middle of the token, or glued to the next one
}

// raw returns the token as written.
func (t token) raw(s string) string { return s[t.start:t.end] }

// value returns the argument the token stands for, without quotes and escapes.
func (t token) value(s string) string {
	raw := s[t.start:t.end]
	if !t.quoted && !t.odd {
		return raw
	}
	if t.quoted && !t.escaped {
		return raw[1 : len(raw)-1]
	}
	v, _ := unquoteArg(raw)
	return v
}

// unquoteArg returns the value of one raw argument (quotes and escapes removed).
func unquoteArg(raw string) (string, bool) {
	var b strings.Builder
	inQuote := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inQuote && c == '\\' && i+1 < len(raw):
			i++
			b.WriteByte(raw[i])
		case c == '"':
			inQuote = !inQuote
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), !inQuote
}

// tokenScanner yields the arguments of a string one by one without
// allocating.
type tokenScanner struct {
	s         string
	i         int
	canonical bool // single spaces between arguments, no leading or trailing blanks, no odd quoting
}

func newTokenScanner(s string) tokenScanner { return tokenScanner{s: s, canonical: true} }

// next returns the next argument; ok is false at the end or on error.
func (sc *tokenScanner) next() (t token, ok bool, err error) {
	s, n := sc.s, len(sc.s)
	for sc.i < n {
		c := s[sc.i]
		if c != ' ' && c != '\t' {
			break
		}
		if c == '\t' || sc.i == 0 || sc.i+1 == n || s[sc.i+1] == ' ' || s[sc.i+1] == '\t' {
			sc.canonical = false
		}
		sc.i++
	}
	if sc.i >= n {
		return token{}, false, nil
	}
	if c := s[sc.i]; c == '\n' || c == 0 {
		return token{}, false, errBadChar
	}
	t, next, err := scanOne(s, sc.i)
	if err != nil {
		return token{}, false, err
	}
	if t.odd {
		sc.canonical = false
	}
	sc.i = next
	return t, true, nil
}

// scanAll returns every argument of s and whether s is canonical.
func scanAll(s string) ([]token, bool, error) {
	sc := newTokenScanner(s)
	var out []token
	for {
		t, ok, err := sc.next()
		if err != nil {
			return nil, false, err
		}
		if !ok {
			return out, sc.canonical, nil
		}
		out = append(out, t)
	}
}

// scanOne reads the argument that starts at s[i] (not a blank).
func scanOne(s string, i int) (token, int, error) {
	t := token{start: i}
	n := len(s)
	if s[i] == '"' {
		j := i + 1
		for ; j < n; j++ {
			if s[j] == '\\' && j+1 < n {
				t.escaped = true
				j++
				continue
			}
			if s[j] == '"' {
				break
			}
			if s[j] == '\n' || s[j] == 0 {
				return t, 0, errBadChar
			}
		}
		if j >= n {
			return t, 0, errUnterminatedQuote
		}
		t.end, t.quoted = j+1, true
		if t.end < n && s[t.end] != ' ' && s[t.end] != '\t' {
			t.odd = true // iptables-restore splits `"a"b` into two arguments
		}
		return t, t.end, nil
	}
	j := i
	for ; j < n; j++ {
		c := s[j]
		if c == ' ' || c == '\t' {
			break
		}
		if c == '\n' || c == 0 {
			return t, 0, errBadChar
		}
		if c == '"' {
			// A quote inside a bare word opens a quoted section that ends the argument.
			t.odd = true
			k := j + 1
			for ; k < n && s[k] != '"'; k++ {
				if s[k] == '\\' && k+1 < n {
					k++
				}
			}
			if k >= n {
				return t, 0, errUnterminatedQuote
			}
			t.end = k + 1
			return t, t.end, nil
		}
	}
	t.end = j
	return t, j, nil
}

// splitArgs returns the arguments of s as iptables-restore would see them.
func splitArgs(s string) ([]string, error) {
	toks, _, err := scanAll(s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.value(s)
	}
	return out, err
}

// saveStringSafe reports whether iptables-save prints v without quotes
// (xtables_save_string: non-empty and only [A-Za-z0-9_-]).
func saveStringSafe(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// QuoteSaveString quotes v the way iptables-save prints string option values
// such as --comment and --log-prefix (xtables_save_string): bare when v is
// non-empty and made only of letters, digits, '_' and '-'; otherwise in
// double quotes with double quote, backslash and single quote escaped by a
// backslash.
func QuoteSaveString(v string) string {
	if saveStringSafe(v) {
		return v
	}
	return quoteAlways(v)
}

func quoteAlways(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"', '\\', '\'':
			b.WriteByte('\\')
		}
		b.WriteByte(v[i])
	}
	b.WriteByte('"')
	return b.String()
}

// quoteMinimal quotes v only when iptables-restore would otherwise read it
// differently: when it is empty or holds a blank or a double quote.
func quoteMinimal(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\"") {
		return v
	}
	return quoteAlways(v)
}

// isSaveStringOption reports whether iptables-save prints the value of
// option opt with xtables_save_string; NewRule quotes those values the same
// way so that a rendered rule is textually equal to the rule read back.
func isSaveStringOption(opt string) bool {
	switch opt {
	case "--comment", "--log-prefix", "--nflog-prefix":
		return true
	}
	return false
}
