// Package itemcache remembers the items a server wrote or read last, as they were.
package itemcache

import (
	"sync"
	"sync/atomic"
)

// On PostgreSQL an update costs a round trip before its writes: the item's row, read
// and locked, is what the change is worked out from. The item a stage move or an edit
// touches is very often one this server wrote moments before (created it, moved it a
// step earlier, ran a robot on it) or read (an integration reads an item, then writes
// it back changed). Cache keeps those items: an update may start from
// the remembered state instead of reading it, provided its UPDATE checks the version in
// the same transaction (store.Tx.AssumeItemVersion), which rolls everything back when
// someone else changed the row meanwhile. A stale entry therefore costs a retry, never
// a wrong write; that is why there is no expiry, only a bound on the number kept.
//
// Eviction is by generations: items go into the young generation; when it holds half
// the bound it becomes the old one and the oldest is dropped. A lookup that finds an
// item in the old generation brings it back to the young one, so the items in use
// stay while those nobody touched for a generation go, and no more than max are kept.
type Cache[V any] struct {
	mu         sync.Mutex
	young, old map[Key]entry[V]
	max        int
}

type entry[V any] struct {
	version int64
	v       V
}

// Key names an item: the registry row of its type (never reused, unlike an entity type
// id after a type is deleted), the entity type and the item's id.
type Key struct {
	TypeID, EntityTypeID, ID int64
}

// New returns a cache that keeps at most max items.
func New[V any](max int) *Cache[V] {
	return &Cache[V]{young: map[Key]entry[V]{}, old: map[Key]entry[V]{}, max: max}
}

// generation is how many items the young generation takes before it ages.
func (c *Cache[V]) generation() int { return max(1, c.max/2) }

// keep puts e into the young generation, ageing it first when it is full.
func (c *Cache[V]) keep(k Key, e entry[V]) {
	if _, ok := c.young[k]; !ok && len(c.young) >= c.generation() {
		c.old, c.young = c.young, make(map[Key]entry[V], c.generation())
	}
	c.young[k] = e
	delete(c.old, k)
}

// lookup finds k in either generation.
func (c *Cache[V]) lookup(k Key) (entry[V], bool) {
	if e, ok := c.young[k]; ok {
		return e, true
	}
	e, ok := c.old[k]
	return e, ok
}

// Get returns the latest state put under k.
func (c *Cache[V]) Get(k Key) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lookup(k)
	if !ok {
		misses.Add(1)
		return e.v, false
	}
	hits.Add(1)
	if _, young := c.young[k]; !young {
		c.keep(k, e) // in use: it stays another generation
	}
	return e.v, true
}

// hits and misses count the lookups of every cache in the process, for /metrics: the
// share of updates that skip their read.
var hits, misses atomic.Int64

// Hits is how many lookups found an item, in this process.
func Hits() int64 { return hits.Load() }

// Misses is how many lookups found none, in this process.
func Misses() int64 { return misses.Load() }

// Put remembers v as the item's state at version, unless a later version is kept
// already: two writes of one item that commit close together may report in either
// order.
func (c *Cache[V]) Put(k Key, version int64, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.lookup(k); ok && e.version > version {
		return
	}
	c.keep(k, entry[V]{version, v})
}

// Delete forgets an item.
func (c *Cache[V]) Delete(k Key) {
	c.mu.Lock()
	delete(c.young, k)
	delete(c.old, k)
	c.mu.Unlock()
}

// Reset forgets every item.
func (c *Cache[V]) Reset() {
	c.mu.Lock()
	c.young, c.old = map[Key]entry[V]{}, map[Key]entry[V]{}
	c.mu.Unlock()
}

// Len is the number of items kept.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.young) + len(c.old)
}
