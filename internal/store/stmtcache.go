package store

import (
	"context"
	"database/sql"
	"strings"
	"sync"
)

// stmtCache keeps prepared statements by their SQL text. Preparing a 30-column INSERT
// costs SQLite about as much as running it, and the same few statements run all day.
// PostgreSQL needs no such cache: pgx keeps one per connection itself.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// wanted holds queries seen inside a transaction before they were prepared. The
	// writer pool has one connection, held by that transaction, so they are prepared
	// after it ends (prepareWanted).
	wanted map[string]bool
}

// maxCachedStmts bounds the cache: list queries vary with their filters, and a client
// sending ever-new filter shapes must not grow memory without end. Past the bound,
// statements are prepared per use as before.
const maxCachedStmts = 512

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
}

// get returns a prepared statement for q, or nil when q should not be cached (schema
// changes) or the cache is full. Inside a transaction (inTx) a miss is only recorded.
func (c *stmtCache) get(ctx context.Context, q string, inTx bool) *sql.Stmt {
	if c == nil || !cacheable(q) {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	if len(c.m)+len(c.wanted) >= maxCachedStmts {
		return nil
	}
	if inTx {
		c.wanted[q] = true
		return nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil // let the uncached path report the error
	}
	c.m[q] = st
	return st
}

// prepareWanted prepares the queries recorded inside transactions. The caller makes
// sure no transaction holds the pool's connection.
func (c *stmtCache) prepareWanted() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for q := range c.wanted {
		if st, err := c.db.Prepare(q); err == nil {
			c.m[q] = st
		}
		delete(c.wanted, q)
	}
}

func cacheable(q string) bool {
	for _, verb := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
		if strings.HasPrefix(q, verb) {
			return true
		}
	}
	return false
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}
