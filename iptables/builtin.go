package iptables

// Standard table names.
const (
	TableNat      = "nat"
	TableFilter   = "filter"
	TableMangle   = "mangle"
	TableRaw      = "raw"
	TableSecurity = "security"
)

// BuiltinChains returns the built-in chains of a standard table, in the
// order iptables-save prints them, or nil for an unknown table.
func BuiltinChains(table string) []string {
	switch table {
	case TableNat:
		return []string{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}
	case TableFilter, TableSecurity:
		return []string{"INPUT", "FORWARD", "OUTPUT"}
	case TableMangle:
		return []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}
	case TableRaw:
		return []string{"PREROUTING", "OUTPUT"}
	}
	return nil
}

// IsBuiltin reports whether chain is a built-in chain of table.
func IsBuiltin(table, chain string) bool {
	for _, c := range BuiltinChains(table) {
		if c == chain {
			return true
		}
	}
	return false
}

// isStandardTarget reports whether a -j argument is a verdict or a target
// extension rather than a jump to a user chain, when no chain of that name
// exists. The list covers the extensions shipped with iptables 1.8.
func isStandardTarget(name string) bool {
	switch name {
	case "ACCEPT", "DROP", "RETURN", "QUEUE",
		"AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNMARK", "CONNSECMARK", "CT",
		"DNAT", "DNPT", "DSCP", "ECN", "HL", "HMARK", "IDLETIMER", "LED", "LOG", "MARK",
		"MASQUERADE", "NETMAP", "NFLOG", "NFQUEUE", "NOTRACK", "RATEEST", "REDIRECT",
		"REJECT", "SECMARK", "SET", "SNAT", "SNPT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP",
		"TEE", "TOS", "TPROXY", "TRACE", "TTL", "ULOG":
		return true
	}
	return false
}

// newStandardTable returns a table holding its built-in chains with the
// ACCEPT policy, as the kernel creates it.
func newStandardTable(name string) *Table {
	t := NewTable(name)
	for _, c := range BuiltinChains(name) {
		t.put(&Chain{Name: c, Policy: "ACCEPT"})
	}
	return t
}
