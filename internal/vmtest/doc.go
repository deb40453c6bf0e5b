// Package vmtest runs a test binary inside a small virtual machine that boots
// Debian's kernel, for tests that need kernel features the host lacks (IPVS
// above all: the development hosts' kernel has none).
//
// # Use
//
// A test package that needs IPVS calls Main from its TestMain and Need at the
// start of each IPVS test:
//
//	func TestMain(m *testing.M) { vmtest.Main(m, vmtest.Options{}) }
//
//	func TestSomething(t *testing.T) {
//		vmtest.Need(t, "ipvsadm") // root, tools, IPVS: skip or fail per PROXYKIT_KERNEL_TESTS
//		...
//	}
//
// When the running kernel has IPVS (or this already is the VM), Main just runs
// the tests. Otherwise it boots the VM with the test binary itself and the
// same arguments (-test.v, -test.run, -test.bench, ...), relays its output to
// stdout and exits with its exit code: one boot per test package, so keep
// VM-only tests together. If the VM cannot be had (no qemu, not Debian, no
// download), the tests run on the host and Need skips them, or, with
// PROXYKIT_KERNEL_TESTS=required, Main fails. With PROXYKIT_KERNEL_TESTS=off,
// or for -test.list, no VM is booted.
//
// To run any program (or another package's tests, one boot per package) in
// the VM: `go run ./internal/vmtest/cmd/vmrun [-v] <binary> [args...]`, or
// `go test -exec "go run ./internal/vmtest/cmd/vmrun" ./pkg`.
//
// # How it works
//
// Prepare builds, once per kernel package and harness version, an image in
// the cache: `apt-get download` of the linux-image package that
// linux-image-amd64 depends on (nothing is installed on the host; apt-get
// update runs only when apt has no lists), `dpkg -x`, `depmod -b`; the
// bzImage's ELF vmlinux is extracted (xz) so that qemu boots it directly with
// PVH, skipping the decompressor (~2 s under TCG). Then an uncompressed cpio
// initramfs (gunzip takes seconds under TCG; the plain archive unpacks in
// half a second) with: the closure (modules.dep plus soft dependencies, e.g.
// libcrc32c -> crc32c) of all netfilter, IPVS, ipset, nf_tables, xtables and
// bridge modules and the dummy, veth, macvlan, tun and xfrm_user drivers,
// with their own small depmod index; static busybox; bash; the host's
// ipvsadm, nft, iptables/ip6tables (legacy and nft, with -save and -restore,
// and the xtables plugins), ipset, conntrack, ip, ss, bridge, tc and ldd with
// their shared libraries; and an /init. The base initramfs is padded to 512
// bytes. Cold this takes about 5 s on an idle 2-core host (25-45 s when the
// host is busy), plus the ~70 MB download; later calls only stat the cache
// (the package that linux-image-amd64 depends on is remembered until apt's
// lists change). Concurrent preparations (two test packages at once)
// serialize on a file lock and publish the image by atomic rename. If apt cannot answer (offline), the
// newest cached image is used.
//
// Image.Run appends a second, uncompressed cpio with /payload/bin (the binary
// and whatever shared libraries the base lacks, so a cgo-linked `go test`
// binary works), its arguments, environment and working directory, then boots
// qemu-system-x86_64 with 1 GiB and 2 vCPUs: KVM only when kvm_intel or
// kvm_amd is loaded, else TCG (`-accel tcg,thread=multi -cpu max`; this
// machine's /dev/kvm, kvm_pvm, cannot boot a stock kernel). /init mounts
// proc, sys, devtmpfs, devpts and tmpfs on /tmp and /run, sets
// /proc/sys/kernel/modprobe to busybox's modprobe (on-demand module loading,
// e.g. IPVS schedulers and nft expressions, needs it), brings lo up, loads
// the boot modules (ip_vs and every scheduler the kernel has, conntrack, NAT,
// nf_tables, xtables, ipset, veth, bridge, br_netfilter, dummy, xfrm_user),
// runs the payload as root, prints its output between markers on the serial
// console with its exit code, and powers off. A context deadline kills qemu.
// Booting to the payload takes about 6 s under TCG on an idle 2-core host
// (8-20 s when it is busy).
//
// # Inside the VM
//
//   - Only the initramfs exists: the test's working directory is created
//     empty at the same path as on the host. Tests must not rely on files of
//     the host; Options.CopyTestdata copies the package's ./testdata (to the
//     same absolute path), RunOptions.CopyDirs any directory.
//   - Files that go test asks the binary to write (-test.coverprofile,
//     -test.cpuprofile, -test.gocoverdir, -test.testlogfile, ...) are written
//     inside the VM and lost: no profiles or coverage data come back, and go
//     test does not cache the package's result.
//   - stdout and stderr are merged; the serial line turns "\n" into "\r\n",
//     which is undone, so binary output is not preserved.
//   - Busybox sh prefers its own applets (its `ip`) to PATH: use #!/bin/bash
//     for shell payloads. Plain iptables is the nft variant.
//   - The go test -timeout still applies inside; Main gives the VM that
//     timeout plus Options.Overhead (3 min by default). go test kills the
//     outer binary one minute after its -timeout, so preparing and booting
//     (10-40 s) use up part of that minute.
//
// # Environment
//
//   - PROXYKIT_VM_CACHE: cache directory (default os.UserCacheDir()/proxykit/vm).
//     Each image is a directory <package>-<recipe hash> (~55 MB: vmlinux and
//     initramfs); the last .deb (~70 MB) is kept. Old images are not pruned.
//   - PROXYKIT_VM_KERNEL_PKG: boot this linux-image-* package instead.
//   - PROXYKIT_VM_ACCEL: "kvm" or "tcg" to override accelerator detection.
//   - PROXYKIT_VM_CONSOLE=1: copy the kernel console to stderr (debugging).
//   - PROXYKIT_KERNEL_TESTS: see package kerneltest; passed into the VM, as
//     are all PROXYKIT_* variables and GODEBUG, GOTRACEBACK.
//   - PROXYKIT_VM (set to 1 in the VM) and PROXYKIT_VM_SKIP (why there is no
//     VM) are set by the harness.
package vmtest
