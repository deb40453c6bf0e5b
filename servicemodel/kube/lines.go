package kube

import (
	"bytes"
	"encoding/json"
	"strconv"

	yaml3 "go.yaml.in/yaml/v3"
)

// A type error (a string where a number belongs) is found in the JSON that a
// YAML document converts to, where the YAML's lines are lost. These helpers
// find the line again: the JSON offset of the error gives the value's path
// (spec, ports, 1, port), and that path leads to the node in the YAML.

// jsonPathAt returns the path (object keys, and array indices as numbers) of
// the value that starts or ends at byte offset off of a JSON text: the first
// value whose opening token has been read by off.
func jsonPathAt(j []byte, off int64) []any {
	type frame struct {
		array   bool
		wantKey bool
		key     string
		index   int
	}
	var stack []frame
	path := func() []any {
		out := make([]any, 0, len(stack))
		for _, f := range stack {
			if f.array {
				out = append(out, f.index)
			} else {
				out = append(out, f.key)
			}
		}
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].wantKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantKey = false
			continue
		}
		if n := len(stack); n > 0 {
			stack[n-1].index++
			stack[n-1].wantKey = !stack[n-1].array
		}
		at := path()
		if d, ok := tok.(json.Delim); ok {
			stack = append(stack, frame{array: d == '[', wantKey: d == '{', index: -1})
		}
		if dec.InputOffset() >= off {
			return at
		}
	}
}

// docText is a document's text (YAML, or JSON, which is YAML too), parsed
// into nodes at most once, and only when a line must be found.
type docText struct {
	text   []byte
	base   int // the line of the stream where text starts
	root   *yaml3.Node
	parsed bool
}

// lineOf returns the line of the stream of the node at path, or 0 when the
// path does not lead to one.
func (d *docText) lineOf(path []any) int {
	if !d.parsed {
		d.parsed = true
		var root yaml3.Node
		if yaml3.Unmarshal(d.text, &root) == nil && len(root.Content) > 0 {
			d.root = root.Content[0]
		}
	}
	n := d.root
	for _, step := range path {
		if n == nil {
			return 0
		}
		n = child(n, step)
	}
	if n == nil {
		return 0
	}
	return d.base + n.Line - 1
}

func child(n *yaml3.Node, step any) *yaml3.Node {
	for n.Kind == yaml3.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch s := step.(type) {
	case int:
		if n.Kind == yaml3.SequenceNode && s >= 0 && s < len(n.Content) {
			return n.Content[s]
		}
	case string:
		if n.Kind != yaml3.MappingNode {
			return nil
		}
		var found *yaml3.Node // the last of duplicate keys wins, as in the conversion
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s {
				found = n.Content[i+1]
			}
		}
		return found
	}
	return nil
}

// pathString prints a path as "spec.ports[1].port".
func pathString(path []any) string {
	var b []byte
	for _, step := range path {
		switch s := step.(type) {
		case int:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s), 10)
			b = append(b, ']')
		case string:
			if len(b) > 0 {
				b = append(b, '.')
			}
			b = append(b, s...)
		}
	}
	return string(b)
}
