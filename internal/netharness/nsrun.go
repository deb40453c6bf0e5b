package netharness

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// errGoexit reports a function that ended its goroutine (runtime.Goexit, as
// t.FailNow does) instead of returning.
var errGoexit = errors.New("netharness: function called runtime.Goexit")

// onFreshThread runs fn on a new goroutine locked to its OS thread and never
// unlocks it: when the goroutine ends the runtime destroys the thread, so a
// thread whose network namespace fn (or setup) changed never runs other Go
// code. A panic in fn is returned as an error.
func onFreshThread(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		returned := false
		defer func() {
			if r := recover(); r != nil {
				errc <- fmt.Errorf("netharness: panic in namespace function: %v", r)
			} else if !returned {
				errc <- errGoexit
			}
		}()
		err := fn()
		returned = true
		errc <- err
	}()
	return <-errc
}

// runIn runs fn with the calling OS thread inside ns. Sockets created by fn
// stay in ns for their whole life, whatever thread later uses them.
func runIn(ns netns.NsHandle, fn func() error) error {
	return onFreshThread(func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("netharness: setns: %w", err)
		}
		return fn()
	})
}

// newNamespace creates an anonymous network namespace. It lives as long as
// the returned handle (or a socket or process inside it) does.
func newNamespace() (netns.NsHandle, error) {
	ns := netns.None()
	err := onFreshThread(func() error {
		var err error
		ns, err = netns.New()
		return err
	})
	if err != nil {
		return netns.None(), fmt.Errorf("netharness: new netns: %w", err)
	}
	return ns, nil
}
