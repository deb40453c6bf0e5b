// Command render shows what each proxykit backend would program for a set of
// Kubernetes Services and EndpointSlices, offline: no root, no kernel.
//
//	go run ./examples/render [-mode plan|iptables|nftables|ipvs|userspace|all]
//	    [-family 4|6] [-node-name NAME] [-node-ip IP]... [-cluster-cidr CIDR]...
//	    [-masquerade-all] [-keep-going] [FILE|-]...
//
// With no FILE it renders the built-in sample cluster. Files hold YAML or
// JSON as kubectl prints it (multi-document, kind: List). Bad input exits
// with status 2 and a message naming the file, document and field; with
// -keep-going the good objects are still rendered.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // rendering failed
	exitUsage = 2 // bad flags or bad input
)

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, errHelp) {
			return exitOK
		}
		fmt.Fprintln(stderr, "render:", err)
		return exitUsage
	}
	plan, inputErr := buildPlan(opts, stdin)
	if inputErr != nil {
		fmt.Fprintln(stderr, "render:", inputErr)
		if plan == nil || !opts.keepGoing {
			return exitUsage
		}
	}
	if err := renderModes(ctx, stdout, plan, opts); err != nil {
		fmt.Fprintln(stderr, "render:", err)
		return exitError
	}
	if inputErr != nil {
		return exitUsage
	}
	return exitOK
}
