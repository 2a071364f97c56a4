package crm

import (
	"context"
	"sync"
	"time"

	"smartcrm/internal/store"
)

// userCache answers "does this user exist" for user fields without a query per value.
// Users change rarely; a miss reloads, so a user created a moment ago is found.
type userCache struct {
	st       *store.Store
	mu       sync.Mutex
	ids      map[int64]bool
	loadedAt time.Time
}

const userCacheTTL = 30 * time.Second

func (c *userCache) exists(ctx context.Context, id int64) (bool, error) {
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
