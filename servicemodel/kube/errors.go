package kube

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/proxykit/proxykit/servicemodel"
)

// ErrTooLarge is returned (wrapped) when Load's input exceeds its size cap.
var ErrTooLarge = errors.New("input too large")

// Source says where in a stream an object or a problem is.
type Source struct {
	Doc  int    // 1-based index among the stream's non-empty documents
	Line int    // 1-based line of the stream where the document starts
	Item string // the path inside a List, e.g. "items[2]" or "items[0].items[1]"; "" for a document itself
}

// String prints "document 3" or "document 3 items[2]".
func (s Source) String() string {
	out := "document " + strconv.Itoa(s.Doc)
	if s.Item != "" {
		out += " " + s.Item
	}
	return out
}

func (s Source) item(i int) Source {
	p := "items[" + strconv.Itoa(i) + "]"
	if s.Item != "" {
		p = s.Item + "." + p
	}
	s.Item = p
	return s
}

// DocError is a document that cannot be read: malformed YAML or JSON, a
// value of the wrong type, a document that is not an object, a missing kind
// or apiVersion. Err is the parser's error.
type DocError struct {
	Source
	ErrLine int    // 1-based line of the stream where the parser found the problem; 0 if unknown
	Field   string // the path of a value of the wrong type, e.g. "spec.ports[0].port"; "" if unknown
	Err     error
}

// yamlLine matches the relative line number that YAML parser errors carry.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// Error prints "document 3 (line 12): line 14: yaml: could not find
// expected ':'", or for a value of the wrong type "document 4 (line 20): line
// 23: spec.ports[0].port: json: cannot unmarshal string into ...". The
// problem's line is left out when it is the document's first line.
func (e *DocError) Error() string {
	msg := e.Err.Error()
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.ErrLine > 0 {
		msg = yamlLine.ReplaceAllString(msg, "yaml: ")
		if e.ErrLine != e.Line {
			msg = "line " + strconv.Itoa(e.ErrLine) + ": " + msg
		}
	}
	return fmt.Sprintf("%s (line %d): %s", e.Source, e.Line, msg)
}

func (e *DocError) Unwrap() error { return e.Err }

// yamlDocError makes a DocError from a YAML parser error, translating the
// parser's line (relative to the document's text, which starts at line
// base) into a line of the stream. The parser may name the line after the
// last for an unexpected end; that becomes the last line.
func yamlDocError(src Source, base int, text []byte, err error) *DocError {
	de := &DocError{Source: src, Err: err}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil && n > 0 {
			de.ErrLine = base + min(n, lineAt(text, len(text))) - 1
		}
	}
	return de
}

// ObjectError is an object that was read but does not convert: Err is
// usually a *servicemodel.ValidationError listing every problem with its
// field path.
type ObjectError struct {
	Source
	Kind string
	Name types.NamespacedName
	Err  error
}

// Error prints "document 3 (Service default/web): spec.ports[1].port:
// Invalid value: 70000: must be between 1 and 65535, inclusive", with the
// problems joined by "; ".
func (e *ObjectError) Error() string {
	msg := e.Err.Error()
	var ve *servicemodel.ValidationError
	if errors.As(e.Err, &ve) {
		parts := make([]string, 0, len(ve.Errs))
		for _, fe := range ve.Errs {
			parts = append(parts, fe.Error())
		}
		msg = strings.Join(parts, "; ")
	}
	return fmt.Sprintf("%s (%s %s): %s", e.Source, e.Kind, e.Name, msg)
}

func (e *ObjectError) Unwrap() error { return e.Err }
