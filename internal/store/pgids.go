package store

import (
	"context"
	"strconv"
	"sync"
	"time"

	"smartcrm/internal/field"
)

// Ids drawn ahead (PostgreSQL). An add used to take two round trips: [BEGIN, INSERT …
// RETURNING id], then the rows that name the new item (stage history, counter delta,
// timeline, outbox) with COMMIT, which had to wait for its id. Under load the store now
// draws ids ahead from the table's own sequence, at most a second's worth, and the
// INSERT travels with everything else: one round trip per add.
//
// What stays: ids come from the same sequence as every other writer's, so they never
// collide; within one server process they follow the order of the adds; an item's
// default title is its id, as before. What changes under load: with several server
// processes on one database, an item may get a lower id than one another process
// created up to a second earlier (PostgreSQL's own sequence CACHE does the same, without
// the bound), and ids drawn but not used when a burst ends are skipped, as a rolled-back
// add skips one. Adds that come more than a second apart draw their id one at a time,
// with BEGIN, and skip nothing.

// idsAhead holds the ids drawn ahead, per items table.
type idsAhead struct {
	mu     sync.Mutex
	tables map[string]*tableIDs
	now    func() time.Time // the clock; tests set their own
}

type tableIDs struct {
	ids   []int64   // drawn, not yet used
	drawn time.Time // when ids were drawn
	size  int       // how many the last draw took
}

const (
	// idsKeep is how long ids drawn ahead stay usable: the bound on how far the order
	// of ids may stray from the order of adds across server processes.
	idsKeep = time.Second
	// maxIDsAhead caps a draw: 1 in this many adds pays a round trip of its own.
	maxIDsAhead = 32
	// maxIDTables bounds the memory of idsAhead: past it, it starts over.
	maxIDTables = 10000
)

func newIDsAhead() *idsAhead {
	return &idsAhead{tables: map[string]*tableIDs{}, now: time.Now}
}

// next returns an id for a new row of table. When none is left it draws: twice as many
// as last time if those ran out within idsKeep (adds are coming fast; at most
// maxIDsAhead), else one (and drops what is left, unused for a second). So adds less
// than a second apart ramp up to one round trip each within a few dozen, and slower
// ones draw one id each and skip none. c is the transaction's connection, so the draw
// travels with BEGIN.
func (a *idsAhead) next(ctx context.Context, c conn, table string) (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.tables[table]
	if t == nil {
		if len(a.tables) >= maxIDTables {
			a.tables = map[string]*tableIDs{}
		}
		t = &tableIDs{}
		a.tables[table] = t
	}
	now := a.now()
	fresh := now.Sub(t.drawn) < idsKeep
	if len(t.ids) == 0 || !fresh {
		n := 1
		if len(t.ids) == 0 && fresh {
			n = min(2*t.size, maxIDsAhead)
		}
		ids, err := queryColumn[int64](ctx, c, "SELECT nextval(pg_get_serial_sequence('"+table+"', 'id')) FROM generate_series(1, ?)", n)
		if err != nil {
			return 0, err
		}
		t.ids, t.drawn, t.size = ids, now, n
	}
	id := t.ids[0]
	t.ids = t.ids[1:]
	return id, nil
}

// insertAhead inserts an item under an id drawn ahead, its default title (if any) made
// from it, queued to travel with the transaction's next round trip.
func (tx *Tx) insertAhead(ctx context.Context, table string, cols []Column, vals []any, title *DefaultTitle) (int64, error) {
	id, err := tx.ids.next(ctx, tx.conn, table)
	if err != nil {
		return 0, err
	}
	cols = append(cols[:len(cols):len(cols)], Column{Name: "id", Storage: field.StorageInt})
	vals = append(vals[:len(vals):len(vals)], id)
	if title != nil {
		for i, col := range cols {
			if col.Name == title.Column {
				vals[i] = title.Prefix + strconv.FormatInt(id, 10)
			}
		}
	}
	q, args, err := tx.insertSQL(table, cols, vals, nil)
	if err != nil {
		return 0, err
	}
	return id, tx.later(ctx, q, args...)
}
