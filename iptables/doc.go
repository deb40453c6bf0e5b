// Package iptables is proxykit's iptables backend: a model of iptables
// state (Ruleset), a parser and printer for iptables-save text, a minimal
// Diff that produces an iptables-restore --noflush payload, and Kernel
// implementations (the real iptables-save/iptables-restore, legacy or nft,
// and an in-memory Fake with the same semantics).
//
// A Ruleset holds any tables of one family. Rules keep their arguments as
// iptables-save text, so rules written by other software round-trip
// unchanged, and Parse of a 46 MB dump shares its input instead of
// allocating per argument. Chains are immutable once they belong to a
// Ruleset: Clone and Diff share them, and pointer-equal chains are known to
// be equal without comparing their rules.
//
// Ownership: Diff touches only chains that an Ownership claims (by default
// a name prefix such as "KUBE-") and, in built-in chains, only rules that
// jump to an owned chain. Everything else in the kernel is left alone.
package iptables
