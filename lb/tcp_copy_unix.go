//go:build unix

package lb

import (
	"net"
	"os"
	"syscall"
)

// copyReady copies src to dst, reading from the socket only when the
// netpoller reports it readable and only then taking a pooled buffer.
func copyReady(dst, src *net.TCPConn) (int64, error) {
	rc, err := src.SyscallConn()
	if err != nil {
		return copyPooled(dst, src)
	}
	var total int64
	for {
		buf, n, err := readReady(rc)
		if err != nil || n == 0 {
			return total, err
		}
		_, err = dst.Write((*buf)[:n])
		copyBufs.Put(buf)
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// readReady waits until rc is readable and reads once into a pooled
// buffer, which the caller returns to the pool. n == 0 with a nil error is
// the end of the stream (no buffer is returned then).
func readReady(rc syscall.RawConn) (*[]byte, int, error) {
	var (
		buf  *[]byte
		n    int
		rerr error
	)
	err := rc.Read(func(fd uintptr) bool {
		buf = copyBufs.Get().(*[]byte)
		for {
			n, rerr = syscall.Read(int(fd), *buf)
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			copyBufs.Put(buf)
			return false // wait for the netpoller, holding no buffer
		}
		return true
	})
	switch {
	case err != nil: // closed, or the poller failed: the callback holds no buffer
		return nil, 0, err
	case rerr != nil:
		copyBufs.Put(buf)
		return nil, 0, os.NewSyscallError("read", rerr)
	case n <= 0:
		copyBufs.Put(buf)
		return nil, 0, nil
	}
	return buf, n, nil
}
