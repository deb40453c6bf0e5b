package vmtest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritePayload(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "payload.sh")
	if err := os.WriteFile(script, []byte("#!/bin/bash\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "testdata")
	if err := os.MkdirAll(filepath.Join(data, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "sub", "golden.txt"), []byte("gold"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := &Image{files: map[string]bool{}, logger: slog.New(slog.DiscardHandler)}
	var buf bytes.Buffer
	o := &RunOptions{Binary: script, Args: []string{"-test.v", "a b"}, Env: []string{"K=it's"},
		Dir: "/work/pkg", Modules: []string{"nf_nat"}, CopyDirs: []string{data}}
	if err := img.writePayload(context.Background(), NewArchive(&buf), "n0nce", o); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range readNewc(t, buf.Bytes()) {
		got[e.name] = e.data
	}
	want := map[string]string{
		"payload/bin":     "#!/bin/bash\necho hi\n",
		"payload/args":    "-test.v\na b\n",
		"payload/env":     "export K='it'\\''s'\n",
		"payload/dir":     "/work/pkg\n",
		"payload/nonce":   "n0nce\n",
		"payload/modules": "nf_nat\n",
		strings.TrimPrefix(filepath.Join(data, "sub", "golden.txt"), "/"): "gold",
	}
	for name, body := range want {
		if got[name] != body {
			t.Errorf("%s = %q, want %q", name, got[name], body)
		}
	}
}

// A dynamically linked payload brings the libraries the base lacks, and only those.
func TestWritePayloadLibraries(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	libs, err := sharedLibs(context.Background(), self)
	if err != nil {
		t.Skipf("cannot resolve this binary's libraries here: %v", err)
	}
	if len(libs) == 0 {
		t.Skip("this test binary is static")
	}
	inBase := archivePath(libs[0])
	img := &Image{files: map[string]bool{inBase: true}, logger: slog.New(slog.DiscardHandler)}
	var buf bytes.Buffer
	if err := img.writePayload(context.Background(), NewArchive(&buf), "n", &RunOptions{Binary: self}); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range readNewc(t, buf.Bytes()) {
		names[e.name] = true
	}
	if names[inBase] {
		t.Errorf("%s is in the base but was added again", inBase)
	}
	for _, l := range libs[1:] {
		if !names[archivePath(l)] {
			t.Errorf("library %s missing from the payload", l)
		}
	}
}
