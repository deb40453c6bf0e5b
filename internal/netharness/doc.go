// Package netharness builds throwaway network-namespace topologies that carry
// real traffic, for the real-kernel tests of the iptables, nftables and IPVS
// backends.
//
// A Spec describes a node namespace (a pod bridge with gateway addresses, an
// external bridge holding the node IPs, forwarding and br_netfilter on,
// hairpin on the pod ports), pod namespaces on the pod bridge running TCP and
// UDP servers that answer "<pod> <source-ip-seen>", and client namespaces
// ("outside" hosts) on the external bridge. Build creates it entirely inside
// anonymous namespaces of its own, in Go (netlink, setns on locked threads;
// no ip(8)), and waits until every path answers. Nothing touches the host's
// namespace, and Close (or the test's Cleanup with BuildT) releases it all.
//
// Tests then load rules into the node namespace (Exec or ExecInput run a
// program there, e.g. "nft -f -" or "iptables-nft-restore"; NodeNS gives an
// fd for nftables.WithNetNSFd; NSPath a path for moby/ipvs.New) and observe
// traffic with Probe and ProbeN from the node, a pod or a client: Reached
// (which pod, and the source address it saw), Refused (RST or ICMP
// unreachable) or Timeout (dropped).
//
//	kerneltest.Need(t, "nft")
//	topo := netharness.BuildT(t, netharness.StandardSpec())
//	_, err := topo.ExecInput(ctx, netharness.NodeName, strings.NewReader(rules), "nft", "-f", "-")
//	r := topo.Probe(ctx, "client-a", "tcp", netip.MustParseAddrPort("10.96.0.1:80"), netharness.ProbeOptions{})
//	// r.Outcome == netharness.Reached, r.Server == "pod-a", r.Seen == 10.0.0.100
package netharness
