package nftables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// dump sends a GET request with NLM_F_DUMP and returns each reply's
// attributes (after the nfgenmsg header).
func (s *nlSocket) dump(msg uint16, fam Family, seq uint32, attrs func(b *nlBatch)) ([][]byte, error) {
	if _, err := s.drain(); err != nil && !errors.Is(err, errOutcomeUnknown) {
		return nil, err
	}
	b := &nlBatch{seq: seq}
	m := b.nft(msg, unix.NLM_F_REQUEST|unix.NLM_F_DUMP, fam, -1)
	attrs(b)
	b.end(m)
	if err := unix.Sendto(s.fd, b.buf, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("nftables: dump request: %w", err)
	}
	var out [][]byte
	rbuf := s.recvBuf()
	for {
		n, _, err := unix.Recvfrom(s.fd, rbuf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("nftables: dump: %w", err)
		}
		// copy: the replies kept in out must not alias rbuf, which the next recv reuses
		msgs, err := syscall.ParseNetlinkMessage(append([]byte(nil), rbuf[:n]...))
		if err != nil {
			return nil, fmt.Errorf("nftables: dump: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if code := int32(binary.NativeEndian.Uint32(m.Data[:4])); code != 0 {
					return nil, syscall.Errno(-code)
				}
				return out, nil
			}
			if len(m.Data) >= 4 {
				out = append(out, m.Data[4:])
			}
		}
	}
}

// attrIter walks netlink attributes.
type attrIter struct {
	b    []byte
	typ  uint16
	data []byte
}

func (it *attrIter) next() bool {
	if len(it.b) < 4 {
		return false
	}
	n := int(binary.NativeEndian.Uint16(it.b))
	if n < 4 || n > len(it.b) {
		return false
	}
	it.typ = binary.NativeEndian.Uint16(it.b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
	it.data = it.b[4:n]
	adv := (n + 3) &^ 3
	if adv > len(it.b) {
		adv = len(it.b)
	}
	it.b = it.b[adv:]
	return true
}

func (it *attrIter) u32() uint32 {
	if len(it.data) < 4 {
		return 0
	}
	return binary.BigEndian.Uint32(it.data)
}

// rawSet is a set definition as the kernel reports it.
type rawSet struct {
	name                     string
	flags, keyType, dataType uint32
	keyLen                   uint32
	timeout                  time.Duration
	size                     uint32
	comment                  string
}

func (s *nlSocket) listSets(id TableID, seq uint32) ([]rawSet, error) {
	msgs, err := s.dump(unix.NFT_MSG_GETSET, id.Family, seq, func(b *nlBatch) { b.str(unix.NFTA_SET_TABLE, id.Name) })
	if err != nil {
		return nil, err
	}
	var out []rawSet
	seen := map[string]bool{}
	for _, m := range msgs {
		var rs rawSet
		table := ""
		it := attrIter{b: m}
		for it.next() {
			switch it.typ {
			case unix.NFTA_SET_TABLE:
				table = trimNul(it.data)
			case unix.NFTA_SET_NAME:
				rs.name = trimNul(it.data)
			case unix.NFTA_SET_FLAGS:
				rs.flags = it.u32()
			case unix.NFTA_SET_KEY_TYPE:
				rs.keyType = it.u32()
			case unix.NFTA_SET_KEY_LEN:
				rs.keyLen = it.u32()
			case unix.NFTA_SET_DATA_TYPE:
				rs.dataType = it.u32()
			case unix.NFTA_SET_TIMEOUT:
				if len(it.data) == 8 {
					rs.timeout = time.Duration(binary.BigEndian.Uint64(it.data)) * time.Millisecond
				}
			case unix.NFTA_SET_DESC:
				d := attrIter{b: it.data}
				for d.next() {
					if d.typ == unix.NFTA_SET_DESC_SIZE {
						rs.size = d.u32()
					}
				}
			case unix.NFTA_SET_USERDATA:
				rs.comment, _ = userdata.GetString(it.data, userdata.NFTNL_UDATA_SET_COMMENT)
			}
		}
		if table == id.Name && rs.flags&unix.NFT_SET_ANONYMOUS == 0 && !seen[rs.name] {
			seen[rs.name] = true
			out = append(out, rs)
		}
	}
	return out, nil
}

var typeByMagic = map[uint32]DataType{7: TypeIPv4Addr, 8: TypeIPv6Addr, 12: TypeInetProto, 13: TypeInetService, 19: TypeMark, 41: TypeIfname, 4: TypeNumgen}

// setFromRaw converts a kernel set definition into the model.
func setFromRaw(r rawSet) (*Set, error) {
	s := &Set{Name: r.name, Timeout: r.flags&unix.NFT_SET_TIMEOUT != 0, Interval: r.flags&unix.NFT_SET_INTERVAL != 0, Dynamic: r.flags&unix.NFT_SET_EVAL != 0,
		DefaultTimeout: r.timeout, Size: r.size, Comment: r.comment}
	for m := r.keyType; m != 0; m >>= 6 {
		dt, ok := typeByMagic[m&0x3f]
		if !ok {
			return nil, fmt.Errorf("set %s: key type %#x", r.name, r.keyType)
		}
		s.Key = append([]DataType{dt}, s.Key...)
	}
	if keyLen(s.Key) != r.keyLen {
		return nil, fmt.Errorf("set %s: key length %d for %v", r.name, r.keyLen, s.Key)
	}
	if r.flags&unix.NFT_SET_MAP != 0 {
		if r.dataType == verdictMagic {
			s.Verdict = true
		} else if dt, ok := typeByMagic[r.dataType]; ok && dt != TypeNumgen {
			s.Data = dt
		} else {
			return nil, fmt.Errorf("set %s: data type %#x", r.name, r.dataType)
		}
	}
	return s, nil
}
