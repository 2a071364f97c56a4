package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"smartcrm/internal/store"
)

// A type that grew by adds carries its substring index in many segments, and a search
// looks its trigram up in each. When writes pause, the maintainer merges the index into
// one segment, and searches find what they found before; so does Optimize, which runs
// after bulk changes. While writes go on, it leaves them be.
func TestSubstringIndexIsMergedWhenWritesPause(t *testing.T) {
	ctx := context.Background()
	p := newPerfType(t, store.SQLite)
	p.st.SetQuietWrites(-1) // no second is quiet: the maintainer must not merge yet
	p.st.SetSearchSyncEvery(1)
	add := func(n int) {
		t.Helper()
		for i := range n {
			title := fmt.Sprintf("Order %d", i)
			if i%3 == 0 {
				title += " zqx"
			}
			if err := p.st.InTx(ctx, func(tx *store.Tx) error {
				_, err := tx.InsertItem(ctx, p.etid, p.cols[:1], []any{title}, nil)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	find := func() []int64 { return p.titleContains(t, "zqx") }
	segments := func() int {
		t.Helper()
		n, err := p.st.SearchSegments(ctx, p.etid, "title")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	add(12)
	before := find()
	if len(before) != 4 {
		t.Fatalf("found %v before merging, want 4 items", before)
	}
	if n := segments(); n < 2 {
		t.Fatalf("12 adds moved into the index one by one left %d segments, want several", n)
	}
	p.st.SetQuietWrites(1 << 40) // every second is quiet now
	deadline := time.Now().Add(10 * time.Second)
	for segments() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the index still has %d segments 10 s after writes paused", segments())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := find(); !slices.Equal(got, before) {
		t.Errorf("after merging, the search finds %v, before %v", got, before)
	}

	p.st.SetQuietWrites(-1)
	add(12)
	if n := segments(); n < 2 {
		t.Fatalf("12 more adds left %d segments, want several", n)
	}
	p.st.Optimize(ctx)
	if n := segments(); n != 1 {
		t.Errorf("after Optimize the index has %d segments, want 1", n)
	}
	if got := find(); len(got) != 8 {
		t.Errorf("after Optimize the search finds %v, want 8 items", got)
	}
}
