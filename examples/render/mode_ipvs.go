package main

import (
	"context"
	"fmt"
	"io"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/ipvs"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func init() { modes["ipvs"] = renderIPVS }

// renderIPVS prints what IPVS mode programs, in three sections: the
// virtual servers as ipvsadm-save text (for ipvsadm -R), the addresses bound
// on the dummy interface, the ipsets as ipset save text (for ipset restore)
// and the companion rules as iptables-save text (for iptables-restore). The
// -family flag limits the companion rules to one family; the IPVS table and
// the sets are node-wide and always printed whole.
func renderIPVS(_ context.Context, w io.Writer, plan *rulegen.Plan, f servicemodel.IPFamily) error {
	r, err := ipvs.Render(plan, ipvs.RenderOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "# ---- ipvsadm-save (ipvsadm -R) ----")
	fmt.Fprint(w, r.IPVS.SaveIPVS())
	fmt.Fprintf(w, "# ---- addresses on %s ----\n", ipvs.DefaultDummy)
	for _, a := range r.IPVS.SortedAddresses() {
		fmt.Fprintf(w, "# %s\n", a)
	}
	fmt.Fprintln(w, "# ---- ipset save (ipset restore) ----")
	fmt.Fprint(w, r.IPVS.SaveIPSets())
	for _, fam := range familiesFor(f) {
		tool := "iptables-save"
		family := iptables.IPv4
		if fam == servicemodel.IPv6 {
			tool, family = "ip6tables-save", iptables.IPv6
		}
		fmt.Fprintf(w, "# ---- %s (companion rules) ----\n", tool)
		if _, err := r.Rules[family].WriteTo(w); err != nil {
			return err
		}
	}
	return nil
}
