// Package countcache remembers list totals between changes.
package countcache

import (
	"sync"
	"time"
)

// Offset paging (start=N) answers a total with every page. A client paging through a
// filter asks the same count again and again, and on a large type each count walks the
// matching rows (Bitrix24's weakness #11). Cache remembers totals per type and
// filter until an item of that type changes in this process; countTTL bounds how long a
// change made by another process (a second server on the same PostgreSQL) can go unseen.
type Cache struct {
	mu      sync.Mutex
	gen     map[int64]uint64 // per type, bumped after every committed item change
	entries map[Key]entry
}

// Key is a count: a type and the canonical text of a filter.
type Key struct {
	EntityTypeID int64
	Filter       string
}

type entry struct {
	gen   uint64
	total int
	at    time.Time
}

const (
	countTTL        = 10 * time.Second
	maxCountEntries = 4096
)

// New returns an empty cache.
func New() *Cache {
	return &Cache{gen: map[int64]uint64{}, entries: map[Key]entry{}}
}

// Generation returns the type's change counter; read it before counting.
func (c *Cache) Generation(etid int64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[etid]
}

// Get returns a total counted since the type last changed.
func (c *Cache) Get(k Key) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.gen != c.gen[k.EntityTypeID] || time.Since(e.at) > countTTL {
		return 0, false
	}
	return e.total, true
}

// Put stores a total counted at generation gen.
func (c *Cache) Put(k Key, gen uint64, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCountEntries {
		c.entries = map[Key]entry{}
	}
	c.entries[k] = entry{gen: gen, total: total, at: time.Now()}
}

// Changed records a committed change to a type's items.
func (c *Cache) Changed(etid int64) {
	c.mu.Lock()
	c.gen[etid]++
	c.mu.Unlock()
}

// Reset forgets every total, after a change to the registry.
func (c *Cache) Reset() {
	c.mu.Lock()
	c.entries = map[Key]entry{}
	c.mu.Unlock()
}
