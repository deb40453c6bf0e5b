package lb

// cumulative holds the running sums of the live weights: cum[j] is the sum
// of the weights of live[0..j]. A uniform r in [0, total) lands on live[j]
// with probability weight/total.
type cumulative []int64

func newCumulative(s *set, _ *view[cumulative]) cumulative {
	if s.uniform {
		return nil // equal weights: index directly
	}
	cum := make(cumulative, len(s.live))
	var sum int64
	for j, i := range s.live {
		sum += int64(s.all[i].Weight)
		cum[j] = sum
	}
	return cum
}

// index maps r, uniform in [0, 2^64), to an index into s.all, weighted.
// The caller has checked that s.live is not empty.
func (cum cumulative) index(s *set, r uint64) int32 {
	if cum == nil {
		return s.live[reduce(r, uint64(len(s.live)))]
	}
	x := int64(reduce(r, uint64(s.total)))
	// Branch-free binary search for the first j with cum[j] > x: the answer
	// stays in [base, base+n); cum[len-1] = total > x.
	base, n := 0, len(cum)
	for n > 1 {
		half := n >> 1
		if cum[base+half-1] <= x {
			base += half
		}
		n -= half
	}
	return s.live[base]
}
