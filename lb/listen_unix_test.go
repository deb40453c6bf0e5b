//go:build unix

package lb

import (
	"net/netip"
	"syscall"
	"testing"
)

// boundSocket returns a TCP socket bound to 127.0.0.1 with a kernel-chosen
// port, closed when the test ends.
func boundSocket(t testing.TB) (int, netip.AddrPort, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return -1, netip.AddrPort{}, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return -1, netip.AddrPort{}, err
	}
	in := sa.(*syscall.SockaddrInet4)
	return fd, netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(in.Port)), nil
}

// listenBacklog0 opens a TCP listener on 127.0.0.1 with backlog 0 that
// nobody accepts from.
func listenBacklog0(t testing.TB) (netip.AddrPort, error) {
	fd, ap, err := boundSocket(t)
	if err != nil {
		return ap, err
	}
	return ap, syscall.Listen(fd, 0)
}

// boundNotListening reserves a loopback port with a socket that is bound
// but not listening: connects to it are refused, and no other socket takes
// the port while the test runs.
func boundNotListening(t testing.TB) (netip.AddrPort, error) {
	_, ap, err := boundSocket(t)
	return ap, err
}
