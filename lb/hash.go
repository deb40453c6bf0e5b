package lb

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// Hashing. Every hash here is a fixed function of its input (no per-process
// seed), so sh, dh and mh choose the same backend for the same key in every
// process and after restarts.
//
//   - Keys (addresses, ports) are hashed by mixing the 16-byte form of the
//     address and the port through the SplitMix64 / murmur3 64-bit finaliser
//     (mix64). It is a bijection with full avalanche, costs a few
//     nanoseconds and never allocates.
//   - Backend IDs (strings, hashed only when a table is built) use FNV-1a 64
//     followed by mix64, which fixes FNV's weak high bits.

const (
	seedSource = 0x9e3779b97f4a7c15
	seedDest   = 0xc2b2ae3d27d4eb4f
	seedOffset = 0x165667b19e3779f9
	seedSkip   = 0x27d4eb2f165667c5
)

// mix64 is the SplitMix64 finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashAddr hashes an address and a port with a seed. An invalid (zero)
// address hashes like ::.
func hashAddr(a netip.Addr, port uint16, seed uint64) uint64 {
	b := a.As16()
	h := mix64(seed ^ binary.BigEndian.Uint64(b[:8]))
	h = mix64(h ^ binary.BigEndian.Uint64(b[8:]))
	return mix64(h ^ uint64(port))
}

// hashString is FNV-1a 64 of s, starting from seed, then mixed.
func hashString(s string, seed uint64) uint64 {
	h := uint64(14695981039346656037) ^ seed
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return mix64(h)
}

// reduce maps a uniform 64-bit hash onto [0, n) without division (Lemire's
// multiply-shift).
func reduce(h uint64, n uint64) uint64 {
	hi, _ := bits.Mul64(h, n)
	return hi
}
