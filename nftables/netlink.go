package nftables

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// NetlinkConfig configures a Netlink kernel.
type NetlinkConfig struct {
	// NetNSFd is an open file descriptor of the network namespace to program
	// (e.g. from vishvananda/netns); 0 means the process's own namespace.
	NetNSFd int
	// Owner names the tables this kernel owns, reads and may change (the
	// zero value: DefaultTables). Others are never touched.
	Owner  Ownership
	Logger *slog.Logger
}

// Netlink is the real Kernel: it speaks nf_tables netlink directly. Every
// Apply is one netlink batch, which the kernel commits all or nothing, sent
// with one sendmsg and without per-message ACKs (only errors come back, as
// with nft). If the error reports were lost (ENOBUFS), Apply reads the tables
// back and checks whether the transaction took effect instead of assuming.
// Besides its socket it holds one more per CPU (up to 3) for reading the
// tables back in parallel.
type Netlink struct {
	cfg   NetlinkConfig
	log   *slog.Logger
	mu    sync.Mutex
	sock  *nlSocket // every write and the reads
	extra []*reader // more read sockets, each with its sequence (nl_readers.go)
	seq   uint32
}

// NewNetlink opens a netlink socket in the configured namespace.
func NewNetlink(cfg NetlinkConfig) (*Netlink, error) {
	cfg.Owner = cfg.Owner.withDefault()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ns := cfg.NetNSFd
	if ns == 0 {
		ns = -1
	}
	sock, err := openSocket(ns)
	if err != nil {
		return nil, err
	}
	k := &Netlink{cfg: cfg, log: log, sock: sock, seq: uint32(time.Now().Unix())}
	k.openReaders(ns)
	return k, nil
}

// Close releases the socket.
func (k *Netlink) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sock == nil {
		return nil
	}
	err := k.sock.close()
	for _, r := range k.extra {
		err = errors.Join(err, r.sock.close())
	}
	k.sock, k.extra = nil, nil
	return err
}

// Owner returns the kernel's ownership.
func (k *Netlink) Owner() Ownership { return k.cfg.Owner }

// Apply implements Kernel.
func (k *Netlink) Apply(ctx context.Context, tx *Transaction) error {
	if err := checkOwned(k.cfg.Owner, tx); err != nil {
		return err
	}
	if tx.Empty() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.sock == nil {
		return errors.New("nftables: kernel closed")
	}
	b, err := encodeTransaction(k.seq, tx)
	if err != nil {
		return err
	}
	k.seq = b.seq
	buf := b.finish()
	errs, sendErr := k.sock.send(buf)
	if len(errs) > 0 {
		return b.applyError(tx, errs[0])
	}
	if errors.Is(sendErr, errOutcomeUnknown) {
		return k.verify(ctx, tx, sendErr)
	}
	return sendErr
}

func encodeTransaction(seq uint32, tx *Transaction) (*nlBatch, error) {
	b := newBatch(seq)
	b.buf = make([]byte, 0, 64+200*len(tx.Ops)+64*(tx.Writes()-len(tx.Ops)))
	b.control(unix.NFNL_MSG_BATCH_BEGIN, -1)
	for i, op := range tx.Ops {
		var err error
		switch op.Kind {
		case OpAddTable:
			if err = validComment(op.Comment); err == nil {
				b.table(i, op, unix.NFT_MSG_NEWTABLE)
			}
		case OpDeleteTable:
			b.table(i, op, unix.NFT_MSG_DELTABLE)
		case OpAddChain:
			err = b.chain(i, op, unix.NFT_MSG_NEWCHAIN)
		case OpDeleteChain:
			err = b.chain(i, op, unix.NFT_MSG_DELCHAIN)
		case OpFlushChain:
			b.flushChain(i, op)
		case OpAddRule:
			if op.Rule == nil {
				err = fmt.Errorf("%w: add rule without a rule", ErrInvalid)
			} else {
				err = b.rule(i, op)
			}
		case OpAddSet:
			if op.Set == nil {
				err = fmt.Errorf("%w: add set without a definition", ErrInvalid)
			} else {
				b.newSet(i, op)
			}
		case OpDeleteSet:
			b.delSet(i, op)
		case OpAddElements, OpDeleteElements:
			b.elements(i, op, op.Kind == OpDeleteElements)
		default:
			err = fmt.Errorf("%w: op kind %d", ErrInvalid, op.Kind)
		}
		if err != nil {
			return nil, &ApplyError{Index: i, Op: op, Err: err}
		}
	}
	return b, nil
}

func (b *nlBatch) applyError(tx *Transaction, e nlError) error {
	idx := -1
	if d := int(e.seq - b.first); d >= 0 && d < len(b.opOf) {
		idx = b.opOf[d]
	}
	if idx < 0 || idx >= len(tx.Ops) {
		return &ApplyError{Index: -1, Err: e.errno}
	}
	return &ApplyError{Index: idx, Op: tx.Ops[idx], Err: e.errno}
}

// verify reads the tables back after lost replies and decides whether the
// batch was committed (nil) or not (an error wrapping cause).
func (k *Netlink) verify(ctx context.Context, tx *Transaction, cause error) error {
	rs, err := k.read(ctx)
	if err != nil {
		return fmt.Errorf("%w; read-back failed too: %v", cause, err)
	}
	if err := VerifyApplied(rs, tx); err != nil {
		return &ApplyError{Index: -1, Err: fmt.Errorf("%w; read-back shows the batch was not applied: %v", cause, err)}
	}
	k.log.Warn("nftables: lost batch replies, read-back shows the transaction applied", "cause", cause, "ops", len(tx.Ops))
	return nil
}
