package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/proxykit/proxykit/internal/sample"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
	"github.com/proxykit/proxykit/servicemodel/kube"
)

// input is what the proxy serves: Services and EndpointSlices (which -demo
// rewrites) and the node they are compiled for.
type input struct {
	services []*servicemodel.Service
	slices   []*servicemodel.EndpointSlice
}

// loadInput reads the files ("-" is stdin), or takes the sample cluster
// when there are none. Objects that do not convert are reported and the
// others served.
func loadInput(files []string, stdin io.Reader, log *slog.Logger) (*input, error) {
	if len(files) == 0 {
		return &input{services: sample.Services(), slices: sample.Slices()}, nil
	}
	in := &input{}
	for _, name := range files {
		res, err := loadFile(name, stdin)
		if res == nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err != nil {
			log.Warn("skipping what did not convert", "file", name, "err", err)
		}
		in.services = append(in.services, res.Services...)
		in.slices = append(in.slices, res.Slices...)
	}
	if len(in.services) == 0 {
		return nil, errors.New("no Service in the input")
	}
	return in, nil
}

// loadFile reads one file, or stdin for "-".
func loadFile(name string, stdin io.Reader) (*kube.LoadResult, error) {
	r := stdin
	if name != "-" {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	return kube.Load(r)
}

// plan compiles the input for the sample's node, IPv4 only.
func (in *input) plan(log *slog.Logger) (*rulegen.Plan, error) {
	snap, err := servicemodel.NewSnapshot(in.services, in.slices)
	if err != nil && snap == nil {
		return nil, err
	}
	if err != nil {
		log.Warn("skipping invalid objects", "err", err)
	}
	cfg := sample.Config()
	cfg.Families = []servicemodel.IPFamily{servicemodel.IPv4}
	return rulegen.Compile(snap, sample.Node(), cfg)
}
