package main

import (
	"context"
	"io"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
	"github.com/proxykit/proxykit/servicemodel"
)

func init() { modes["iptables"] = renderIPTables }

// renderIPTables prints iptables-save text of the nat and filter tables,
// ready for iptables-restore: IPv4 unless -family 6 asks for ip6tables.
func renderIPTables(_ context.Context, w io.Writer, plan *rulegen.Plan, f servicemodel.IPFamily) error {
	family := iptables.IPv4
	if f == servicemodel.IPv6 {
		family = iptables.IPv6
	}
	rs, err := iptables.Render(plan, family, iptables.RenderOptions{})
	if err != nil {
		return err
	}
	_, err = rs.WriteTo(w)
	return err
}
