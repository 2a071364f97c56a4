// Package itemcache remembers the items a server wrote last, as it wrote them.
package itemcache

import (
	"sync"
	"sync/atomic"
)

// On PostgreSQL an update costs a round trip before its writes: the item's row, read
// and locked, is what the change is worked out from. The item a stage move or an edit
// touches is very often one this server wrote moments before (created it, moved it a
// step earlier, ran a robot on it). Cache keeps those items: an update may start from
// the remembered state instead of reading it, provided its UPDATE checks the version in
// the same transaction (store.Tx.AssumeItemVersion), which rolls everything back when
// someone else changed the row meanwhile. A stale entry therefore costs a retry, never
// a wrong write; that is why there is no expiry, only a bound on the number kept.
type Cache[V any] struct {
	mu      sync.Mutex
	entries map[Key]entry[V]
	max     int
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
	return &Cache[V]{entries: map[Key]entry[V]{}, max: max}
}

// Get returns the latest state put under k.
func (c *Cache[V]) Get(k Key) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok {
		hits.Add(1)
	} else {
		misses.Add(1)
	}
	return e.v, ok
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
// order. A full cache starts over: the items of the moment come back with their next
// write.
func (c *Cache[V]) Put(k Key, version int64, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok && e.version > version {
		return
	}
	if !ok && len(c.entries) >= c.max {
		c.entries = map[Key]entry[V]{}
	}
	c.entries[k] = entry[V]{version, v}
}

// Delete forgets an item.
func (c *Cache[V]) Delete(k Key) {
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}

// Reset forgets every item.
func (c *Cache[V]) Reset() {
	c.mu.Lock()
	c.entries = map[Key]entry[V]{}
	c.mu.Unlock()
}

// Len is the number of items kept.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
