package nftables

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Reading the kernel's tables back takes thousands of netlink dumps at 10k
// services (one per endpoint-choice map), and the kernel does the work of
// each dump in the reading thread. A Netlink keeps a few extra sockets, so
// that Read spreads the dumps over the CPUs.

// maxReaders bounds the sockets a read uses.
const maxReaders = 4

// reader is one socket's share of a read, with its own sequence numbers.
type reader struct {
	sock *nlSocket
	seq  uint32
}

func (r *reader) next() uint32 { r.seq++; return r.seq }

// openReaders opens the extra read sockets in namespace ns (-1: the
// caller's): one per CPU beyond the first, at most maxReaders in all. A
// socket that cannot be opened is left out (reads then use fewer).
func (k *Netlink) openReaders(ns int) {
	for range min(runtime.GOMAXPROCS(0), maxReaders) - 1 {
		s, err := openSocket(ns)
		if err != nil {
			k.log.Debug("nftables: extra read socket", "err", err)
			return
		}
		k.extra = append(k.extra, &reader{sock: s})
	}
}

// parallelDumps runs jobs 0..n-1 over the kernel's sockets, each socket in
// its own goroutine taking the next job in order. It returns the first
// error; the other goroutines then stop taking jobs.
func (k *Netlink) parallelDumps(ctx context.Context, n int, job func(r *reader, j int) error) error {
	readers := append([]*reader{{sock: k.sock, seq: k.seq}}, k.extra[:max(0, min(len(k.extra), n-1))]...)
	defer func() { k.seq = readers[0].seq }()
	var (
		next     atomic.Int64
		failed   atomic.Bool
		firstErr error
		once     sync.Once
		wg       sync.WaitGroup
	)
	for _, r := range readers {
		wg.Go(func() {
			for j := int(next.Add(1)) - 1; j < n && !failed.Load(); j = int(next.Add(1)) - 1 {
				err := ctx.Err()
				if err == nil {
					err = job(r, j)
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}
