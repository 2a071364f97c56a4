package access

import (
	"context"
	"sync"
	"time"

	"smartcrm/internal/store"
)

// Users answers "does this user exist and is active" for the fields and tasks that name
// people, without a query per value. Users change rarely; a miss reloads, so a user
// created a moment ago is found.
type Users struct {
	st       *store.Store
	mu       sync.Mutex
	ids      map[int64]bool
	loadedAt time.Time
}

const userCacheTTL = 30 * time.Second

// NewUsers returns the user reader over the store.
func NewUsers(st *store.Store) *Users { return &Users{st: st} }

// Exists reports whether id is an active user.
func (c *Users) Exists(ctx context.Context, id int64) (bool, error) {
	if id <= 0 {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids != nil && c.ids[id] && time.Since(c.loadedAt) < userCacheTTL {
		return true, nil
	}
	users, err := c.st.Users(ctx)
	if err != nil {
		return false, err
	}
	c.ids = make(map[int64]bool, len(users))
	for _, u := range users {
		if u.Active {
			c.ids[u.ID] = true
		}
	}
	c.loadedAt = time.Now()
	return c.ids[id], nil
}
