package lb

// isPrime reports whether n is prime, by trial division (n <= 1<<24 here,
// so at most ~2000 divisions).
func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	if n%2 == 0 {
		return n == 2
	}
	for d := uint64(3); d*d <= n; d += 2 {
		if n%d == 0 {
			return false
		}
	}
	return true
}

// nextPrime returns the smallest prime >= n.
func nextPrime(n uint64) uint64 {
	for !isPrime(n) {
		n++
	}
	return n
}

// prevPrime returns the largest prime <= n (n >= 2).
func prevPrime(n uint64) uint64 {
	for !isPrime(n) {
		n--
	}
	return n
}
