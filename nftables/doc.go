// Package nftables is the nftables backend of proxykit: a small ruleset model
// (tables, chains, sets, verdict maps, elements and rules made of high-level
// statements), its printer in `nft -f` syntax, a diff that turns a current and a
// desired ruleset into one ordered Transaction, and Kernels that apply such a
// transaction atomically: Netlink, which speaks nf_tables netlink directly (one
// batch per transaction, no nft binary), and Fake, a strict in-memory kernel
// for tests.
//
// The model is plan-independent: it knows nothing of Services. A renderer
// builds a Ruleset; Diff compares it with what the kernel holds (read back with
// Kernel.Read, or remembered from the last Apply) and yields only what changed,
// so a one-endpoint change among thousands of services is a handful of netlink
// messages.
//
// Objects handed to Diff or Apply must not be mutated afterwards: chains cache
// a hash of their rules, and a renderer may share unchanged chains between
// successive rulesets (Diff treats the same *Chain pointer as unchanged).
package nftables
