package store

import (
	"context"
	"slices"
	"strconv"
	"sync"

	"smartcrm/internal/field"
)

// On PostgreSQL a new item's id is drawn before its INSERT rather than by it: with the
// id known, nothing waits for the INSERT's answer, so it travels with COMMIT and an add
// is one round trip (pgpipeline.go). Ids are drawn from the table's own sequence, a few
// at a time, the way a sequence with CACHE hands them to a session: each is used once,
// this process hands them out in order, and the ones left when it stops are skipped.

// itemIDBlock is how many ids one draw takes.
const itemIDBlock = 16

// itemIDs holds the ids drawn and not yet used, per items table.
type itemIDs struct {
	mu   sync.Mutex
	free map[string][]int64
}

func newItemIDs() *itemIDs { return &itemIDs{free: map[string][]int64{}} }

func (p *itemIDs) take(table string) (int64, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ids := p.free[table]
	if len(ids) == 0 {
		return 0, false
	}
	p.free[table] = ids[1:]
	return ids[0], true
}

// put keeps drawn ids in order with those already held.
func (p *itemIDs) put(table string, ids []int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	all := append(p.free[table], ids...)
	slices.Sort(all)
	p.free[table] = all
}

// newItemID returns an unused id of table. A draw is a query of the transaction, so
// when it is the first statement it travels with BEGIN.
func (tx *Tx) newItemID(ctx context.Context, table string) (int64, error) {
	if id, ok := tx.ids.take(table); ok {
		return id, nil
	}
	rows, err := tx.query(ctx, `SELECT nextval(pg_get_serial_sequence(?, 'id')) FROM generate_series(1, ?)`, table, itemIDBlock)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return 0, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	slices.Sort(ids)
	tx.ids.put(table, ids[1:])
	return ids[0], nil
}

// insertItemLater inserts an item with an id drawn beforehand, queued to travel with
// the transaction's next round trip (PostgreSQL).
func (tx *Tx) insertItemLater(ctx context.Context, table string, cols []Column, vals []any, title *DefaultTitle) (int64, error) {
	id, err := tx.newItemID(ctx, table)
	if err != nil {
		return 0, err
	}
	cols = append([]Column{{"id", field.StorageInt}}, cols...)
	vals = append([]any{id}, vals...)
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
