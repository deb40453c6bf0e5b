package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
	"github.com/proxykit/proxykit/servicemodel/kube"
)

// buildPlan loads the input (or the sample) and compiles the plan. With bad
// input it returns the plan of the good objects (nil if none could be built)
// and an error naming every problem.
func buildPlan(o options, stdin io.Reader) (*rulegen.Plan, error) {
	var snap *servicemodel.Snapshot
	var inputErr error
	if len(o.files) == 0 {
		var err error
		if snap, err = sample.Snapshot(); err != nil {
			return nil, fmt.Errorf("built-in sample: %w", err)
		}
	} else {
		snap, inputErr = loadFiles(o.files, stdin)
	}
	plan, err := rulegen.Compile(snap, node(o), config(o))
	if err != nil {
		return nil, err
	}
	return plan, inputErr
}

func node(o options) rulegen.Node {
	n := sample.Node()
	if o.nodeName != "" {
		n.Name = o.nodeName
	}
	if len(o.nodeIPs) > 0 {
		n.IPs = o.nodeIPs
	}
	return n
}

func config(o options) rulegen.Config {
	cfg := sample.Config()
	if len(o.clusterCIDRs) > 0 {
		cfg.LocalDetector = nat.ByCIDR(nat.DetectClusterCIDR, o.clusterCIDRs...)
	}
	cfg.MasqueradeAll = o.masqueradeAll
	return cfg
}

// loadFiles reads every file ("-" is stdin) and builds one snapshot of the
// good objects; the error names each file with its problems.
func loadFiles(files []string, stdin io.Reader) (*servicemodel.Snapshot, error) {
	var svcs []*servicemodel.Service
	var slices []*servicemodel.EndpointSlice
	var errs []error
	for _, name := range files {
		res, err := loadFile(name, stdin)
		if res != nil {
			svcs = append(svcs, res.Services...)
			slices = append(slices, res.Slices...)
		}
		if err != nil {
			errs = append(errs, &FileError{File: name, Err: err})
		}
	}
	snap, err := servicemodel.NewSnapshot(svcs, slices)
	if err != nil {
		errs = append(errs, err)
	}
	return snap, errors.Join(errs...)
}

func loadFile(name string, stdin io.Reader) (*kube.LoadResult, error) {
	if name == "-" {
		return kube.Load(stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return kube.Load(f)
}

// FileError is a problem with one input file; Err may join several.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string {
	var lines []string
	for _, line := range strings.Split(e.Err.Error(), "\n") {
		lines = append(lines, e.File+": "+line)
	}
	return strings.Join(lines, "\n")
}

func (e *FileError) Unwrap() error { return e.Err }
