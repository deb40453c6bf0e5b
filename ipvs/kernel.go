package ipvs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
)

// Kernel reads and writes a node's IPVS state. Real and Fake implement it with
// the same semantics (one shared engine over different primitives).
type Kernel interface {
	// Read returns the state that is ours (see the package comment), with the
	// connection counters of every real server.
	Read(ctx context.Context) (*State, error)
	// ReadService returns one of our virtual servers with its real servers and
	// their connection counters; ErrNotFound when absent or not ours.
	ReadService(ctx context.Context, k VSKey) (*VirtualServer, error)
	// Apply performs ops in order. When one fails it undoes those done, in
	// reverse, and returns an *ApplyError: the kernel then holds what it held
	// before. Operations on virtual servers that are not ours fail with
	// ErrNotOurs.
	Apply(ctx context.Context, ops Ops) (ApplyResult, error)
	// Cleanup removes every virtual server, set and address that is ours, the
	// ownership sets and the dummy interface, and nothing else. Sets still
	// referenced by iptables rules cannot be destroyed: remove those first.
	Cleanup(ctx context.Context) error
}

// ApplyResult counts what Apply did.
type ApplyResult struct {
	// Writes is the number of kernel write requests (netlink messages),
	// including ownership records and, after a failure, the undo. Real sends
	// consecutive entries of one ipset many messages to a socket write.
	Writes int
}

// Errors a caller can branch on (with errors.Is).
var (
	ErrNotFound = errors.New("ipvs: not found")
	ErrExists   = errors.New("ipvs: already exists")
	ErrNotOurs  = errors.New("ipvs: not ours")
	ErrInjected = errors.New("ipvs: injected failure")
)

// ApplyError says which operation of an Apply failed and whether the undo
// worked.
type ApplyError struct {
	Index   int   // position of the failed operation in the Ops
	Op      Op    // the operation (or the internal step of it) that failed
	Err     error // why
	UndoErr error // nil when the undo restored the previous state
}

func (e *ApplyError) Error() string {
	s := fmt.Sprintf("ipvs: apply op %d (%v): %v", e.Index, e.Op, e.Err)
	if e.UndoErr != nil {
		s += fmt.Sprintf("; undo failed, kernel state is partial: %v", e.UndoErr)
	}
	return s
}

func (e *ApplyError) Unwrap() []error {
	if e.UndoErr != nil {
		return []error{e.Err, e.UndoErr}
	}
	return []error{e.Err}
}

// Options configure a kernel (Real or Fake) alike.
type Options struct {
	// Dummy is the dummy interface that holds the service addresses; default
	// "kube-ipvs0".
	Dummy string
	// SetPrefix marks our ipsets; default "KUBE-". The ownership sets are
	// SetPrefix+"IPVS-OWN" and SetPrefix+"IPVS-OWN6".
	SetPrefix string
	// FWMarkMask and FWMarkValue: a firewall-mark virtual server is ours iff
	// mark&FWMarkMask == FWMarkValue. A zero mask owns none.
	FWMarkMask, FWMarkValue uint32
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// DefaultDummy is the default dummy interface, as kube-proxy names it.
const DefaultDummy = "kube-ipvs0"

// DefaultSetPrefix is the default prefix of our ipsets.
const DefaultSetPrefix = "KUBE-"

func (o Options) withDefaults() Options {
	if o.Dummy == "" {
		o.Dummy = DefaultDummy
	}
	if o.SetPrefix == "" {
		o.SetPrefix = DefaultSetPrefix
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// ownerSet returns the ownership set of a family.
func (o Options) ownerSet(ipv6 bool) *IPSet {
	if ipv6 {
		return NewIPSet(o.SetPrefix+"IPVS-OWN6", HashIPPort, true)
	}
	return NewIPSet(o.SetPrefix+"IPVS-OWN", HashIPPort, false)
}

// isOwnerSet reports whether name is one of the ownership sets.
func (o Options) isOwnerSet(name string) bool {
	return name == o.SetPrefix+"IPVS-OWN" || name == o.SetPrefix+"IPVS-OWN6"
}

// ownerEntry is the ownership record of a virtual server with an address.
func ownerEntry(k VSKey) SetEntry { return PortEntry(k.Addr, k.Protocol, k.Port) }

// driver is the primitive kernel: one request per write.
type driver interface {
	services() ([]*VirtualServer, error) // settings only
	reals(k VSKey) ([]RealServer, error)
	service(k VSKey) (*VirtualServer, error) // settings only; ErrNotFound
	addService(v *VirtualServer) error
	updateService(v *VirtualServer) error
	delService(k VSKey) error
	addReal(k VSKey, r RealServer) error
	updateReal(k VSKey, r RealServer) error
	delReal(k VSKey, r RealServer) error
	addrs() ([]netip.Addr, error) // none when the link is missing
	addAddr(a netip.Addr) error   // creates the link when missing
	delAddr(a netip.Addr) error
	delLink() error
	sets(prefix string) ([]*IPSet, error) // with entries
	createSet(s *IPSet) error
	destroySet(name string) error
	addEntry(s *IPSet, e SetEntry) error
	delEntry(s *IPSet, e SetEntry) error
}
