package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"
)

// document is one document of a stream: its 1-based index among the
// non-empty documents, the 1-based line of its first content, and its text.
type document struct {
	Source
	base int // the line of the stream where data's first line is
	data []byte
	json bool // data is JSON from a JSON stream, not YAML
}

var utf8BOM = []byte("\xef\xbb\xbf")

// splitStream splits an input into documents. Input whose first
// non-whitespace byte is '{' or '[' is a stream of JSON values; anything else
// is YAML, split at "---" and "..." lines (see splitYAML). A JSON stream that
// breaks stops the split: the error is a *DocError for the broken value.
func splitStream(data []byte) ([]document, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return splitJSON(data)
	}
	return splitYAML(data), nil
}

// splitJSON splits a stream of concatenated JSON values (as `jq -c` or
// `kubectl get -o json` print them).
func splitJSON(data []byte) ([]document, error) {
	var docs []document
	dec := json.NewDecoder(bytes.NewReader(data))
	for n := 1; ; n++ {
		start := skipSpace(data, int(dec.InputOffset()))
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		src := Source{Doc: n, Line: lineAt(data, start)}
		if err != nil {
			de := &DocError{Source: src, Err: err}
			var se *json.SyntaxError
			if errors.As(err, &se) {
				de.ErrLine = lineAt(data, int(se.Offset))
			} else if errors.Is(err, io.ErrUnexpectedEOF) {
				de.ErrLine = lineAt(data, len(data))
			}
			return docs, de
		}
		docs = append(docs, document{Source: src, base: src.Line, data: raw, json: true})
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n') {
		i++
	}
	return i
}

// lineAt returns the 1-based line of byte offset off.
func lineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// splitYAML splits a YAML stream at document markers: a line that is "---"
// or "...", alone or followed by white space. Text after "--- " on the same
// line belongs to the new document (its columns are kept). Unlike
// apimachinery's YAMLReader, which this otherwise follows, it counts lines,
// and it splits at "..." too, where YAMLToJSON would silently drop what
// follows. Documents holding only blank lines and comments are not counted.
// A document's Line is its first line that is not blank or a comment.
func splitYAML(data []byte) []document {
	var docs []document
	var cur bytes.Buffer
	curLine, line := 1, 1
	flush := func(next int) {
		if first := firstContent(cur.Bytes()); first >= 0 {
			docs = append(docs, document{Source: Source{Doc: len(docs) + 1, Line: curLine + first},
				base: curLine, data: bytes.Clone(cur.Bytes())})
		}
		cur.Reset()
		curLine = next
	}
	for len(data) > 0 {
		l := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l = data[:i+1]
		}
		data = data[len(l):]
		switch marker(l) {
		case "---":
			flush(line)
			cur.WriteString("   ")
			cur.Write(l[3:])
		case "...":
			flush(line + 1)
		default:
			cur.Write(l)
		}
		line++
	}
	flush(line)
	return docs
}

// marker returns "---" or "..." when the line is a document marker.
func marker(l []byte) string {
	if len(l) < 3 {
		return ""
	}
	m := string(l[:3])
	if m != "---" && m != "..." {
		return ""
	}
	if len(l) > 3 && l[3] != ' ' && l[3] != '\t' && l[3] != '\r' && l[3] != '\n' {
		return ""
	}
	return m
}

// firstContent returns the 0-based index of the first line that is neither
// blank nor a comment, or -1 when there is none.
func firstContent(b []byte) int {
	for n := 0; len(b) > 0; n++ {
		l := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			l = b[:i+1]
		}
		b = b[len(l):]
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			return n
		}
	}
	return -1
}

// firstInvalidUTF8 returns the offset of the first byte that is not valid
// UTF-8, or -1.
func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}
