package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"smartcrm/internal/query"
)

// ItemTable is the table of a type's items. The name is built from an integer, never
// from request text.
func ItemTable(entityTypeID int64) string {
	return "crm_items_" + strconv.FormatInt(entityTypeID, 10)
}

// CreateItemTable creates the items table of a new type with the given columns (besides
// id and version) and indexes (each a list of column names).
func (tx *Tx) CreateItemTable(ctx context.Context, entityTypeID int64, cols []Column, indexes [][]string) error {
	table := ItemTable(entityTypeID)
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n\tid %s,\n\tversion BIGINT NOT NULL DEFAULT 1", table, tx.d.identity)
	for _, c := range cols {
		fmt.Fprintf(&b, ",\n\t%s %s", c.Name, tx.d.columnType(c.Storage))
	}
	b.WriteString("\n)")
	if _, err := tx.exec(ctx, b.String()); err != nil {
		return err
	}
	for _, idx := range indexes {
		stmt := fmt.Sprintf("CREATE INDEX %s ON %s (%s)", itemIndexName(table, idx), table, strings.Join(idx, ", "))
		if _, err := tx.exec(ctx, stmt); err != nil {
			return err
		}
	}
	for _, c := range cols {
		if c.Name == "title" {
			if err := tx.createSearch(ctx, table, c.Name); err != nil {
				return err
			}
		}
	}
	if err := tx.tuneItemTable(ctx, table); err != nil {
		return err
	}
	return tx.createCountDeltas(ctx, table)
}

// itemIndexName names an index CreateItemTable makes.
func itemIndexName(table string, cols []string) string { return table + "_" + strings.Join(cols, "_") }

// DropItemIndex drops the index that CreateItemTable made on cols, if the table has it:
// a default of earlier versions that this one no longer makes. On PostgreSQL the index
// goes CONCURRENTLY (writers never wait) and the table gets this version's storage
// settings (tuneItemTable).
func (s *Store) DropItemIndex(ctx context.Context, entityTypeID int64, cols []string) error {
	table := ItemTable(entityTypeID)
	name := itemIndexName(table, cols)
	all, err := s.TableIndexes(ctx, entityTypeID)
	if err != nil || !slices.ContainsFunc(all, func(ix ListIndex) bool { return ix.Name == name }) {
		return err
	}
	if s.d.name == Postgres {
		if _, err := s.write.ExecContext(ctx, "DROP INDEX CONCURRENTLY IF EXISTS "+name); err != nil {
			return err
		}
		return s.InTx(ctx, func(tx *Tx) error { return tx.tuneItemTable(ctx, table) })
	}
	return s.InTx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, "DROP INDEX IF EXISTS "+name)
		return err
	})
}

// DropItemTable drops the items table of a type, with its substring indexes and
// counter deltas.
func (tx *Tx) DropItemTable(ctx context.Context, entityTypeID int64) error {
	table := ItemTable(entityTypeID)
	if err := tx.dropTableSearch(ctx, table); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, "DROP TABLE "+table); err != nil {
		return err
	}
	if tx.d.name == Postgres {
		_, err := tx.exec(ctx, "DROP TABLE IF EXISTS "+countDeltasTable(entityTypeID))
		return err
	}
	return nil
}

// DefaultTitle names a new item by its id when it has no title: Prefix then the id,
// written with the row (on SQLite the id is known only inside the INSERT).
type DefaultTitle struct {
	Column string
	Prefix string
}

// InsertItem inserts an item and returns its id. With title, the column title.Column
// (among cols, its value nil) gets title.Prefix followed by the new id, in the same
// statement: the row is written once.
func (tx *Tx) InsertItem(ctx context.Context, entityTypeID int64, cols []Column, vals []any, title *DefaultTitle) (int64, error) {
	if tx.ids != nil {
		return tx.insertAhead(ctx, ItemTable(entityTypeID), cols, vals, title)
	}
	if title == nil {
		return tx.insertRow(ctx, ItemTable(entityTypeID), cols, vals)
	}
	return tx.insertTitled(ctx, ItemTable(entityTypeID), cols, vals, title)
}

// UpdateItem writes changed columns of an item whose version must still be version.
func (tx *Tx) UpdateItem(ctx context.Context, entityTypeID, id, version int64, cols []Column, vals []any) error {
	table := ItemTable(entityTypeID)
	if tx.locked == (lockedRow{table, id, version}) {
		// GetItemForUpdate locked this row at this version (PostgreSQL): nobody can have
		// changed it since, so the version check cannot fail and nothing waits for the
		// answer: the UPDATE travels with the transaction's next round trip.
		q, args, err := tx.updateSQL(table, id, version, true, cols, vals)
		if err != nil {
			return err
		}
		return tx.later(ctx, q, args...)
	}
	if tx.assumed == (lockedRow{table, id, version}) {
		// Nothing was read: the UPDATE travels with the next round trip as well, and
		// the statement wrapped around it fails the transaction (ErrConflict) unless
		// the row was still at the assumed version.
		q, args, err := tx.updateSQL(table, id, version, true, cols, vals)
		if err != nil {
			return err
		}
		return tx.later(ctx, "WITH u AS ("+q+" RETURNING 1) SELECT smartcrm_expect_one_row(COUNT(*)) FROM u", args...)
	}
	return tx.updateRow(ctx, table, id, version, true, cols, vals)
}

// AssumeItemVersion tells the transaction that the caller knows the item's row as it
// was at version without reading it (the row it wrote last): UpdateItem at that
// version then costs no round trip of its own, and the transaction fails with
// ErrConflict if the row has moved on. It reports false where that saves nothing
// (SQLite, whose reads cost no round trip): the caller reads the row instead.
func (tx *Tx) AssumeItemVersion(entityTypeID, id, version int64) bool {
	if tx.d.name != Postgres {
		return false
	}
	tx.assumed = lockedRow{ItemTable(entityTypeID), id, version}
	return true
}

// DeleteItem deletes an item.
func (tx *Tx) DeleteItem(ctx context.Context, entityTypeID, id int64) error {
	return tx.deleteRow(ctx, ItemTable(entityTypeID), id)
}

// GetItem reads one item's columns.
func (c conn) GetItem(ctx context.Context, entityTypeID int64, cols []Column, id int64) ([]any, error) {
	return c.selectOne(ctx, ItemTable(entityTypeID), cols, id, noLock)
}

// GetItemForUpdate reads an item to change it in this transaction. On PostgreSQL the
// row stays locked until the transaction ends, so concurrent writers of one item queue
// instead of failing their version check over and over; items that link to it may
// still be added meanwhile (lockRowKeepKey).
func (tx *Tx) GetItemForUpdate(ctx context.Context, entityTypeID int64, cols []Column, id int64) ([]any, error) {
	return tx.getItemLocked(ctx, entityTypeID, cols, id, lockRowKeepKey)
}

// GetItemForDelete reads an item to delete it in this transaction. On PostgreSQL no item
// can link to it until the transaction ends either: one added while the deletion
// unlinks its children would be left pointing at nothing, and fail the deletion.
func (tx *Tx) GetItemForDelete(ctx context.Context, entityTypeID int64, cols []Column, id int64) ([]any, error) {
	return tx.getItemLocked(ctx, entityTypeID, cols, id, lockRow)
}

func (tx *Tx) getItemLocked(ctx context.Context, entityTypeID int64, cols []Column, id int64, lock rowLock) ([]any, error) {
	table := ItemTable(entityTypeID)
	row, err := tx.selectOne(ctx, table, cols, id, lock)
	if err == nil && tx.d.name == Postgres {
		for i, col := range cols {
			if v, ok := row[i].(int64); ok && col.Name == "version" {
				tx.locked = lockedRow{table, id, v}
			}
		}
	}
	return row, err
}

// ListItems reads a page of items.
func (c conn) ListItems(ctx context.Context, entityTypeID int64, cols []Column, where query.Group, order []query.Order, page Page) ([][]any, error) {
	return c.selectRows(ctx, ItemTable(entityTypeID), cols, where, order, page)
}

// CountItems counts the items matching where.
func (c conn) CountItems(ctx context.Context, entityTypeID int64, where query.Group) (int, error) {
	return c.countRows(ctx, ItemTable(entityTypeID), where)
}

// HasItems reports whether a type holds any item.
func (c conn) HasItems(ctx context.Context, entityTypeID int64) (bool, error) {
	return c.anyRow(ctx, ItemTable(entityTypeID))
}

// InsertOutbox records an event of a change, in the change's transaction. The payload
// is stored as it is (text, migration 18).
func (tx *Tx) InsertOutbox(ctx context.Context, topic string, entityTypeID, itemID int64, payload string) error {
	return tx.later(ctx, `INSERT INTO outbox (topic, entity_type_id, item_id, payload, created_time) VALUES (?, ?, ?, ?, ?)`,
		topic, entityTypeID, itemID, payload, tx.now())
}

// HasItemsInFunnel reports whether a funnel holds any item.
func (c conn) HasItemsInFunnel(ctx context.Context, entityTypeID, categoryID int64) (bool, error) {
	return c.exists(ctx, "SELECT 1 FROM "+ItemTable(entityTypeID)+" WHERE category_id = ? LIMIT 1", categoryID)
}

// HasItemsInStage reports whether a stage holds any item.
func (c conn) HasItemsInStage(ctx context.Context, entityTypeID, categoryID int64, stageID string) (bool, error) {
	return c.exists(ctx, "SELECT 1 FROM "+ItemTable(entityTypeID)+" WHERE category_id = ? AND stage_id = ? LIMIT 1", categoryID, stageID)
}

// ItemExists reports whether an item exists.
func (c conn) ItemExists(ctx context.Context, entityTypeID, id int64) (bool, error) {
	return c.exists(ctx, "SELECT 1 FROM "+ItemTable(entityTypeID)+" WHERE id = ? LIMIT 1", id)
}

// SeedItemsRaw inserts many rows in statements of up to 200 rows each, to fill a
// database for benchmarks and tests. It bypasses the one write path (no stage history,
// counters, timeline or outbox): never call it for a client's change.
func (tx *Tx) SeedItemsRaw(ctx context.Context, entityTypeID int64, cols []Column, rows [][]any) error {
	const chunk = 200
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		var b strings.Builder
		b.WriteString("INSERT INTO " + ItemTable(entityTypeID) + " (")
		for i, c := range cols {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.Name)
		}
		b.WriteString(") VALUES ")
		args := make([]any, 0, len(part)*len(cols))
		for r, row := range part {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for i, c := range cols {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(tx.d.placeholder(c.Storage))
				v, err := tx.d.encode(c.Storage, row[i])
				if err != nil {
					return err
				}
				args = append(args, v)
			}
			b.WriteByte(')')
		}
		if _, err := tx.exec(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// ItemTableExists reports whether a type's items table has been created.
func (c conn) ItemTableExists(ctx context.Context, entityTypeID int64) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if c.d.name == Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int64
	err := c.queryRow(ctx, q, ItemTable(entityTypeID)).Scan(&n)
	return n > 0, err
}

// OutboxRow is a change as the outbox holds it.
type OutboxRow struct {
	ID           int64
	Topic        string
	EntityTypeID int64
	Payload      string
}

// OutboxAfter lists outbox rows after id, oldest first, at most limit: what changes
// announced, for the readers of the outbox (and tests).
func (c conn) OutboxAfter(ctx context.Context, afterID int64, limit int) ([]OutboxRow, error) {
	return c.outboxAfter(ctx, afterID, limit, true)
}

// OutboxHeadersAfter is OutboxAfter without the payloads: a reader that passes over
// most changes by their header reads only the payloads it wants (OutboxPayloads).
func (c conn) OutboxHeadersAfter(ctx context.Context, afterID int64, limit int) ([]OutboxRow, error) {
	return c.outboxAfter(ctx, afterID, limit, false)
}

func (c conn) outboxAfter(ctx context.Context, afterID int64, limit int, payloads bool) ([]OutboxRow, error) {
	cols := "id, topic, entity_type_id"
	if payloads {
		cols += ", payload"
	}
	rows, err := c.query(ctx, `SELECT `+cols+` FROM outbox WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OutboxRow
	for rows.Next() {
		var r OutboxRow
		dest := []any{&r.ID, &r.Topic, &r.EntityTypeID}
		if payloads {
			dest = append(dest, &r.Payload)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// OutboxPayloads reads the payloads of outbox rows by id.
func (c conn) OutboxPayloads(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		in, args := inList(chunk)
		rows, err := c.query(ctx, `SELECT id, payload FROM outbox WHERE id IN (`+in+`)`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			var payload string
			if err := rows.Scan(&id, &payload); err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = payload
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OutboxLastID is the id of the newest outbox row (0 when there is none): a reader that
// wants only what happens from now on starts after it.
func (c conn) OutboxLastID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	err := c.queryRow(ctx, `SELECT MAX(id) FROM outbox`).Scan(&id)
	return id.Int64, err
}
