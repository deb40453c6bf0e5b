package rulegen

import (
	"context"

	"github.com/proxykit/proxykit/servicemodel"
)

// SyncRequest asks a Backend to make the kernel match a Plan.
type SyncRequest struct {
	Plan    *Plan
	Changed []servicemodel.ServicePortName // since the last successful Sync; nil = unknown, diff everything
	Full    bool                           // read the kernel back, repair drift, diff everything
}

// SyncResult reports what a Sync did.
type SyncResult struct {
	Writes   int  // kernel objects written (rules, elements, ops)
	NeedFull bool // the backend saw a reason (flushed canary, drift) to ask for a full sync next
}

// Backend programs a Plan into one dataplane (iptables, nftables, IPVS, the
// userspace proxy). Sync is all or nothing: after an error the dataplane
// holds what it held before.
type Backend interface {
	Sync(ctx context.Context, req SyncRequest) (SyncResult, error)
	Cleanup(ctx context.Context) error // remove everything this backend owns, and nothing else
}
