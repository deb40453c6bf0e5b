package ipvs

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/proxykit/proxykit/iptables"
	"github.com/proxykit/proxykit/rulegen"
)

// DefaultScheduler is the node-wide scheduler when RenderOptions.Scheduler is
// empty, as in kube-proxy.
const DefaultScheduler = "rr"

// RenderOptions configure Render.
type RenderOptions struct {
	// Scheduler is the node-wide scheduler, possibly with flags
	// ("mh:mh-fallback,mh-port", see ParseScheduler); default "rr". A
	// service port's own scheduler (PortPlan.Scheduler) wins over it.
	Scheduler string
	// SchedulerFlags are the flags for a scheduler a service names by name
	// only, e.g. {"mh": Sched1|Sched2}.
	SchedulerFlags map[string]SchedFlags
	// Forwarding is the forwarding method of the real servers of the
	// virtual servers of one frontend kind (e.g. Direct for ExternalIP);
	// kinds not listed masquerade.
	Forwarding map[rulegen.FrontendKind]Forward
	// SetPrefix starts the name of every ipset; default DefaultSetPrefix. It
	// must equal the Kernel's Options.SetPrefix.
	SetPrefix string
	// ChainPrefix starts the companion iptables chains; default "KUBE-".
	ChainPrefix string
}

// ErrBadScheduler is wrapped by ParseScheduler's errors.
var ErrBadScheduler = errors.New("ipvs: bad scheduler")

// schedFlagNames maps the names ipvsadm accepts for -b to flags.
var schedFlagNames = map[string]SchedFlags{
	"flag-1": Sched1, "flag-2": Sched2, "flag-3": Sched3,
	"sh-fallback": Sched1, "sh-port": Sched2,
	"mh-fallback": Sched1, "mh-port": Sched2,
}

// ParseScheduler reads a scheduler with optional flags, "name" or
// "name:flag,flag" (the flags as ipvsadm -b takes them: sh-fallback,
// sh-port, mh-fallback, mh-port, flag-1..3).
func ParseScheduler(s string) (string, SchedFlags, error) {
	name, flagList, _ := strings.Cut(s, ":")
	if !slices.Contains(Schedulers, name) {
		return "", 0, fmt.Errorf("%w: %q is not one of %v", ErrBadScheduler, name, Schedulers)
	}
	var flags SchedFlags
	for f := range strings.SplitSeq(flagList, ",") {
		if f == "" {
			continue
		}
		v, ok := schedFlagNames[f]
		if !ok || (strings.HasPrefix(f, "sh-") && name != "sh") || (strings.HasPrefix(f, "mh-") && name != "mh") {
			return "", 0, fmt.Errorf("%w: flag %q does not apply to %s", ErrBadScheduler, f, name)
		}
		flags |= v
	}
	return name, flags, nil
}

// normalized checks o and fills in defaults.
func (o RenderOptions) normalized() (RenderOptions, schedChoice, error) {
	if o.Scheduler == "" {
		o.Scheduler = DefaultScheduler
	}
	name, flags, err := ParseScheduler(o.Scheduler)
	if err != nil {
		return o, schedChoice{}, err
	}
	if o.SetPrefix == "" {
		o.SetPrefix = DefaultSetPrefix
	}
	if o.ChainPrefix == "" {
		o.ChainPrefix = iptables.DefaultChainPrefix
	}
	if len(o.SetPrefix) > maxSetPrefix {
		return o, schedChoice{}, fmt.Errorf("ipvs: set prefix %q is longer than %d bytes", o.SetPrefix, maxSetPrefix)
	}
	if len(o.ChainPrefix) > iptables.MaxPrefixLen {
		return o, schedChoice{}, fmt.Errorf("ipvs: chain prefix %q is longer than %d bytes", o.ChainPrefix, iptables.MaxPrefixLen)
	}
	return o, schedChoice{name, flags}, nil
}

type schedChoice struct {
	name  string
	flags SchedFlags
}

// scheduler picks a service port's scheduler: its own hint when it names a
// kernel scheduler ("random" and unknown names fall back to the default).
func (o RenderOptions) scheduler(hint string, def schedChoice) schedChoice {
	if hint == "" || !slices.Contains(Schedulers, hint) {
		return def
	}
	if hint == def.name {
		return def
	}
	return schedChoice{hint, o.SchedulerFlags[hint]}
}
