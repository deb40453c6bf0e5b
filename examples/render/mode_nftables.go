package main

import (
	"context"
	"fmt"
	"io"

	"github.com/proxykit/proxykit/nftables"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func init() { modes["nftables"] = renderNFTables }

// renderNFTables prints the nftables ruleset as an `nft -f` script in the
// library's default layout: per family (both, or the one -family names)
// nftables.DefaultShards tables, ip proxykit and ip proxykit-01... (services
// spread over them by a hash of their name; see nftables.RenderOptions).
// The script replaces the tables when loaded.
func renderNFTables(_ context.Context, w io.Writer, plan *rulegen.Plan, f servicemodel.IPFamily) error {
	var fams []nftables.Family
	for _, fam := range familiesFor(f) {
		if fam == servicemodel.IPv6 {
			fams = append(fams, nftables.FamilyIPv6)
		} else {
			fams = append(fams, nftables.FamilyIPv4)
		}
	}
	rs, err := nftables.Render(plan, nftables.RenderOptions{Families: fams})
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "# ---- nft -f ----")
	return rs.Print(w)
}
