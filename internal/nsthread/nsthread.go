// Package nsthread runs code on an OS thread that is inside another network
// namespace, without ever letting other Go code run on a thread left there.
//
// A network namespace belongs to a thread: sockets opened, sysctls written
// under /proc/sys/net and processes forked from that thread belong to the
// namespace it is in. Do locks a fresh goroutine to its thread, moves the
// thread in, runs the function and moves the thread back; if moving back
// fails, the goroutine ends still locked and the runtime retires the thread.
package nsthread

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// ErrGoexit reports a function that ended its goroutine (runtime.Goexit, as
// t.FailNow does) instead of returning.
var ErrGoexit = errors.New("nsthread: function called runtime.Goexit")

// Do runs enter, then fn, on a new goroutine locked to its OS thread, then
// puts the thread back into the namespace it started in. Only when that
// succeeds is the thread unlocked and reused. fn does not run when enter
// fails. A panic in either is returned as an error, as is a failure to
// return (joined with fn's error).
func Do(enter, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread() // nothing changed yet
			errc <- fmt.Errorf("nsthread: current netns: %w", err)
			return
		}
		result := ErrGoexit
		defer func() {
			if r := recover(); r != nil {
				result = fmt.Errorf("nsthread: panic in namespace function: %v", r)
			}
			if err := netns.Set(orig); err != nil {
				result = errors.Join(result, fmt.Errorf("nsthread: restore thread netns: %w", err))
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

// In runs fn with its OS thread inside ns (see Do).
func In(ns netns.NsHandle, fn func() error) error {
	return Do(func() error {
		if err := netns.Set(ns); err != nil {
			return fmt.Errorf("nsthread: setns: %w", err)
		}
		return nil
	}, fn)
}
