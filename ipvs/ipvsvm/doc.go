// Package ipvsvm holds the real-kernel tests of package ipvs. The host's
// kernel may lack IPVS, so TestMain hands the package's test binary to
// internal/vmtest, which boots Debian's kernel under qemu when needed: one
// boot runs every test and benchmark here. The package has no code of its
// own; its tests are:
//
//   - the ipvstest conformance suite against ipvs.Real (program, small
//     changes in at most 3 writes, rollback after injected failures, foreign
//     services untouched, ownership after a restart, strictness);
//   - every scheduler name the kernel has;
//   - ipvsadm agreeing with the netlink path both ways (`ipvsadm -R` of
//     SaveIPVS, `ipvsadm -S -n` and `-L -n` of what netlink programmed);
//   - graceful termination with a real TCP connection;
//   - benchmarks of programming 1k virtual servers x 10 real servers over
//     netlink and with `ipvsadm -R`, in the same VM run;
//   - through ipvs.Backend (virtual servers, dummy addresses, ipsets and the
//     companion iptables rules): the packet-flow table with real traffic
//     (internal/flowkernel), graceful termination of a live connection,
//     rollback after an injected failure, a foreign service untouched, every
//     scheduler, Cleanup; DR ingress (a client, a director balancing a VIP in
//     DR mode over two nodes that run the iptables backend for a Service whose
//     externalIPs carry the VIP; replies bypass the director); benchmarks of
//     programming the 1k x 10 fixture from empty (vs the tools), of one
//     endpoint change at 1k and 10k services, and of one real server added
//     and removed at 1k and 10k services interleaved in one run (medians).
//
// Run: go test ./ipvs/ipvsvm (add -bench . for the benchmarks).
package ipvsvm
