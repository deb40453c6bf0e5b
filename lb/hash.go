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
//   - Keys (addresses, ports) are hashed like wyhash hashes 16 bytes: the
//     two halves of the address's 16-byte form (IPv4 as ::ffff:a.b.c.d),
//     xored with constants, are multiplied to 128 bits and folded (mum),
//     then the port is folded in the same way. Two multiplications, about
//     2 ns, no allocation.
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

// wyhash's constants.
const (
	wyp0 = 0xa0761d6478bd642f
	wyp1 = 0xe7037ed1a0b428db
	wyp2 = 0x8ebc6af09c88c6e3
	wyp3 = 0x589965cc75374cc3
)

// mum multiplies a and b to 128 bits and folds the halves.
func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hashAddr hashes an address and a port with a seed. An invalid (zero)
// address hashes like ::.
// IPv4 takes a faster path to the same value as its 16-byte form: reading
// back the array As16 returns costs a store-forwarding stall (~10 ns here).
func hashAddr(a netip.Addr, port uint16, seed uint64) uint64 {
	var hi, lo uint64
	if a.Is4() {
		v4 := a.As4()
		lo = 0xffff<<32 | uint64(binary.BigEndian.Uint32(v4[:]))
	} else {
		b := a.As16()
		hi, lo = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	}
	h := mum(hi^seed^wyp0, lo^wyp1)
	return mum(h^uint64(port)^wyp2, seed^wyp3)
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
