package vmtest

import (
	"bufio"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// moduleDirs are the kernel module trees copied into the initramfs whole
// (plus their dependency closure): everything netfilter, IPVS, ipset, nft,
// xtables, bridge and br_netfilter.
var moduleDirs = []string{
	"kernel/net/netfilter/",
	"kernel/net/ipv4/netfilter/",
	"kernel/net/ipv6/netfilter/",
	"kernel/net/bridge/",
}

// moduleFiles are single modules added with their closure: link drivers the
// tests create, and xfrm_user, which vishvananda/netlink's default handle opens.
var moduleFiles = []string{
	"kernel/drivers/net/dummy.ko",
	"kernel/drivers/net/veth.ko",
	"kernel/drivers/net/macvlan.ko",
	"kernel/drivers/net/tun.ko",
	"kernel/net/xfrm/xfrm_user.ko",
}

// bootModules are loaded by /init before the payload runs. Everything else in
// the initramfs is loaded on demand by the kernel (request_module through the
// busybox modprobe), e.g. nft expressions, xt matches and ipset types.
var bootModules = []string{
	"ip_vs", "ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
	"ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_mh", "ip_vs_fo", "ip_vs_ovf", "ip_vs_twos",
	"nf_conntrack", "nf_conntrack_netlink", "nf_nat", "nf_tables", "nft_chain_nat", "nft_ct",
	"nft_nat", "nft_masq", "nft_numgen", "nft_compat", "nft_reject_inet", "nft_fib_inet",
	"x_tables", "ip_tables", "ip6_tables", "iptable_nat", "iptable_filter", "iptable_mangle",
	"iptable_raw", "ip6table_nat", "ip6table_filter", "ip6table_mangle", "ip6table_raw",
	"xt_comment", "xt_mark", "xt_conntrack", "xt_MASQUERADE", "xt_statistic", "xt_addrtype",
	"xt_multiport", "xt_nat", "xt_set", "xt_physdev", "xt_recent",
	"ip_set", "ip_set_hash_ip", "ip_set_hash_ipport", "ip_set_hash_ipportip", "ip_set_hash_ipportnet",
	"ip_set_hash_net", "ip_set_bitmap_port",
	"veth", "bridge", "br_netfilter", "dummy", "xfrm_user",
}

// parseModulesDep reads depmod's modules.dep: "mod.ko: dep1.ko dep2.ko". The
// dependency list of each module is already transitive.
func parseModulesDep(r io.Reader) (map[string][]string, error) {
	deps := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		mod, rest, ok := strings.Cut(text, ":")
		if !ok || mod == "" {
			return nil, fmt.Errorf("vmtest: modules.dep line %d: no \"module:\" in %q", line, text)
		}
		deps[mod] = strings.Fields(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vmtest: reading modules.dep: %w", err)
	}
	return deps, nil
}

// modIndex is what the closure needs from depmod's files.
type modIndex struct {
	deps     map[string][]string // modules.dep: path -> paths (transitive)
	aliases  map[string][]string // modules.alias (exact aliases only): alias -> module names
	softdeps map[string][]string // modules.softdep: module name -> names or aliases
}

// modName turns a module path into the name modprobe uses ("nf-nat.ko" -> "nf_nat").
func modName(p string) string {
	return strings.ReplaceAll(path.Base(stripKoExt(p)), "-", "_")
}

// parseAliasLike reads modules.alias ("alias NAME MODULE") or modules.softdep
// ("softdep MODULE pre: a b post: c") into key -> values. Wildcard aliases
// are skipped: the closure only follows exact names.
func parseAliasLike(r io.Reader, keyword string) (map[string][]string, error) {
	out := map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] != keyword || strings.ContainsAny(f[1], "*?[") {
			continue
		}
		for _, v := range f[2:] {
			if v != "pre:" && v != "post:" {
				out[f[1]] = append(out[f[1]], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vmtest: reading modules.%s: %w", keyword, err)
	}
	return out, nil
}

// closure returns the sorted set of modules (paths relative to the modules
// directory) under any of dirs, or named in files, plus everything they
// depend on, hard (modules.dep) or soft (modules.softdep, e.g. libcrc32c ->
// crc32c). Files that modules.dep does not know are ignored: a kernel may
// lack some of them.
func (ix *modIndex) closure(dirs, files []string) []string {
	byName := map[string]string{}
	for m := range ix.deps {
		byName[modName(m)] = m
	}
	want := map[string]bool{}
	var add func(m string)
	add = func(m string) {
		if want[m] {
			return
		}
		want[m] = true
		for _, d := range ix.deps[m] {
			add(d)
		}
		for _, soft := range ix.softdeps[modName(m)] {
			for _, name := range append([]string{soft}, ix.aliases[soft]...) {
				if p, ok := byName[strings.ReplaceAll(name, "-", "_")]; ok {
					add(p)
				}
			}
		}
	}
	for m := range ix.deps {
		for _, d := range dirs {
			if strings.HasPrefix(m, d) {
				add(m)
			}
		}
	}
	for _, f := range files {
		if p, ok := byName[modName(f)]; ok {
			add(p)
		}
	}
	out := make([]string, 0, len(want))
	for m := range want {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// present returns the names in mods that are modules of this kernel.
func (ix *modIndex) present(mods []string) (have, missing []string) {
	names := map[string]bool{}
	for m := range ix.deps {
		names[modName(m)] = true
	}
	for _, m := range mods {
		if names[strings.ReplaceAll(m, "-", "_")] {
			have = append(have, m)
		} else {
			missing = append(missing, m)
		}
	}
	return have, missing
}

// stripKoExt removes ".ko" and a compression suffix (".ko.xz", ".ko.zst").
func stripKoExt(p string) string {
	base := path.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		return path.Join(path.Dir(p), base[:i])
	}
	return p
}
