package kube

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/proxykit/proxykit/servicemodel"
)

// FuzzLoad checks that no input makes Load panic, and that what it returns
// is consistent: good objects validate, and every problem is a typed error
// that points inside the input.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{"", "---\n...\n", "- a\n", "kind: List\napiVersion: v1\nitems: [{kind: List, apiVersion: v1, items: [1]}]", "{\"a\":", "\t\x00\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := LoadOptions{MaxBytes: 1 << 20}.Load(bytes.NewReader(data))
		if res == nil {
			t.Fatal("nil result")
		}
		if (err != nil) != (len(res.Errors) > 0) {
			t.Fatalf("error %v but Errors %v", err, res.Errors)
		}
		checkLoadResult(t, res, bytes.Count(data, []byte{'\n'})+1)
	})
}

func checkLoadResult(t *testing.T, res *LoadResult, lines int) {
	for _, s := range res.Services {
		if errs := servicemodel.Validate(s); len(errs) > 0 {
			t.Errorf("returned an invalid service %s: %v", s.Name, errs)
		}
	}
	for _, es := range res.Slices {
		if errs := servicemodel.ValidateSlice(es); len(errs) > 0 {
			t.Errorf("returned an invalid slice %s: %v", es.Name, errs)
		}
	}
	for _, err := range res.Errors {
		var de *DocError
		var oe *ObjectError
		switch {
		case errors.As(err, &de):
			if de.Doc < 1 || de.Line < 1 || de.Line > lines || de.ErrLine < 0 || de.ErrLine > lines {
				t.Errorf("%v: position outside the input's %d lines: %+v", err, lines, de.Source)
			}
		case errors.As(err, &oe):
			if oe.Doc < 1 || oe.Line < 1 || oe.Line > lines {
				t.Errorf("%v: position outside the input's %d lines", err, lines)
			}
		default:
			t.Errorf("untyped error %T: %v", err, err)
		}
	}
}
