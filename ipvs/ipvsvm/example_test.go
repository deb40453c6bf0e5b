package ipvsvm

import (
	"fmt"

	"github.com/proxykit/proxykit/ipvs"
)

// The tests here compare the kernel with what ipvsadm prints; this is how
// such a listing reads back into a State.
func Example() {
	st, err := ipvs.ParseIPVSADM(`IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  10.96.0.1:443 rr persistent 10800
  -> 10.244.1.2:6443              Masq    1      3          0
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(st.SaveIPVS())
	// Output:
	// -A -t 10.96.0.1:443 -s rr -p 10800
	// -a -t 10.96.0.1:443 -r 10.244.1.2:6443 -m -w 1
}
