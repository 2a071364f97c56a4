package store

import (
	"context"
	"testing"
	"time"
)

// The core kept for point reads goes to one more search while none comes, and is
// held back again from the first one on: a search waits for a slot of its own.
func TestSpareSearchSlotOnlyWhilePointReadsRest(t *testing.T) {
	ctx := context.Background()
	waiting, cancel := context.WithCancel(ctx)
	cancel() // a search that would have to wait gives up at once
	acquire := func(l *lanes, ctx context.Context, what string) func() {
		t.Helper()
		release, err := l.acquireSearch(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return release
	}
	l := newLanes(conn{}, 4)
	l.boundSearches(1, true)
	first := acquire(l, ctx, "the first search")
	second := acquire(l, ctx, "a second search, no point read yet")
	if _, err := l.acquireSearch(waiting); err == nil {
		t.Fatal("a third search ran: the spare slot is one")
	}
	second()
	l.notePointRead()
	if _, err := l.acquireSearch(waiting); err == nil {
		t.Fatal("a second search took the spare slot right after a point read")
	}
	first()
	acquire(l, waiting, "a search with its own slot free")()
	l.lastPointRead.Store(time.Now().Add(-pointReadQuiet).UnixNano())
	first = acquire(l, ctx, "the first search after the point reads rested")
	acquire(l, ctx, "a second one on the spare slot")()
	first()

	remote := newLanes(conn{}, 4)
	remote.boundSearches(1, false)
	release := acquire(remote, ctx, "a search on a database with cores of its own")
	if _, err := remote.acquireSearch(waiting); err == nil {
		t.Fatal("a database with cores of its own has no spare slot, yet a second search ran")
	}
	release()
}
