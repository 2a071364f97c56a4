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
	l.boundSearches(1, spareAfterQuiet)
	first := acquire(l, ctx, "the first search")
	second := acquire(l, ctx, "a second search, no point read yet")
	if _, err := l.acquireSearch(waiting); err == nil {
		t.Fatal("a third search ran: the spare slot is one")
	}
	second()
	l.notePointRead()()
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
	remote.boundSearches(1, noSpare)
	release := acquire(remote, ctx, "a search on a database with cores of its own")
	if _, err := remote.acquireSearch(waiting); err == nil {
		t.Fatal("a database with cores of its own has no spare slot, yet a second search ran")
	}
	release()
}

// With PostgreSQL on this machine the spare slot waits for point reads between them:
// none running, and none started within the time a search holds its slot.
func TestSpareSearchSlotBetweenPointReads(t *testing.T) {
	ctx := context.Background()
	waiting, cancel := context.WithCancel(ctx)
	cancel()
	l := newLanes(conn{}, 4)
	l.boundSearches(1, spareBetweenReads)
	l.searchHold.Store(int64(50 * time.Millisecond))
	first, err := l.acquireSearch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := l.notePointRead()
	l.lastPointRead.Store(time.Now().Add(-time.Second).UnixNano())
	if _, err := l.acquireSearch(waiting); err == nil {
		t.Fatal("a second search took the spare slot while a point read ran")
	}
	done()
	l.lastPointRead.Store(time.Now().UnixNano())
	if _, err := l.acquireSearch(waiting); err == nil {
		t.Fatal("a second search took the spare slot right after a point read")
	}
	l.lastPointRead.Store(time.Now().Add(-60 * time.Millisecond).UnixNano())
	second, err := l.acquireSearch(ctx)
	if err != nil {
		t.Fatalf("no spare slot a search's length after the last point read: %v", err)
	}
	second()
	first()
	// Each release folds the slot's holding time in: searches of a few milliseconds
	// bring the wait after a point read down from 50 ms.
	if hold := time.Duration(l.searchHold.Load()); hold >= 50*time.Millisecond || hold <= 0 {
		t.Fatalf("search hold %v after two short searches, want between 0 and 50 ms", hold)
	}
}
