package rest

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Defaults of the body memory budget; see (*Server).LimitBodyMemory.
const (
	DefaultBodyMemory     = 128 << 20
	DefaultBodyMemoryWait = 30 * time.Second
)

// errBodyMemory answers a request that waited too long for body memory. Bitrix24's
// rate-limit code, because clients (the SDKs among them) already retry it with a pause.
var errBodyMemory = apiErr(http.StatusServiceUnavailable, "QUERY_LIMIT_EXCEEDED",
	"Too many large requests at once: retry later")

var errBodyMemoryWait = errors.New("waited too long for body memory")

// bodyBudget bounds the bytes of request bodies held in memory at once. A body reserves
// its size before it is read and keeps it until its call has answered, because what is
// decoded from it (strings copied out of it, files decoded from base64) lives as long
// as the call: that, a small multiple of the bodies, is the memory being bounded.
//
// A reservation that fits goes ahead even while larger ones wait, so ordinary small
// calls never queue behind uploads; a large one that cannot fit within the wait is
// refused rather than queued for ever.
type bodyBudget struct {
	limit int64
	wait  time.Duration

	mu      sync.Mutex
	used    int64
	waiting int
	// released is closed, and replaced, whenever a reservation ends, waking waiters.
	released chan struct{}
}

func newBodyBudget(limit int64, wait time.Duration) *bodyBudget {
	return &bodyBudget{limit: limit, wait: wait, released: make(chan struct{})}
}

// acquire reserves n bytes, waiting up to b.wait for other bodies to finish. A body
// larger than the whole budget reserves all of it, so it can still be read alone.
func (b *bodyBudget) acquire(ctx context.Context, n int64) (release func(), err error) {
	n = min(n, b.limit)
	var timeout <-chan time.Time
	b.mu.Lock()
	for b.used+n > b.limit {
		if timeout == nil {
			t := time.NewTimer(b.wait)
			defer t.Stop()
			timeout = t.C
		}
		released := b.released
		b.waiting++
		b.mu.Unlock()
		select {
		case <-released:
		case <-timeout:
			err = errBodyMemoryWait
		case <-ctx.Done():
			err = ctx.Err()
		}
		b.mu.Lock()
		b.waiting--
		if err != nil {
			b.mu.Unlock()
			return nil, err
		}
	}
	b.used += n
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			b.used -= n
			close(b.released)
			b.released = make(chan struct{})
			b.mu.Unlock()
		})
	}, nil
}

// state reports the bytes reserved and the requests waiting.
func (b *bodyBudget) state() (inUse int64, waiting int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.waiting
}

// LimitBodyMemory sets how many bytes of request bodies may be held at once, and how
// long a request waits for its share before it is refused with 503
// QUERY_LIMIT_EXCEEDED. A body whose length is not declared reserves MaxBodyBytes. Only
// authenticated calls to known methods read their bodies, so only they reserve. Call it
// before serving.
func (s *Server) LimitBodyMemory(limit int64, wait time.Duration) {
	s.bodies = newBodyBudget(limit, wait)
}

// BodyMemory reports the bytes of request bodies reserved by calls in progress and the
// number of requests waiting for theirs.
func (s *Server) BodyMemory() (inUse int64, waiting int) { return s.bodies.state() }
