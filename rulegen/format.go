package rulegen

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/proxykit/proxykit/nat"
	"github.com/proxykit/proxykit/servicemodel"
)

// Format writes a readable description of the plan for the given families
// (all when none is given), one block per service port and family.
func (p *Plan) Format(w io.Writer, fams ...servicemodel.IPFamily) error {
	if len(fams) == 0 {
		fams = families[:]
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# plan for node %q %v zone %q\n", p.Node.Name, p.Node.IPs, p.Node.Zone)
	fmt.Fprintf(bw, "# local traffic: %s; masquerade mark %s; masquerade all: %v\n",
		p.Config.LocalDetector, p.Config.Mark(), p.Config.MasqueradeAll)
	for _, f := range fams {
		for _, pp := range p.Ports(f) {
			pp.format(bw)
		}
	}
	return bw.Flush()
}

func (pp *PortPlan) format(w *bufio.Writer) {
	fmt.Fprintf(w, "\n%s %s\n", pp.Name, pp.Family)
	for _, fe := range pp.Frontends {
		fmt.Fprintf(w, "  frontend %s\n", fe)
	}
	var extras []string
	if pp.Affinity > 0 {
		extras = append(extras, fmt.Sprintf("affinity ClientIP %s", pp.Affinity))
	}
	if pp.Scheduler != "" {
		extras = append(extras, "scheduler "+pp.Scheduler)
	}
	if pp.HealthCheckNodePort != 0 {
		extras = append(extras, fmt.Sprintf("health check node port %d", pp.HealthCheckNodePort))
	}
	if len(extras) > 0 {
		fmt.Fprintf(w, "  %s\n", strings.Join(extras, ", "))
	}
	eps, action := pp.InternalSet()
	policy := "Cluster"
	if pp.InternalLocal {
		policy = "Local"
	}
	fmt.Fprintf(w, "  internal (%s): %s, masquerade %s\n", policy, describe(eps, action), pp.ClusterIPMasquerade)
	if hasExternal(pp) {
		eps, action = pp.ExternalSet()
		if pp.ExternalLocal {
			fmt.Fprintf(w, "  external (Local): %s, masquerade %s; from pods and the node as internal (the node's masqueraded)\n",
				describe(eps, action), nat.Never)
		} else {
			fmt.Fprintf(w, "  external (Cluster): %s, masquerade %s\n", describe(eps, action), nat.Always)
		}
	}
}

func describe(eps []Endpoint, action Action) string {
	if action != Forward {
		return action.String()
	}
	parts := make([]string, len(eps))
	for i, e := range eps {
		parts[i] = e.AddrPort().String()
		var flags []string
		if e.Local {
			flags = append(flags, "local")
		}
		if e.Terminating {
			flags = append(flags, "terminating")
		}
		if len(flags) > 0 {
			parts[i] += " (" + strings.Join(flags, ",") + ")"
		}
	}
	return "forward to " + strings.Join(parts, " ")
}
