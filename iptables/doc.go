// Package iptables is proxykit's iptables backend layer below rendering: a
// model of iptables state (Ruleset), a parser and printer for
// iptables-save text, a minimal Diff that produces an iptables-restore
// --noflush payload, and Kernel implementations: Exec (the real
// iptables-save / iptables-restore, legacy or nft, optionally inside a
// network namespace) and Fake (in memory, same semantics).
//
// # Model
//
// A Ruleset holds any tables of one Family. A Table holds chains; a Chain
// holds its policy, counters and ordered rules (NewChain builds one;
// Chain.Rules returns them). A chain Render wrote holds its rules as
// restore lines only, which a payload copies as they are; Chain.Rules
// parses them the first time it is asked. A Rule keeps its match and
// target arguments as iptables-save text (Spec), so rules of other software
// round-trip unchanged and Parse shares its input instead of allocating per
// argument; Args returns the tokens, and Comment, Target and Goto are parsed
// out for references. Two rules are equal when their texts are: render
// rules in the form iptables-save prints them (NewRule quotes like
// iptables-save; StatisticProbability rounds like the kernel; addresses
// carry their prefix length; "-m tcp" follows "-p tcp"; MARK is printed as
// --set-xmark), or every full Diff will rewrite them.
//
// Chains that belong to a Ruleset are immutable: Clone, Diff, Apply and the
// Fake share them, and replace rather than edit them (Table.SetChain). A
// Ruleset is not safe for concurrent use: Diff lazily builds a reference
// index inside the current Ruleset.
//
// # Diff and ownership
//
// Diff touches only chains an Ownership claims (OwnPrefix("KUBE-")) and, in
// built-in chains, only rules that jump to an owned chain; it never flushes
// a built-in or foreign chain. It covers the tables present in either
// Ruleset, so read only the tables you manage. As a kube-proxy drop-in,
// note that kubelet also creates KUBE-* chains (KUBE-KUBELET-CANARY,
// KUBE-FIREWALL, KUBE-MARK-DROP): use Ownership.Func to leave them alone.
// DiffChanged costs what the named chains hold (a one-endpoint change at
// 10k services: tens of microseconds); Diff compares every chain, by
// pointer first, on every CPU when there are many. A payload declares,
// fills and deletes chains with one Op each (Op.Chains), and Render keeps
// each chain's rules as one run of restore lines, the chains of a port one
// after another in table order, so that printing a full payload (10k
// services: 110k chains, 50 MB) is mostly writing runs of up to a page
// (1 MiB) at once. Payload.WriteTo streams it without building it
// (Exec.Apply feeds iptables-restore that way); Bytes builds it. A full
// render also records that every jump lands on one of its chains, so a
// Diff of it skips looking the targets up.
//
// # Kernels
//
// Exec.Apply is all or nothing across tables: iptables-restore commits
// each table on its own, so Exec restores one table per run and puts back
// the tables it already changed when a later one fails. Errors are
// *RestoreError values carrying the line iptables-restore blamed (the nft
// variant blames the COMMIT line for a jump to a missing chain). For a
// payload naming thousands of chains, Exec works around a quadratic cost in
// iptables-nft-restore 1.8.x (see restoreInput). A Runner gets the restore
// input as an io.Reader that also implements io.WriterTo. The Fake
// applies a payload to its Rulesets with Ruleset.Apply, which is also how a
// caller keeps a cached copy of the kernel's state up to date. The shared
// state tests run one table of payloads against the Fake and both real
// variants. Declaring a chain twice in one payload is accepted (both tools
// do; the second declaration flushes again); -N of an existing chain is
// rejected. Known difference: iptables-nft accepts a policy on a user
// chain (":FOO ACCEPT"); iptables-legacy and the Fake reject it.
package iptables
