package ipvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// batchBytes bounds one write of ipset requests (the socket's send buffer
// is ~208 KiB).
const batchBytes = 32 << 10

// errUnknownOutcome means a batch write or its answer was lost: which of
// its entries the kernel applied is unknown until read back.
var errUnknownOutcome = errors.New("ipvs: ipset batch outcome unknown")

// ipsetBatcher sends many IPSET_CMD_ADD or IPSET_CMD_DEL requests in one
// write, as ipset restore does: the kernel processes every message of the
// write in order and answers only the failed ones (no NLM_F_ACK) plus the
// last one (NLM_F_ACK), so the answers say exactly which entries failed.
type ipsetBatcher struct {
	sock *nl.NetlinkSocket
	seq  uint32
	buf  []byte
}

// newIPSetBatcher wraps a NETLINK_NETFILTER socket: error answers without
// the request's copy (NETLINK_CAP_ACK), a receive timeout so that a lost
// answer cannot block forever.
func newIPSetBatcher(sock *nl.NetlinkSocket) *ipsetBatcher {
	fd := sock.GetFd()
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	_ = sock.SetReceiveTimeout(&unix.Timeval{Sec: 30})
	return &ipsetBatcher{sock: sock}
}

// apply adds (add) or deletes the entries es of set s, a write per
// batchBytes. sent counts the entries written, done[i] reports whether es[i]
// was applied, failed is the index of the first entry the kernel refused
// (-1 when none) and err its error. It stops after the write holding a
// refusal. A write whose answers are lost gives errUnknownOutcome: the
// entries written and not done are then in an unknown state.
func (b *ipsetBatcher) apply(s *IPSet, add bool, es []SetEntry) (done []bool, sent, failed int, err error) {
	done = make([]bool, len(es))
	for start := 0; start < len(es); {
		end := b.encode(s, add, es, start)
		first := b.seq - uint32(end-start) + 1
		refused, err := b.exchange(first, uint32(end-start))
		if err != nil {
			return done, end, -1, fmt.Errorf("%w: %w", errUnknownOutcome, err)
		}
		failed = -1
		for i := start; i < end; i++ {
			rerr, bad := refused[first+uint32(i-start)]
			done[i] = !bad
			if bad && failed < 0 {
				failed, err = i, ipsetErrno(rerr, add)
			}
		}
		if failed >= 0 {
			return done, end, failed, err
		}
		start = end
	}
	return done, len(es), -1, nil
}

// encode serializes the requests of es from start into b.buf, up to
// batchBytes, and returns the index after the last one encoded.
func (b *ipsetBatcher) encode(s *IPSet, add bool, es []SetEntry, start int) int {
	cmd := nl.IPSET_CMD_DEL
	if add {
		cmd = nl.IPSET_CMD_ADD
	}
	b.buf = b.buf[:0]
	for i := start; i < len(es); i++ {
		flags := unix.NLM_F_REQUEST | unix.NLM_F_EXCL
		if i == len(es)-1 || len(b.buf) >= batchBytes-512 {
			flags |= unix.NLM_F_ACK
		}
		b.seq++
		req := &nl.NetlinkRequest{NlMsghdr: unix.NlMsghdr{
			Type: uint16(cmd | unix.NFNL_SUBSYS_IPSET<<8), Flags: uint16(flags), Seq: b.seq}}
		req.AddData(&nl.Nfgenmsg{NfgenFamily: unix.AF_NETLINK, Version: nl.NFNETLINK_V0})
		req.AddData(nl.NewRtAttr(nl.IPSET_ATTR_PROTOCOL, nl.Uint8Attr(nl.IPSET_PROTOCOL)))
		req.AddData(nl.NewRtAttr(nl.IPSET_ATTR_SETNAME, nl.ZeroTerminated(s.Name)))
		req.AddData(entryData(s.Type, es[i]))
		b.buf = append(b.buf, req.Serialize()...)
		if flags&unix.NLM_F_ACK != 0 {
			return i + 1
		}
	}
	return len(es)
}

// entryData is the IPSET_ATTR_DATA nest of one entry of a set of type t.
func entryData(t SetType, e SetEntry) *nl.RtAttr {
	data := nl.NewRtAttr(nl.IPSET_ATTR_DATA|unix.NLA_F_NESTED, nil)
	ipAttr := func(typ int, a []byte) *nl.RtAttr {
		nest := nl.NewRtAttr(typ|unix.NLA_F_NESTED, nil)
		kind := nl.IPSET_ATTR_IPADDR_IPV4
		if len(a) == 16 {
			kind = nl.IPSET_ATTR_IPADDR_IPV6
		}
		nest.AddRtAttr(kind|unix.NLA_F_NET_BYTEORDER, a)
		return nest
	}
	data.AddChild(ipAttr(nl.IPSET_ATTR_IP, e.Addr().Addr().AsSlice()))
	if t == HashNet {
		data.AddChild(nl.NewRtAttr(nl.IPSET_ATTR_CIDR, nl.Uint8Attr(uint8(e.Addr().Bits()))))
	}
	if t.hasPort() {
		data.AddChild(nl.NewRtAttr(nl.IPSET_ATTR_PROTO, nl.Uint8Attr(uint8(e.Protocol))))
		data.AddChild(nl.NewRtAttr(nl.IPSET_ATTR_PORT|unix.NLA_F_NET_BYTEORDER, binary.BigEndian.AppendUint16(nil, e.Port)))
	}
	if t.hasSecond() {
		data.AddChild(ipAttr(nl.IPSET_ATTR_IP2, e.Addr2().Addr().AsSlice()))
		if t == HashIPPortNet {
			data.AddChild(nl.NewRtAttr(nl.IPSET_ATTR_CIDR2, nl.Uint8Attr(uint8(e.Addr2().Bits()))))
		}
	}
	return data
}

// exchange writes b.buf and reads answers until the one for the last of n
// requests numbered from first; it returns the refused requests' errnos by
// sequence number.
func (b *ipsetBatcher) exchange(first, n uint32) (map[uint32]int32, error) {
	if err := unix.Sendto(b.sock.GetFd(), b.buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	last := first + n - 1
	refused := map[uint32]int32{}
	for {
		msgs, _, err := b.sock.Receive()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			seq := m.Header.Seq
			if m.Header.Type != unix.NLMSG_ERROR || seq < first || seq > last || len(m.Data) < 4 {
				continue // not an answer to this write
			}
			if errno := int32(binary.NativeEndian.Uint32(m.Data)); errno != 0 {
				refused[seq] = -errno
			}
			if seq == last {
				return refused, nil
			}
		}
	}
}

// ipsetErrno maps a refusal's errno as the one-request path does.
func ipsetErrno(errno int32, add bool) error {
	var err error = syscall.Errno(errno)
	if errno >= nl.IPSET_ERR_PRIVATE {
		err = nl.IPSetError(uintptr(errno))
	}
	if add {
		return kernelErr(err, ErrExists)
	}
	return kernelErr(err, ErrNotFound)
}

// entries implements entryBatcher: after a write whose outcome is unknown it
// reads the set back to tell which of the entries written were applied (or,
// when that fails too, counts them all as applied, so that the undo reports
// what it cannot revert).
func (d *realDriver) entries(s *IPSet, add bool, es []SetEntry) (done []bool, sent, failed int, err error) {
	done, sent, failed, err = d.batch.apply(s, add, es)
	if !errors.Is(err, errUnknownOutcome) {
		return done, sent, failed, err
	}
	res, lerr := d.nl.IpsetList(s.Name)
	have := map[SetEntry]struct{}{}
	if lerr == nil {
		for _, ke := range res.Entries {
			if se, ok := fromIPSetEntry(s.Type, ke); ok {
				have[se] = struct{}{}
			}
		}
	}
	for i := range es[:sent] {
		if !done[i] {
			_, present := have[es[i]]
			done[i] = lerr != nil || present == add
		}
	}
	return done, sent, -1, errors.Join(err, lerr)
}
