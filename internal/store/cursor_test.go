package store_test

import (
	"context"
	"testing"

	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// An outbox reader's cursor moves only from where the reader saw it: a second process
// that read the same position finds it moved and does not move it back.
func TestCursorMovesOnlyFromWhereItWas(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		st := testdb.Open(t, dialect)
		move := func(from, to int64) bool {
			t.Helper()
			var moved bool
			err := st.InTx(ctx, func(tx *store.Tx) (err error) {
				moved, err = tx.MoveCursor(ctx, "reader", from, to)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return moved
		}
		steps := []struct {
			from, to int64
			want     bool
		}{{0, 5, true}, {0, 7, false}, {5, 9, true}, {5, 12, false}, {9, 9, true}}
		for _, s := range steps {
			if got := move(s.from, s.to); got != s.want {
				t.Errorf("move %d→%d: moved %v, want %v", s.from, s.to, got, s.want)
			}
		}
		if pos, err := st.CursorPosition(ctx, "reader"); err != nil || pos != 9 {
			t.Errorf("cursor at %d (%v), want 9", pos, err)
		}
	})
}
