//go:build !unix

package lb

import (
	"errors"
	"net/netip"
	"testing"
)

func listenBacklog0(*testing.T) (netip.AddrPort, error) {
	return netip.AddrPort{}, errors.New("no raw sockets here")
}
