//go:build !unix

package lb

import "net"

// copyReady falls back to a buffer held for the whole copy where the
// socket cannot be waited on without reading.
func copyReady(dst, src *net.TCPConn) (int64, error) { return copyPooled(dst, src) }
