package netharness

import (
	"fmt"

	"github.com/vishvananda/netns"

	"github.com/proxykit/proxykit/internal/nsthread"
)

// runIn runs fn with the calling OS thread inside ns. Sockets created by fn
// stay in ns for their whole life, whatever thread later uses them.
func runIn(ns netns.NsHandle, fn func() error) error { return nsthread.In(ns, fn) }

// newNamespace creates an anonymous network namespace. It lives as long as
// the returned handle (or a socket or process inside it) does.
func newNamespace() (netns.NsHandle, error) {
	ns := netns.None()
	err := nsthread.Do(func() error {
		var err error
		ns, err = netns.New()
		return err
	}, func() error { return nil })
	if err != nil {
		if ns.IsOpen() {
			ns.Close()
		}
		return netns.None(), fmt.Errorf("netharness: new netns: %w", err)
	}
	return ns, nil
}
