// Package ipvs is proxykit's IPVS backend: the kernel's IP Virtual Server
// programmed over netlink (github.com/moby/ipvs), with the service VIPs bound
// on a dummy interface and the companion ipsets (github.com/vishvananda/netlink).
//
// [Render] turns a rulegen.Plan into the desired [State] (one virtual server
// per ClusterIP, external IP, load-balancer IP and NodePort address, the
// plan's scheduler and persistence, masquerade or direct-routing real
// servers, the VIPs on the dummy interface) plus the companion iptables rules
// and ipsets that IPVS mode needs (masquerade, hairpin, source ranges, REJECT
// and DROP verdicts), whose count does not grow with the number of services.
// [Backend] implements rulegen.Backend on a [Kernel] and an iptables.Kernel,
// incrementally when told what changed.
//
// Below Render and Backend, the plan-independent layer has:
//
//   - a state model: [State] holds [VirtualServer]s (protocol TCP/UDP/SCTP or
//     a firewall mark, scheduler and its flags, persistence) with their
//     [RealServer]s (weight, forwarding method, thresholds), the addresses bound
//     on the dummy interface and the [IPSet]s with their entries;
//   - text: [State.SaveIPVS] prints ipvsadm-save rules that `ipvsadm -R`
//     accepts, [State.SaveIPSets] prints text that `ipset restore` accepts, and
//     [ParseIPVSADM] reads the output of `ipvsadm -S` and `ipvsadm -L` (with or
//     without -n);
//   - [Diff]: (current, desired) → ordered [Op]s, minimal and, when told what
//     changed, at a cost that follows the change; with graceful termination of
//     removed real servers through a [Terminating] list;
//   - the [Kernel] interface with two implementations sharing one engine: [Real]
//     (a network namespace's IPVS, dummy interface and ipsets) and [Fake], a
//     strict in-memory kernel with failure injection.
//
// # Ownership
//
// Nothing foreign is ever changed or deleted. Ownership is derived from kernel
// state, so it survives a restart of the process:
//
//   - a virtual server with an address is ours iff that address is bound on our
//     dummy interface (Options.Dummy, default "kube-ipvs0"), or iff it is
//     recorded in our ownership ipset (Options.SetPrefix + "IPVS-OWN", hash:ip,port,
//     and "IPVS-OWN6" for IPv6). Apply records a virtual server there when it
//     adds one whose address is not on the dummy interface (NodePort virtual
//     servers on node addresses) and removes the record when it deletes it;
//   - a firewall-mark virtual server is ours iff mark & Options.FWMarkMask ==
//     Options.FWMarkValue with a non-zero mask;
//   - an ipset is ours iff its name starts with Options.SetPrefix.
//
// Read returns only what is ours (the ownership sets stay internal), so a Diff
// between Read's result and a desired state never names a foreign object.
//
// # Transactions
//
// IPVS operations are not atomic. Apply journals the inverse of every
// operation it performs and, when one fails, undoes the journal in reverse, so
// that after a failed Apply the kernel holds what it held before (an
// [*ApplyError] says which operation failed and whether the undo did too).
// [Real] sends a run of entries of one ipset as many requests in one socket
// write (as ipset restore does); the kernel answers only the refused ones and
// the last, so each entry's outcome is known and journaled. When the answers
// of a write are lost, Real reads the set back to learn which entries were
// applied before undoing.
//
// # Graceful termination
//
// A real server that leaves the desired state is first set to weight 0 and
// deleted later, once it has no active connections (and, for UDP, no inactive
// ones either, as kube-proxy does) or when DiffOptions.GracePeriod has passed.
// A real server that comes back before then is restored to its weight. A
// virtual server that leaves the desired state is deleted at once, with its
// real servers (as kube-proxy does). Diff needs the connection counters of
// the current state: Read has them; a caller that diffs only what changed
// refreshes the virtual servers Terminating.Services names with ReadService.
//
// # Tests
//
// Package ipvs/ipvstest is a conformance suite that runs against the Fake
// here and against Real in package ipvs/ipvsvm, whose TestMain boots a VM
// with Debian's kernel (internal/vmtest) when the host has no IPVS.
package ipvs
