package lb_test

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/proxykit/proxykit/lb"
)

func endpoints() []lb.Backend {
	var bs []lb.Backend
	for _, ep := range []string{"10.244.1.5:8080", "10.244.1.6:8080", "10.244.2.7:8080"} {
		bs = append(bs, lb.Backend{ID: ep, Addr: netip.MustParseAddrPort(ep), Weight: 1})
	}
	return bs
}

// A proxy picks a backend per new connection and reports its close.
func Example() {
	s, err := lb.New("rr", endpoints())
	if err != nil {
		fmt.Println(err)
		return
	}
	key := lb.PickKey{
		Client: netip.MustParseAddrPort("10.0.0.100:40000"),
		Dest:   netip.MustParseAddrPort("10.96.0.10:80"),
	}
	for range 4 {
		b, err := s.Pick(key)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println("connect to", b.Addr)
		s.Done(b) // when the connection closes
	}
	// Output:
	// connect to 10.244.1.5:8080
	// connect to 10.244.1.6:8080
	// connect to 10.244.2.7:8080
	// connect to 10.244.1.5:8080
}

// Least connection counts open connections; Update keeps the counts of the
// backends that stay.
func Example_leastConnection() {
	s, _ := lb.New("lc", endpoints())
	var open []lb.Backend
	for i := range 6 {
		b, _ := s.Pick(lb.PickKey{Client: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.100"), uint16(40000+i))})
		open = append(open, b)
	}
	_ = s.Update(endpoints()[1:]) // 10.244.1.5 leaves
	for _, b := range s.Backends() {
		fmt.Println(b.ID, "open:", b.Active())
	}
	for _, b := range open {
		s.Done(b)
	}
	fmt.Println("after close:", s.Backends()[0].Active(), s.Backends()[1].Active())
	// Output:
	// 10.244.1.6:8080 open: 2
	// 10.244.2.7:8080 open: 2
	// after close: 0 0
}

// Maglev keeps a client on its backend, in every process, and when a
// backend joins only about a quarter of 3 backends' clients move (to the new
// one).
func Example_maglev() {
	s, _ := lb.New("mh", endpoints())
	key := func(i int) lb.PickKey {
		return lb.PickKey{Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), 40000)}
	}
	before := map[int]string{}
	for i := range 1000 {
		b, _ := s.Pick(key(i))
		before[i] = b.ID
	}
	_ = s.Update(append(endpoints(), lb.Backend{
		ID: "10.244.2.8:8080", Addr: netip.MustParseAddrPort("10.244.2.8:8080"), Weight: 1,
	}))
	kept := 0
	for i := range 1000 {
		if b, _ := s.Pick(key(i)); b.ID == before[i] {
			kept++
		}
	}
	fmt.Println("at least 70% of clients kept their backend:", kept >= 700)
	// Output:
	// at least 70% of clients kept their backend: true
}

// Errors are typed.
func ExampleNew_errors() {
	_, err := lb.New("fastest", endpoints())
	var unknown *lb.UnknownSchedulerError
	fmt.Println(errors.As(err, &unknown), unknown.Name)

	s, _ := lb.New("wlc", nil)
	_, err = s.Pick(lb.PickKey{})
	fmt.Println(errors.Is(err, lb.ErrNoBackend))
	// Output:
	// true fastest
	// true
}
