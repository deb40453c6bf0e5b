//go:build !unix

package lb

import (
	"errors"
	"net/netip"
	"testing"
)

func listenBacklog0(testing.TB) (netip.AddrPort, error) {
	return netip.AddrPort{}, errors.New("no raw sockets here")
}

func boundNotListening(testing.TB) (netip.AddrPort, error) {
	return netip.AddrPort{}, errors.New("no raw sockets here")
}
