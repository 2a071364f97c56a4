package crm

import (
	"sync"
	"time"
)

// Offset paging (start=N) answers a total with every page. A client paging through a
// filter asks the same count again and again, and on a large type each count walks the
// matching rows (Bitrix24's weakness #11). countCache remembers totals per type and
// filter until an item of that type changes in this process; countTTL bounds how long a
// change made by another process (a second server on the same PostgreSQL) can go unseen.
type countCache struct {
	mu      sync.Mutex
	gen     map[int64]uint64 // per type, bumped after every committed item change
	entries map[countKey]countEntry
}

type countKey struct {
	etid   int64
	filter string
}

type countEntry struct {
	gen   uint64
	total int
	at    time.Time
}

const (
	countTTL        = 10 * time.Second
	maxCountEntries = 4096
)

func newCountCache() *countCache {
	return &countCache{gen: map[int64]uint64{}, entries: map[countKey]countEntry{}}
}

// generation returns the type's change counter; read it before counting.
func (c *countCache) generation(etid int64) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen[etid]
}

func (c *countCache) get(k countKey) (int, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.gen != c.gen[k.etid] || time.Since(e.at) > countTTL {
		return 0, false
	}
	return e.total, true
}

// put stores a total counted at generation gen.
func (c *countCache) put(k countKey, gen uint64, total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCountEntries {
		c.entries = map[countKey]countEntry{}
	}
	c.entries[k] = countEntry{gen: gen, total: total, at: time.Now()}
}

// changed records a committed change to a type's items.
func (c *countCache) changed(etid int64) {
	c.mu.Lock()
	c.gen[etid]++
	c.mu.Unlock()
}

// reset forgets every total, after a change to the registry.
func (c *countCache) reset() {
	c.mu.Lock()
	c.entries = map[countKey]countEntry{}
	c.mu.Unlock()
}
