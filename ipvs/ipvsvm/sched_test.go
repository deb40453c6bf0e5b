package ipvsvm

import (
	"context"
	"io/fs"
	"net/netip"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	"testing"

	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/ipvs/ipvstest"
)

// TestEverySchedulerName programs one virtual server per kernel scheduler;
// a scheduler whose module the kernel lacks is skipped with a note.
func TestEverySchedulerName(t *testing.T) {
	ns := newNS(t)
	k := ns.open(t, ipvstest.Options)
	vip := netip.MustParseAddr("10.96.0.1")
	for i, name := range ipvs.Schedulers {
		st := ipvs.NewState()
		st.AddAddress(vip)
		v := st.AddService(&ipvs.VirtualServer{VSKey: ipvs.VSKey{Protocol: ipvs.TCP, Addr: vip, Port: uint16(1000 + i)},
			Scheduler: name, Reals: []ipvs.RealServer{{Addr: netip.MustParseAddr("10.244.1.2"), Port: 80, Weight: 1}}})
		if name == "sh" || name == "mh" {
			v.Flags = ipvs.Sched1 | ipvs.Sched2
		}
		cur := ipvstest.Read(t, k)
		if _, err := k.Apply(context.Background(), ipvs.Diff(cur, st, ipvs.DiffOptions{})); err != nil {
			if !hasModule("ip_vs_" + name) {
				t.Logf("scheduler %s: skipped, the kernel has no module ip_vs_%s (%v)", name, name, err)
				continue
			}
			t.Fatalf("scheduler %s: %v", name, err)
		}
		ipvstest.MustEqual(t, "scheduler "+name, ipvstest.Read(t, k), st)
		t.Logf("scheduler %s: accepted", name)
	}
}

// hasModule reports whether the running kernel ships the named module.
func hasModule(name string) bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	found := false
	root := filepath.Join("/lib/modules", unix.ByteSliceToString(u.Release[:]))
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), name+".ko") {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}
