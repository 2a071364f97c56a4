package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"smartcrm/internal/outbox"
	"smartcrm/internal/testdb"
)

// The outbox does not grow for ever: rows every reader has passed are trimmed, and
// events fanned out from them still reach a handler that was down meanwhile. Rows a
// reader has not passed stay.
func TestOutboxTrimmedBehindReaders(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		ctx := context.Background()
		st := s.App.Store
		etid, _ := newProcess(s, "Leases")
		h := newHandler(t)
		h.setDown(true)
		bind(s, "ONCRMDYNAMICITEMADD", h.URL)
		for i := 0; i < 5; i++ {
			addItem(s, etid, fmt.Sprint(i))
		}
		last, err := st.LastOutboxID(ctx)
		if err != nil || last == 0 {
			t.Fatalf("last outbox id: %d, %v", last, err)
		}
		eventually(t, "every reader past the last change", 20*time.Second, func() (bool, string) {
			cursors, err := st.Cursors(ctx)
			if err != nil {
				return false, err.Error()
			}
			ok := len(cursors) >= 2
			for _, pos := range cursors {
				ok = ok && pos >= last
			}
			return ok, fmt.Sprint(cursors, " last ", last)
		})
		// Rows younger than the bound stay.
		if err := outbox.Trim(ctx, st, time.Now().Add(-time.Hour)); err != nil {
			t.Fatal(err)
		}
		if rows, _ := st.OutboxAfter(ctx, 0, 1000); int64(len(rows)) != last {
			t.Fatalf("young rows trimmed: %d left of %d", len(rows), last)
		}
		if err := outbox.Trim(ctx, st, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if rows, _ := st.OutboxAfter(ctx, 0, 1000); len(rows) != 0 {
			t.Fatalf("%d rows left behind every reader", len(rows))
		}
		h.setDown(false)
		eventually(t, "the events of trimmed rows", 20*time.Second, func() (bool, string) {
			return len(h.Delivered()) == 5, summary(h.Calls())
		})
		// A change after the trim is read and delivered as usual.
		addItem(s, etid, "after")
		eventually(t, "a change after the trim", 20*time.Second, func() (bool, string) {
			return len(h.Delivered()) == 6, summary(h.Calls())
		})
	})
}
