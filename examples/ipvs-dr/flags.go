package main

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// options are the scenario's parameters.
type options struct {
	vip         netip.Addr
	clusterIP   netip.Addr
	port        int
	targetPort  int
	nodes       []netip.Addr // the director's real servers
	nodeName    string
	nodeIP      netip.Addr
	endpoints   []endpoint // the Service's endpoints, for the node side
	scheduler   string
	netns       string
	iptablesVar string
}

type endpoint struct {
	addr netip.Addr
	node string
}

type addrList []netip.Addr

func (l *addrList) String() string { return fmt.Sprint(*l) }
func (l *addrList) Set(s string) error {
	a, err := netip.ParseAddr(s)
	*l = append(*l, a)
	return err
}

type endpointList []endpoint

func (l *endpointList) String() string { return fmt.Sprint(*l) }
func (l *endpointList) Set(s string) error {
	addr, node, ok := strings.Cut(s, "@")
	a, err := netip.ParseAddr(addr)
	if err != nil || !ok || node == "" {
		return fmt.Errorf("want ADDRESS@NODE, got %q", s)
	}
	*l = append(*l, endpoint{a, node})
	return nil
}

func parseFlags(cmd string, args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("ipvs-dr "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	vip := fs.String("vip", "203.0.113.50", "the virtual IP the director holds and the Service's externalIP")
	cip := fs.String("cluster-ip", "10.96.0.80", "the Service's ClusterIP")
	fs.IntVar(&o.port, "port", 80, "the Service port (DR keeps the port: the nodes serve it)")
	fs.IntVar(&o.targetPort, "target-port", 8080, "the pods' port")
	nodes := (*addrList)(&o.nodes)
	fs.Var(nodes, "node", "a node address, real server of the director (repeatable)")
	fs.StringVar(&o.nodeName, "node-name", "node-0", "this node's name (node side)")
	nodeIP := fs.String("node-ip", "10.1.0.11", "this node's address (node side)")
	fs.Var((*endpointList)(&o.endpoints), "endpoint", "a pod of the Service, ADDRESS@NODE (repeatable)")
	fs.StringVar(&o.scheduler, "scheduler", "rr", "the director's IPVS scheduler, with flags as name:flag,flag")
	fs.StringVar(&o.netns, "netns", "", "network namespace path to program (default: this process's)")
	fs.StringVar(&o.iptablesVar, "iptables", "", "iptables variant on the node: legacy or nft (default: detect)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var err error
	if o.vip, err = netip.ParseAddr(*vip); err != nil {
		return o, fmt.Errorf("-vip: %w", err)
	}
	if o.clusterIP, err = netip.ParseAddr(*cip); err != nil {
		return o, fmt.Errorf("-cluster-ip: %w", err)
	}
	if o.nodeIP, err = netip.ParseAddr(*nodeIP); err != nil {
		return o, fmt.Errorf("-node-ip: %w", err)
	}
	if len(o.nodes) == 0 {
		o.nodes = []netip.Addr{netip.MustParseAddr("10.1.0.11"), netip.MustParseAddr("10.1.0.12")}
	}
	if len(o.endpoints) == 0 {
		o.endpoints = []endpoint{{netip.MustParseAddr("10.244.1.10"), "node-0"}, {netip.MustParseAddr("10.244.2.10"), "node-1"}}
	}
	return o, nil
}
