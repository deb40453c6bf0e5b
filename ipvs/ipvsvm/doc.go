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
//     netlink and with `ipvsadm -R`, in the same VM run.
//
// Run: go test ./ipvs/ipvsvm (add -bench . for the benchmarks).
package ipvsvm
