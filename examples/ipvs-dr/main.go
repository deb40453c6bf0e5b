// Command ipvs-dr sets up IPVS direct-routing (DR) ingress, the classic way to
// bring outside traffic into a cluster without a cloud load balancer:
//
//	client ──► director (holds the VIP; IPVS virtual server in DR mode)
//	              │ forwards each frame unchanged (same L2 segment)
//	              ▼
//	           node-0, node-1 (do NOT hold the VIP; a Service whose
//	              │            externalIPs carry the VIP, served by
//	              ▼            proxykit's iptables rules)
//	             pods ──► replies go from the node straight to the client
//
// Subcommands (each programs the network namespace it runs in, or -netns):
//
//	ipvs-dr print    [flags]   print both sides' rules, offline (no root, no IPVS)
//	ipvs-dr director [flags]   director: VIP on the dummy interface, DR virtual server
//	ipvs-dr node     [flags]   node: the Service's rules (iptables backend)
//	ipvs-dr cleanup-director | cleanup-node [flags]
//
// Flags: -vip 203.0.113.50 -port 80 -target-port 8080 -node 10.1.0.11
// -node 10.1.0.12 (the director's real servers) -node-name node-0 -node-ip
// 10.1.0.11 -endpoint 10.244.1.10@node-0 (repeatable) -scheduler rr -netns
// /run/netns/NAME -iptables legacy|nft.
//
// The director needs the kernel's IPVS (module ip_vs). Where it is missing
// the command says so and exits with status 3; on such a host try it in the
// project's test VM:
//
//	go build -o /tmp/ipvs-dr ./examples/ipvs-dr
//	go run ./internal/vmtest/cmd/vmrun /tmp/ipvs-dr director -node 10.1.0.11
//
// The package ipvs/ipvsvm test TestDirectRoutingIngress runs the whole
// scenario (client, director, two nodes, pods) in namespaces in that VM.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// Exit statuses.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitNoIPVS = 3
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: ipvs-dr print|director|node|cleanup-director|cleanup-node [flags]")
		return exitUsage
	}
	cmd := args[0]
	o, err := parseFlags(cmd, args[1:], stderr)
	if err != nil {
		fmt.Fprintln(stderr, "ipvs-dr:", err)
		return exitUsage
	}
	switch cmd {
	case "print":
		err = printBoth(stdout, o)
	case "director", "cleanup-director":
		err = director(ctx, o, cmd == "cleanup-director")
	case "node", "cleanup-node":
		err = node(ctx, o, cmd == "cleanup-node")
	default:
		fmt.Fprintf(stderr, "ipvs-dr: unknown subcommand %q\n", cmd)
		return exitUsage
	}
	switch {
	case errors.Is(err, errNoIPVS):
		fmt.Fprintln(stderr, "ipvs-dr:", err)
		return exitNoIPVS
	case err != nil:
		fmt.Fprintln(stderr, "ipvs-dr:", err)
		return exitError
	}
	return exitOK
}
