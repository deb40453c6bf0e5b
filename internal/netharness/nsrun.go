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

// onLockedThread runs enter, then fn, on a new goroutine locked to its OS
// thread, then puts the thread back into the namespace it started in. Only
// when that succeeds is the thread unlocked and reused; otherwise the
// goroutine ends still locked and the runtime retires the thread, so no Go
// code ever runs on a thread left in a foreign namespace. A panic in fn is
// returned as an error.
func onLockedThread(enter, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread() // nothing changed yet
			errc <- fmt.Errorf("netharness: current netns: %w", err)
			return
		}
		result := errGoexit
		defer func() {
			if r := recover(); r != nil {
				result = fmt.Errorf("netharness: panic in namespace function: %v", r)
			}
			if err := netns.Set(orig); err != nil {
				result = errors.Join(result, fmt.Errorf("netharness: restore thread netns: %w", err))
			} else {
				runtime.UnlockOSThread()
			}
			orig.Close()
			errc <- result
		}()
		if err := enter(); err != nil {
			result = err
			return
		}
		result = fn()
	}()
	return <-errc
}

// runIn runs fn with the calling OS thread inside ns. Sockets created by fn
// stay in ns for their whole life, whatever thread later uses them.
func runIn(ns netns.NsHandle, fn func() error) error {
	enter := func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("netharness: setns: %w", err)
		}
		return nil
	}
	return onLockedThread(enter, fn)
}

// newNamespace creates an anonymous network namespace. It lives as long as
// the returned handle (or a socket or process inside it) does.
func newNamespace() (netns.NsHandle, error) {
	ns := netns.None()
	err := onLockedThread(func() error {
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
