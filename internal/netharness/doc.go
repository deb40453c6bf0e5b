// Package netharness builds throwaway network-namespace topologies that carry
// real traffic, for the real-kernel tests of the iptables, nftables and IPVS
// backends.
//
// A Spec describes a node namespace (a pod bridge with gateway addresses, an
// external bridge holding the node IPs, forwarding and br_netfilter on,
// hairpin on the pod ports), pod namespaces on the pod bridge running TCP and
// UDP servers that answer "<pod> <source-ip-seen>", and client namespaces
// ("outside" hosts) on the external bridge. StandardSpec returns the
// project's shared addressing. Build creates it all inside anonymous
// namespaces of its own, in Go (netlink, setns on locked threads; no ip(8),
// so it also runs in the IPVS VM's busybox userland), and returns once every
// link is up, every bridge port forwards, every pod answers the node and
// every client reaches a pod. Nothing touches the test process's own namespace; Close (or
// the test's Cleanup, with BuildT) releases everything, and parallel
// topologies never see each other.
//
// # From a backend's test
//
//	kerneltest.Need(t, "nft")
//	topo := netharness.BuildT(t, netharness.StandardSpec())
//	ctx := t.Context()
//
//	// Program the node namespace, whichever way the backend talks:
//	conn, err := nftables.New(nftables.WithNetNSFd(int(topo.NodeNS())))         // netlink
//	out, err := topo.ExecInput(ctx, netharness.NodeName, rules, "iptables-nft-restore", "-w")
//	err = topo.Run(netharness.NodeName, exec.CommandContext(ctx, "iptables-save")) // any *exec.Cmd
//	path, err := topo.NSPath(netharness.NodeName)                                 // moby/ipvs.New(path)
//	h, err := topo.Netlink(netharness.NodeName)                                   // links, addresses
//	err = topo.Do(netharness.NodeName, func() error { ...sockets made here stay in the node... })
//
//	// Observe traffic from a client, a pod or the node itself:
//	r := topo.Probe(ctx, "client-a", "tcp", netip.MustParseAddrPort("10.96.0.1:80"), netharness.ProbeOptions{})
//	// r.Outcome: Reached (r.Server "pod-a", r.Seen 10.0.0.100: no SNAT),
//	// Refused (RST or ICMP unreachable, errno in r.Err) or Timeout (dropped).
//	rs := topo.ProbeN(ctx, "client-b", "udp", dst, 40, netharness.ProbeOptions{})
//	// rs.Servers() {"pod-a":21 "pod-b":19}, rs.Seen(), rs.Count(netharness.Timeout)
//
// # What to know
//
//   - Each namespace is tuned for determinism: IPv6 DAD off (addresses are
//     added with IFA_F_NODAD too), ICMP redirects neither sent nor accepted,
//     ICMP error rate limits off. Probe sockets set IP(V6)_RECVERR, so an ICMP
//     reject is reported at once rather than at the SYN retransmission. A
//     refusal comes back in well under a millisecond; DefaultProbeTimeout (1 s)
//     is what a drop costs, so give drop probes a shorter Timeout.
//   - The node has no default route: StandardSpec routes the service CIDRs
//     via the pod bridge (so that nat OUTPUT sees node-originated traffic to
//     a ClusterIP), and Build adds on-link routes for pod prefixes no bridge
//     address covers (the "remote" pods, 10.244.2.0/24).
//   - Build's readiness probes run before any rule asks for conntrack (whose
//     hooks register on demand), so the node's conntrack table starts empty;
//     they do leave the neighbour caches warm.
//   - Do runs fn on another goroutine, on a thread locked into the namespace;
//     goroutines fn starts are not in it, and fn must return errors rather
//     than call t.Fatal. Commands started by Start, Run, Exec and ExecInput
//     are forked from such a thread: they are in its network namespace but
//     share the host's mount namespace (/sys shows the host's devices;
//     /proc/sys/net and netlink are the namespace's).
//   - Use a fresh topology per iptables variant (never legacy and nft in one
//     namespace). iptables-legacy serialises on the host-wide xtables lock:
//     pass -w.
//   - Build needs br_netfilter unless Spec.Node.NoBridgeNF (pod to ClusterIP
//     to another pod on the bridge needs it); BuildT skips on a missing kernel
//     feature (ErrUnsupported) unless PROXYKIT_KERNEL_TESTS=required. The
//     harness never loads modules. SCTP is not served (see HaveSCTP).
package netharness
