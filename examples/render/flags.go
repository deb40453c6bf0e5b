package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/proxykit/proxykit/servicemodel"
)

var errHelp = errors.New("help requested")

type options struct {
	mode          string
	family        servicemodel.IPFamily // "" for both
	nodeName      string
	nodeIPs       []netip.Addr
	clusterCIDRs  []netip.Prefix
	masqueradeAll bool
	keepGoing     bool
	files         []string
}

// addrList and prefixList are repeatable flags.
type addrList []netip.Addr

func (l *addrList) String() string { return fmt.Sprint(*l) }
func (l *addrList) Set(s string) error {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return err
	}
	*l = append(*l, a)
	return nil
}

type prefixList []netip.Prefix

func (l *prefixList) String() string { return fmt.Sprint(*l) }
func (l *prefixList) Set(s string) error {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return err
	}
	if p != p.Masked() {
		return fmt.Errorf("%s is not a network address (did you mean %s?)", s, p.Masked())
	}
	*l = append(*l, p)
	return nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	var family string
	var ips addrList
	var cidrs prefixList
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", "all", "what to render: "+strings.Join(modeNames(), "|")+"|all")
	fs.StringVar(&family, "family", "", "limit to IP family 4 or 6 (iptables prints IPv4 unless -family 6)")
	fs.StringVar(&o.nodeName, "node-name", "", "the node to render for (default: the sample's node-a)")
	fs.Var(&ips, "node-ip", "a node IP, repeatable (default: the sample's 10.0.0.10 and fd00::10)")
	fs.Var(&cidrs, "cluster-cidr", "a cluster CIDR for the local-traffic detector, repeatable (default: the sample's)")
	fs.BoolVar(&o.masqueradeAll, "masquerade-all", false, "masquerade all traffic to cluster IPs")
	fs.BoolVar(&o.keepGoing, "keep-going", false, "render the good objects even when some input is bad (still exit 2)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: render [flags] [FILE|-]...\nRenders Kubernetes Services and EndpointSlices (YAML/JSON) as each proxykit backend would program them; with no FILE, the built-in sample cluster.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, errHelp
		}
		return o, err
	}
	switch family {
	case "":
	case "4":
		o.family = servicemodel.IPv4
	case "6":
		o.family = servicemodel.IPv6
	default:
		return o, fmt.Errorf("-family %q: must be 4 or 6", family)
	}
	if o.mode != "all" && lookupMode(o.mode) == nil {
		return o, fmt.Errorf("-mode %q: %w", o.mode, modeError(o.mode))
	}
	o.nodeIPs, o.clusterCIDRs, o.files = ips, cidrs, fs.Args()
	return o, nil
}
