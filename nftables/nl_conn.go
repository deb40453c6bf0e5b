package nftables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/proxykit/proxykit/internal/nsthread"
)

// errOutcomeUnknown marks a batch whose replies were lost (ENOBUFS): the
// kernel may or may not have committed it.
var errOutcomeUnknown = errors.New("batch outcome unknown")

// nlSocket is a NETLINK_NETFILTER socket, opened inside a network namespace.
type nlSocket struct {
	fd   int
	rbuf []byte // receive buffer, reused by every read (the socket is used by one goroutine at a time)
}

// recvBufSize is the receive buffer's size: room for a full batch of dump
// replies (the kernel fills up to 16 KiB, or a page, per recv).
const recvBufSize = 256 << 10

// recvBuf returns the socket's receive buffer.
func (s *nlSocket) recvBuf() []byte {
	if s.rbuf == nil {
		s.rbuf = make([]byte, recvBufSize)
	}
	return s.rbuf
}

// openSocket opens the socket in the namespace nsFd (-1: the caller's). The
// namespace switch happens on a throwaway locked thread (internal/nsthread),
// so a failure to switch back cannot leak into other goroutines.
func openSocket(nsFd int) (*nlSocket, error) {
	fd := -1
	open := func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER); err != nil {
			return fmt.Errorf("nftables: netlink socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return fmt.Errorf("nftables: bind: %w", err)
		}
		return nil
	}
	var err error
	if nsFd >= 0 {
		err = nsthread.In(netns.NsHandle(nsFd), open)
	} else {
		err = open()
	}
	if err != nil {
		if fd >= 0 {
			_ = unix.Close(fd)
		}
		return nil, err
	}
	// Generous buffers so that error reports of a large batch are not dropped.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	return &nlSocket{fd: fd}, nil
}

func (s *nlSocket) close() error { return unix.Close(s.fd) }

// nlError is one error report: the seq of the refused message and its errno.
type nlError struct {
	seq   uint32
	errno syscall.Errno
}

// send sends one batch (the kernel processes it synchronously within
// sendmsg) and collects the error reports queued for it.
func (s *nlSocket) send(buf []byte) ([]nlError, error) {
	if _, err := s.drain(); err != nil && !errors.Is(err, errOutcomeUnknown) {
		return nil, err
	}
	if len(buf)+4096 > 200<<10 {
		if err := unix.SetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, len(buf)+4096); err != nil {
			return nil, fmt.Errorf("nftables: SO_SNDBUFFORCE %d: %w", len(buf), err)
		}
	}
	if err := unix.Sendto(s.fd, buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("nftables: sendmsg (%d bytes): %w", len(buf), err)
	}
	return s.drain()
}

// drain reads every queued message without blocking.
func (s *nlSocket) drain() ([]nlError, error) {
	var errs []nlError
	rbuf := s.recvBuf()
	for {
		n, _, err := unix.Recvfrom(s.fd, rbuf, unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EWOULDBLOCK):
			return errs, nil
		case errors.Is(err, unix.ENOBUFS):
			return errs, fmt.Errorf("nftables: %w: %w", errOutcomeUnknown, unix.ENOBUFS)
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return errs, fmt.Errorf("nftables: recvmsg: %w", err)
		}
		msgs, err := syscall.ParseNetlinkMessage(rbuf[:n])
		if err != nil {
			return errs, fmt.Errorf("nftables: parse reply: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4+nlmsgHdrLen {
				continue
			}
			code := int32(binary.NativeEndian.Uint32(m.Data[:4]))
			if code == 0 {
				continue // an ack
			}
			errs = append(errs, nlError{seq: binary.NativeEndian.Uint32(m.Data[4+8:]), errno: syscall.Errno(-code)})
		}
	}
}
