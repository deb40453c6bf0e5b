package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestRunOptions(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "pkg.test")
	if err := os.WriteFile(bin, []byte("#!/bin/bash\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("PROXYKIT_KERNEL_TESTS", "required")
	o, err := runOptions([]string{"pkg.test", "-test.v"}, []string{"A=1"}, []string{"nf_nat"}, 512, 1, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if o.Binary != bin || o.Dir != dir || len(o.Args) != 1 || o.MemoryMiB != 512 || o.CPUs != 1 {
		t.Fatalf("options %+v", o)
	}
	if len(o.CopyDirs) != 1 || o.CopyDirs[0] != filepath.Join(dir, "testdata") {
		t.Fatalf("CopyDirs %v", o.CopyDirs)
	}
	found := false
	for _, kv := range o.Env {
		found = found || kv == "PROXYKIT_KERNEL_TESTS=required"
	}
	if !found {
		t.Fatalf("PROXYKIT_KERNEL_TESTS not passed into the VM: %v", o.Env)
	}
	if _, err := runOptions([]string{"missing.test"}, nil, nil, 0, 0, false, false); err == nil {
		t.Fatal("missing binary accepted")
	}
}

func Example_multi() {
	var m multi
	_ = m.Set("ip_vs")
	_ = m.Set("nf_nat")
	fmt.Println(m.String())
	// Output: ip_vs,nf_nat
}
