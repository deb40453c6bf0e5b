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
// messages. Table.Clone plus ReplaceChain/ReplaceSet/RemoveChain derive the next
// ruleset in O(changes), and a Scope tells Diff which objects to compare.
//
// Objects handed to Diff or Apply must not be mutated afterwards, and a table
// must not change once cloned: chains cache a hash of their rules, clones share
// their parent's objects, and Diff treats the same *Chain pointer as unchanged.
//
// Scale. The kernel walks a table's list of sets by name for every set it
// creates and every rule or element that names one, and re-validates the whole
// table (every chain reachable from its base chains) on each commit that adds a
// chain or a rule. Both costs grow with the size of one table, not of the
// ruleset: at 10k services x 10 endpoints in one table a full load takes about
// 16-19 s and a one-endpoint change about 230 ms in the kernel, while the same
// services sharded over 32 tables (each with its own base chains; see
// RenderOptions.Shards) load in about 3 s and change in about 6-14 ms. So
// Render shards by default: 32 tables per family, shard 0 named exactly
// "proxykit" (ip and ip6) and the others "proxykit-01" to "proxykit-31";
// RenderOptions{Shards: 1} gives one table per family. Reading the tables
// back (Kernel.Read, at every full sync) costs one netlink dump per table,
// set and family; at 10k x 10 that is about 1 s, spread by Netlink over a
// socket per CPU.
package nftables
