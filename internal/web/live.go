package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// Live updates: one tailer goroutine per server reads the outbox (every committed change
// is a row there) and fans item changes out to the browsers watching that type's
// Kanban, as server-sent events. It reads right after a change of this process commits
// (the hub is an ItemListener that wakes it after commit) and every pollEvery besides,
// for changes made by another server on the same database. The tailer starts with the
// first watcher and runs until the server stops.

const (
	pollEvery = time.Second
	// outboxBatch is how many outbox rows one read takes.
	outboxBatch = 500
	// gapWait is how long a hole in outbox ids is re-read: on PostgreSQL a row with a
	// lower id can commit after a higher one.
	gapWait = 5 * time.Second
	// keepAlive comments keep proxies from closing an idle stream.
	keepAlive = 25 * time.Second
)

type liveEvent struct {
	ID           int64  `json:"id"`
	Kind         string `json:"kind"`
	EntityTypeID int64  `json:"entityTypeId"`
	From         string `json:"from,omitempty"`
	To           string `json:"to,omitempty"`
	FromCategory int64  `json:"fromCategory"`
	ToCategory   int64  `json:"toCategory"`
	UserID       int64  `json:"userId"`
}

type hub struct {
	st  *store.Store
	log *slog.Logger

	mu      sync.Mutex
	subs    map[int64]map[chan liveEvent]bool // by entity type
	running bool
	closed  bool
	wake    chan struct{}
	done    chan struct{}
}

func newHub(st *store.Store, log *slog.Logger) *hub {
	return &hub{st: st, log: log, subs: map[int64]map[chan liveEvent]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// ItemChanged implements crm.ItemListener: wake the tailer once the change commits.
func (h *hub) ItemChanged(u *crm.Unit, _ *crm.ItemEvent) error {
	u.AfterCommit(func() {
		select {
		case h.wake <- struct{}{}:
		default:
		}
	})
	return nil
}

func (h *hub) subscribe(etid int64) (chan liveEvent, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	ch := make(chan liveEvent, 64)
	if h.subs[etid] == nil {
		h.subs[etid] = map[chan liveEvent]bool{}
	}
	h.subs[etid][ch] = true
	if !h.running {
		h.running = true
		last, err := h.lastID()
		if err != nil {
			h.log.Warn("live updates: reading the outbox", "err", err)
		}
		go h.tail(last)
	}
	return ch, true
}

func (h *hub) unsubscribe(etid int64, ch chan liveEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.subs[etid], ch)
}

func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

// lastID is the newest outbox row: a watcher sees what happens from now on.
func (h *hub) lastID() (int64, error) {
	return h.st.OutboxLastID(context.Background())
}

// tail reads new outbox rows until the hub closes.
func (h *hub) tail(after int64) {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	gaps := map[int64]time.Time{} // missing ids below the cursor, with when they were seen
	seen := map[int64]bool{}
	for {
		select {
		case <-h.done:
			return
		case <-h.wake:
		case <-t.C:
		}
		from := after
		now := time.Now()
		for id, at := range gaps {
			if now.Sub(at) > gapWait {
				delete(gaps, id)
				continue
			}
			from = min(from, id-1)
		}
		for {
			rows, err := h.st.OutboxAfter(context.Background(), from, outboxBatch)
			if err != nil {
				h.log.Warn("live updates: reading the outbox", "err", err)
				break
			}
			for _, r := range rows {
				if r.ID > after+1 {
					for id := after + 1; id < r.ID && len(gaps) < 1000; id++ {
						gaps[id] = now
					}
				}
				delete(gaps, r.ID)
				if r.ID <= after && seen[r.ID] {
					continue
				}
				seen[r.ID] = true
				after = max(after, r.ID)
				h.publish(r)
			}
			if len(rows) < outboxBatch {
				break
			}
			from = rows[len(rows)-1].ID
		}
		// Forget what can no longer be re-read.
		for id := range seen {
			if id < after-10000 {
				delete(seen, id)
			}
		}
	}
}

func (h *hub) publish(r store.OutboxRow) {
	// Most changes concern a type no browser watches: the row's columns tell, without
	// decoding its payload.
	h.mu.Lock()
	watched := len(h.subs[r.EntityTypeID]) > 0
	h.mu.Unlock()
	if !watched || !strings.HasPrefix(r.Topic, string(change.Item)+".") {
		return
	}
	c, err := change.Decode([]byte(r.Payload))
	if err != nil || c.Entity != change.Item {
		return
	}
	ev := liveEvent{ID: c.ID, Kind: string(c.Kind), EntityTypeID: c.EntityTypeID, UserID: c.UserID}
	if c.Stage != nil {
		ev.From, ev.To, ev.FromCategory, ev.ToCategory = c.Stage.From, c.Stage.To, c.Stage.FromCategory, c.Stage.ToCategory
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs[c.EntityTypeID] {
		select {
		case ch <- ev:
		default: // a browser that does not keep up misses events; its next reload is right
		}
	}
}

// serve streams a type's item changes to one browser.
func (h *hub) serve(q *request, etid, cat int64) {
	fl, ok := q.w.(http.Flusher)
	if !ok {
		http.Error(q.w, "Streaming is not supported", http.StatusInternalServerError)
		return
	}
	ch, ok := h.subscribe(etid)
	if !ok {
		http.Error(q.w, "The server is stopping", http.StatusServiceUnavailable)
		return
	}
	defer h.unsubscribe(etid, ch)
	w := q.w
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n: connected\n\n")
	fl.Flush()
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-h.done:
			return
		case <-ka.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			fl.Flush()
		case ev := <-ch:
			if ev.Kind != string(change.Deleted) && ev.ToCategory != cat && ev.FromCategory != cat && ev.To != "" {
				continue
			}
			b, _ := json.Marshal(ev)
			fmt.Fprintf(w, "event: item\ndata: %s\n\n", b)
			fl.Flush()
		}
	}
}
