package nftables

import (
	"strings"
	"testing"
)

// The printed script is accepted by nft, and after Apply over netlink the
// kernel's listing equals the script (normalised), and Read decodes every rule
// back so that Diff finds nothing to do.
func TestPrintMatchesKernelListing(t *testing.T) {
	ns := newTestNS(t)
	want := richRuleset()
	want.Tables = append(want.Tables, inetTable())
	script := want.String()
	ns.nft(t, script, "-c", "-f", "-")

	k := ns.kernel(t, tv4, tv6, inetTable().ID())
	mustApply(t, k, Diff(nil, want, nil))
	for _, tb := range want.Tables {
		got := ns.nft(t, "", "list", "table", tb.Family.String(), tb.Name)
		if g, w := Normalize(got), Normalize(tb.String()); g != w {
			t.Errorf("table %s: kernel listing differs from print\n%s", tb.ID(), lineDiff(w, g))
		}
	}
	back := mustRead(t, k)
	if tx := Diff(back, want, nil); !tx.Empty() {
		t.Errorf("read-back differs from what was applied:\n%s", tx)
	}
	if g, w := Normalize(back.String()), Normalize(want.String()); g != w {
		t.Errorf("read-back prints differently:\n%s", lineDiff(w, g))
	}
	// The script itself also loads (twice: it replaces the tables).
	ns.nft(t, script, "-f", "-")
	ns.nft(t, script, "-f", "-")
	if tx := Diff(mustRead(t, k), want, nil); !tx.Empty() {
		t.Errorf("after nft -f of the script, read-back differs:\n%s", tx)
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("- " + wl + "\n+ " + gl + "\n")
		}
	}
	return b.String()
}
