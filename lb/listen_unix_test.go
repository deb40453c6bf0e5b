//go:build unix

package lb

import (
	"net/netip"
	"syscall"
	"testing"
)

// listenBacklog0 opens a TCP listener on 127.0.0.1 with backlog 0 that
// nobody accepts from.
func listenBacklog0(t testing.TB) (netip.AddrPort, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return netip.AddrPort{}, err
	}
	if err := syscall.Listen(fd, 0); err != nil {
		return netip.AddrPort{}, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	in := sa.(*syscall.SockaddrInet4)
	return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(in.Port)), nil
}

// boundNotListening reserves a loopback port with a socket that is bound
// but not listening: connects to it are refused, and no other socket takes
// the port while the test runs.
func boundNotListening(t testing.TB) (netip.AddrPort, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return netip.AddrPort{}, err
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return netip.AddrPort{}, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return netip.AddrPort{}, err
	}
	in := sa.(*syscall.SockaddrInet4)
	return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), uint16(in.Port)), nil
}
