package servicemodel

import "k8s.io/apimachinery/pkg/types"

// cowShards is the number of shards of a COWMap. An edit copies the shard
// table once and each touched shard once, so its cost is about
// changes × Len()/cowShards, not Len().
const cowShards = 256

// COWMap is an immutable map that shares unchanged shards between versions.
// Snapshots and rulegen's Plans use it so that a new version costs what
// changed. The zero value is not usable; make one with NewCOWMap.
type COWMap[K comparable, V any] struct {
	shards *[cowShards]map[K]V
	hash   func(K) uint32
	n      int
}

// NewCOWMap returns an empty map that places keys by hash.
func NewCOWMap[K comparable, V any](hash func(K) uint32) COWMap[K, V] {
	return COWMap[K, V]{shards: new([cowShards]map[K]V), hash: hash}
}

// Get returns the value stored under k.
func (m COWMap[K, V]) Get(k K) (V, bool) {
	v, ok := m.shards[m.hash(k)%cowShards][k]
	return v, ok
}

// Len returns the number of entries.
func (m COWMap[K, V]) Len() int { return m.n }

// Range calls fn for every entry, in no particular order, until fn returns false.
func (m COWMap[K, V]) Range(fn func(K, V) bool) {
	for _, shard := range m.shards {
		for k, v := range shard {
			if !fn(k, v) {
				return
			}
		}
	}
}

// Edit starts a batch of changes. The receiver is not modified.
func (m COWMap[K, V]) Edit() *COWEditor[K, V] {
	next := *m.shards
	return &COWEditor[K, V]{m: COWMap[K, V]{shards: &next, hash: m.hash, n: m.n}}
}

// COWEditor collects changes to a COWMap; Done returns the new version.
type COWEditor[K comparable, V any] struct {
	m      COWMap[K, V]
	copied [cowShards]bool
}

func (e *COWEditor[K, V]) shard(k K) map[K]V {
	i := e.m.hash(k) % cowShards
	if !e.copied[i] {
		old := e.m.shards[i]
		next := make(map[K]V, len(old)+1)
		for key, v := range old {
			next[key] = v
		}
		e.m.shards[i] = next
		e.copied[i] = true
	}
	return e.m.shards[i]
}

// Reserve sizes the shards for about n entries in all, so that filling a
// new map does not regrow them. Call it before the first Set.
func (e *COWEditor[K, V]) Reserve(n int) {
	per := n/cowShards + 1
	for i := range e.m.shards {
		if !e.copied[i] && len(e.m.shards[i]) == 0 {
			e.m.shards[i] = make(map[K]V, per)
			e.copied[i] = true
		}
	}
}

// Set stores v under k.
func (e *COWEditor[K, V]) Set(k K, v V) {
	s := e.shard(k)
	if _, ok := s[k]; !ok {
		e.m.n++
	}
	s[k] = v
}

// Delete removes k.
func (e *COWEditor[K, V]) Delete(k K) {
	if _, ok := e.m.Get(k); !ok {
		return
	}
	delete(e.shard(k), k)
	e.m.n--
}

// Get reads through the pending changes.
func (e *COWEditor[K, V]) Get(k K) (V, bool) { return e.m.Get(k) }

// Done returns the edited map. The editor must not be used afterwards.
func (e *COWEditor[K, V]) Done() COWMap[K, V] {
	m := e.m
	e.m = COWMap[K, V]{}
	return m
}

// HashName hashes a NamespacedName with FNV-1a, without allocating.
func HashName(n types.NamespacedName) uint32 {
	h := fnvString(fnvOffset, n.Namespace)
	h = fnvByte(h, '/')
	return fnvString(h, n.Name)
}

// HashPortName hashes a ServicePortName with FNV-1a, without allocating.
func HashPortName(n ServicePortName) uint32 {
	h := HashName(n.NamespacedName)
	h = fnvByte(h, ':')
	h = fnvString(h, n.Port)
	h = fnvByte(h, '/')
	return fnvString(h, string(n.Protocol))
}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func fnvByte(h uint32, b byte) uint32 { return (h ^ uint32(b)) * fnvPrime }

func fnvString(h uint32, s string) uint32 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}
