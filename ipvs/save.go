package ipvs

import (
	"net/netip"
	"strconv"
	"strings"
)

// SaveIPVS prints the virtual servers in ipvsadm-save format (the output of
// `ipvsadm -S -n`), which `ipvsadm -R` accepts:
//
//	-A -t 10.96.0.1:443 -s rr -p 10800
//	-a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1
//
// The order is deterministic (SortedServices).
func (s *State) SaveIPVS() string {
	var b strings.Builder
	for _, v := range s.SortedServices() {
		writeService(&b, v)
	}
	return b.String()
}

func writeService(b *strings.Builder, v *VirtualServer) {
	b.WriteString("-A " + serviceArg(v.VSKey) + " " + serviceOpts(v) + "\n")
	for _, r := range v.Reals {
		b.WriteString("-a " + serviceArg(v.VSKey) + " " + realOpts(r) + "\n")
	}
}

// serviceArg is the ipvsadm option naming the virtual server: "-t 10.96.0.1:443",
// "-u [fd00::1]:53", "--sctp-service ...", "-f 3" (with "-6" for IPv6).
func serviceArg(k VSKey) string {
	if k.FWMark != 0 {
		s := "-f " + strconv.FormatUint(uint64(k.FWMark), 10)
		if k.Addr.Is6() {
			s += " -6"
		}
		return s
	}
	opt := "-t"
	switch k.Protocol {
	case UDP:
		opt = "-u"
	case SCTP:
		opt = "--sctp-service"
	}
	return opt + " " + netip.AddrPortFrom(k.Addr, k.Port).String()
}

// serviceOpts are the scheduler, flag and persistence options of -A / -E.
func serviceOpts(v *VirtualServer) string {
	parts := []string{"-s", v.Scheduler}
	if v.Timeout > 0 {
		parts = append(parts, "-p", strconv.FormatUint(uint64(v.Timeout), 10))
		if bits := v.persistBits(); bits != v.Addr.BitLen() {
			parts = append(parts, "-M", maskText(v.Addr.Is4(), bits))
		}
	}
	if names := flagNames(v.Scheduler, v.Flags); names != "" {
		parts = append(parts, "-b", names)
	}
	if v.Flags&OnePacket != 0 {
		parts = append(parts, "-o")
	}
	return strings.Join(parts, " ")
}

// maskText prints a persistence netmask: dotted for IPv4, a length for IPv6.
func maskText(ipv4 bool, bits int) string {
	if !ipv4 {
		return strconv.Itoa(bits)
	}
	var mask [4]byte
	for i := range bits {
		mask[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom4(mask).String()
}

// flagNames prints the scheduler flags as ipvsadm -b takes them.
func flagNames(sched string, f SchedFlags) string {
	var names []string
	one, two, three := "flag-1", "flag-2", "flag-3"
	switch sched {
	case "sh":
		one, two = "sh-fallback", "sh-port"
	case "mh":
		one, two = "mh-fallback", "mh-port"
	}
	if f&Sched1 != 0 {
		names = append(names, one)
	}
	if f&Sched2 != 0 {
		names = append(names, two)
	}
	if f&Sched3 != 0 {
		names = append(names, three)
	}
	return strings.Join(names, ",")
}

// realOpts are the options of -a / -e after the service.
func realOpts(r RealServer) string {
	parts := []string{"-r", netip.AddrPortFrom(r.Addr, r.Port).String(), forwardOpt(r.Forward),
		"-w", strconv.Itoa(r.Weight)}
	if r.UThreshold != 0 {
		parts = append(parts, "-x", strconv.FormatUint(uint64(r.UThreshold), 10))
	}
	if r.LThreshold != 0 {
		parts = append(parts, "-y", strconv.FormatUint(uint64(r.LThreshold), 10))
	}
	return strings.Join(parts, " ")
}

func forwardOpt(f Forward) string {
	switch f {
	case Direct:
		return "-g"
	case Tunnel:
		return "-i"
	}
	return "-m"
}

// SaveIPSets prints the sets as `ipset save` does, which `ipset restore`
// accepts:
//
//	create KUBE-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
//	add KUBE-CLUSTER-IP 10.96.0.1,tcp:443
func (s *State) SaveIPSets() string {
	var b strings.Builder
	for _, set := range s.SortedSets() {
		b.WriteString(createLine(set) + "\n")
		for _, e := range set.Sorted() {
			b.WriteString("add " + set.Name + " " + e.String() + "\n")
		}
	}
	return b.String()
}

func createLine(set *IPSet) string {
	family := "inet"
	if set.IPv6 {
		family = "inet6"
	}
	return "create " + set.Name + " " + string(set.Type) + " family " + family +
		" hashsize 1024 maxelem " + strconv.FormatUint(uint64(set.maxElem()), 10)
}
