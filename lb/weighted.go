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
	lo, hi := 0, len(cum)-1
	for lo < hi { // first j with cum[j] > x
		mid := int(uint(lo+hi) >> 1)
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return s.live[lo]
}
