// Package rulegen compiles a servicemodel.Snapshot into a Plan: for each
// service port and IP family, the frontends that capture traffic, the
// endpoint sets that cluster-policy and local-policy traffic use, the
// conditions under which traffic is masqueraded, session affinity, the
// source-range firewall and what happens when a set is empty.
//
// The Plan is what every backend renders (iptables, nftables, IPVS, the
// userspace proxy), so the policy decisions Kubernetes defines — traffic
// policies, terminating-endpoint fallback, topology hints and their
// safeguards — are made once, here. Masquerading is stated as a condition
// (nat.Condition), not a decision: each backend spells it.
//
// Plans are immutable. Plan.Update recompiles only the changed service ports
// and shares everything else with its receiver, so an incremental compile
// costs what changed.
//
// The package also defines the Backend interface that backends implement and
// the Syncer that drives one: it coalesces bursts of changes, runs periodic
// full resyncs, retries with exponential backoff and reports every sync.
package rulegen
