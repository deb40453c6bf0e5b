package lb

import (
	"io"
	"net"
	"sync"
)

// How the proxy moves TCP bytes.
//
// By default io.Copy between the two *net.TCPConn, which splices on Linux:
// the bytes go from one socket to the other through a pipe, never through
// user space; the pipe is held for the connection's life. With
// ProxyOptions.Buffered the proxy copies through a pooled buffer instead,
// taken from the pool only when data is ready and returned as soon as it
// is written: waiting for data holds neither buffer nor pipe, so an idle
// connection costs only its two sockets (copyReady, on Unix).

// copyBufSize is the size of a pooled copy buffer: one read's worth.
const copyBufSize = 32 << 10

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// copyTCP copies src to dst until src ends (nil) or either fails.
func copyTCP(dst, src *net.TCPConn, buffered bool) (int64, error) {
	if buffered {
		return copyReady(dst, src)
	}
	return io.Copy(dst, src)
}

// copyPooled is the portable buffered copy: it holds a pooled buffer for
// the whole copy.
func copyPooled(dst, src *net.TCPConn) (int64, error) {
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
}
