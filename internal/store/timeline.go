package store

import (
	"context"
	"strings"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// TimelineEntry is one entry of the timeline: a system record of a change, a comment or
// an application's log message.
type TimelineEntry struct {
	ID           int64
	EntityTypeID int64 // the item the entry is about
	ItemID       int64
	Kind         string
	AuthorID     int64
	CreatedTime  time.Time
	Data         string  // kind-specific details, a JSON object
	Text         *string // comment and log message text
	Files        string  // JSON list of file ids
	Pinned       bool    // in the timeline it was read from
}

// TimelineBinding places an entry in an item's timeline.
type TimelineBinding struct {
	EntityTypeID, EntityID int64
}

const timelineTable = "crm_timeline"

var timelineColumns = []Column{
	{"id", field.StorageInt}, {"entity_type_id", field.StorageInt}, {"item_id", field.StorageInt}, {"kind", field.StorageText},
	{"author_id", field.StorageInt}, {"created_time", field.StorageTime}, {"data", field.StorageText}, {"text", field.StorageText},
	{"files", field.StorageText},
}

// InsertTimelineEntry writes an entry with its bindings and sets e.ID.
func (tx *Tx) InsertTimelineEntry(ctx context.Context, e *TimelineEntry, bindings []TimelineBinding) error {
	vals := timelineValues(e)
	if tx.d.name == Postgres && len(bindings) > 0 {
		return tx.insertBoundTimelineEntry(ctx, e, vals, bindings)
	}
	id, err := tx.insertRow(ctx, timelineTable, timelineColumns[1:], vals)
	if err != nil {
		return err
	}
	e.ID = id
	for _, b := range bindings {
		if err := tx.BindTimelineEntry(ctx, id, b); err != nil {
			return err
		}
	}
	return nil
}

// timelineValues are an entry's values in timelineColumns' order, without the id.
func timelineValues(e *TimelineEntry) []any {
	var text any
	if e.Text != nil {
		text = *e.Text
	}
	files := e.Files
	if files == "" {
		files = "[]"
	}
	return []any{e.EntityTypeID, e.ItemID, e.Kind, e.AuthorID, e.CreatedTime, e.Data, text, files}
}

// AppendTimelineEntry writes an entry whose id the caller does not need (the system
// entries of item changes). On PostgreSQL it travels with the transaction's next round
// trip (pgpipeline.go).
func (tx *Tx) AppendTimelineEntry(ctx context.Context, e *TimelineEntry, bindings []TimelineBinding) error {
	if tx.d.name != Postgres || len(bindings) == 0 {
		return tx.InsertTimelineEntry(ctx, e, bindings)
	}
	q, args, err := boundTimelineSQL(tx.conn, timelineValues(e), bindings)
	if err != nil {
		return err
	}
	return tx.later(ctx, q, args...)
}

// insertBoundTimelineEntry writes an entry and its bindings in one statement
// (PostgreSQL): every add and move writes an entry, and each statement of a write is a
// round trip the writer waits for.
func (tx *Tx) insertBoundTimelineEntry(ctx context.Context, e *TimelineEntry, vals []any, bindings []TimelineBinding) error {
	q, args, err := boundTimelineSQL(tx.conn, vals, bindings)
	if err != nil {
		return err
	}
	return tx.queryRow(ctx, q+" RETURNING timeline_id", args...).Scan(&e.ID)
}

// boundTimelineSQL is the statement that inserts an entry and its bindings (PostgreSQL).
func boundTimelineSQL(c conn, vals []any, bindings []TimelineBinding) (string, []any, error) {
	q, args, err := c.insertSQL(timelineTable, timelineColumns[1:], vals, nil)
	if err != nil {
		return "", nil, err
	}
	var b strings.Builder
	b.WriteString("WITH e AS (" + q + " RETURNING id) INSERT INTO crm_timeline_bindings (entity_type_id, entity_id, timeline_id) SELECT v.t, v.i, e.id FROM e CROSS JOIN (VALUES ")
	for i, bd := range bindings {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(CAST(? AS BIGINT), CAST(? AS BIGINT))")
		args = append(args, bd.EntityTypeID, bd.EntityID)
	}
	// A new entry cannot be bound already; DO NOTHING only folds a binding listed twice.
	b.WriteString(") AS v(t, i) ON CONFLICT DO NOTHING")
	return b.String(), args, nil
}

// BindTimelineEntry adds an entry to an item's timeline; binding twice is a no-op.
func (tx *Tx) BindTimelineEntry(ctx context.Context, id int64, b TimelineBinding) error {
	_, err := tx.exec(ctx, `INSERT INTO crm_timeline_bindings (entity_type_id, entity_id, timeline_id) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`, b.EntityTypeID, b.EntityID, id)
	return err
}

// UnbindTimelineEntry removes an entry from an item's timeline and reports whether it
// was there.
func (tx *Tx) UnbindTimelineEntry(ctx context.Context, id int64, b TimelineBinding) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM crm_timeline_bindings WHERE entity_type_id = ? AND entity_id = ? AND timeline_id = ?`,
		b.EntityTypeID, b.EntityID, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// TimelineBindings lists the timelines an entry is in.
func (c conn) TimelineBindings(ctx context.Context, id int64) ([]TimelineBinding, error) {
	rows, err := c.query(ctx, `SELECT entity_type_id, entity_id FROM crm_timeline_bindings WHERE timeline_id = ? ORDER BY entity_type_id, entity_id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TimelineBinding
	for rows.Next() {
		var b TimelineBinding
		if err := rows.Scan(&b.EntityTypeID, &b.EntityID); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// TimelineEntry reads one entry.
func (c conn) TimelineEntry(ctx context.Context, id int64) (*TimelineEntry, error) {
	row, err := c.selectOne(ctx, timelineTable, timelineColumns, id, noLock)
	if err != nil {
		return nil, err
	}
	return timelineFromRow(row, false), nil
}

// UpdateTimelineEntry rewrites an entry's text, data and files.
func (tx *Tx) UpdateTimelineEntry(ctx context.Context, e *TimelineEntry) error {
	var text any
	if e.Text != nil {
		text = *e.Text
	}
	_, err := tx.exec(ctx, `UPDATE crm_timeline SET text = ?, data = ?, files = ? WHERE id = ?`, text, e.Data, e.Files, e.ID)
	return err
}

// DeleteTimelineEntry removes an entry from every timeline, with its notes.
func (tx *Tx) DeleteTimelineEntry(ctx context.Context, id int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM crm_timeline_bindings WHERE timeline_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_timeline_notes WHERE item_type = 1 AND item_id = ?`, id); err != nil {
		return err
	}
	return tx.deleteRow(ctx, timelineTable, id)
}

// TimelinePage reads an item's timeline newest first: entries older than before (0 for
// the newest), at most limit. The bindings' primary key serves it whatever the size.
func (c conn) TimelinePage(ctx context.Context, b TimelineBinding, before int64, limit int, pinnedOnly bool) ([]*TimelineEntry, error) {
	q := `SELECT t.id, t.entity_type_id, t.item_id, t.kind, t.author_id, t.created_time, t.data, t.text, t.files, b.pinned
FROM crm_timeline_bindings b JOIN crm_timeline t ON t.id = b.timeline_id
WHERE b.entity_type_id = ? AND b.entity_id = ?`
	args := []any{b.EntityTypeID, b.EntityID}
	if before > 0 {
		q += ` AND b.timeline_id < ?`
		args = append(args, before)
	}
	if pinnedOnly {
		q += ` AND b.pinned = 'Y'`
	}
	clause, args := c.d.pageClause(Page{Limit: limit}, args)
	return c.timelineRows(ctx, q+` ORDER BY b.timeline_id DESC`+clause, args...)
}

// TimelineByKind lists one kind of entries on an item's timeline (comments, log messages), in
// the given order, for the Bitrix24 list methods. They are found through the item's
// bindings, so the timeline table needs no index of its own (each index costs every
// write of every item).
func (c conn) TimelineByKind(ctx context.Context, kind string, entityTypeID, itemID int64, order []query.Order, page Page) ([]*TimelineEntry, int, error) {
	from := `crm_timeline_bindings b JOIN crm_timeline t ON t.id = b.timeline_id`
	// Every entry of the kind on the item's timeline: its own, and those bound to it
	// later (a comment on a child bound to the deal belongs in the deal's comments).
	cond := ` WHERE b.entity_type_id = ? AND b.entity_id = ? AND t.kind = ?`
	args := []any{entityTypeID, itemID, kind}
	var n int
	if err := c.queryRow(ctx, `SELECT COUNT(*) FROM `+from+cond, args...).Scan(&n); err != nil {
		return nil, 0, err
	}
	q := `SELECT t.id, t.entity_type_id, t.item_id, t.kind, t.author_id, t.created_time, t.data, t.text, t.files, b.pinned FROM ` + from + cond
	for i, o := range order {
		if i == 0 {
			q += " ORDER BY "
		} else {
			q += ", "
		}
		q += "t." + o.Field.Column
		if o.Desc {
			q += " DESC"
		}
	}
	clause, args := c.d.pageClause(page, args)
	out, err := c.timelineRows(ctx, q+clause, args...)
	return out, n, err
}

// TimelineColumns are the entry columns list methods may order by.
func TimelineColumns() map[string]string {
	return map[string]string{"ID": "id", "CREATED": "created_time", "AUTHOR_ID": "author_id"}
}

func (c conn) timelineRows(ctx context.Context, q string, args ...any) ([]*TimelineEntry, error) {
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*TimelineEntry
	dst := make([]any, len(timelineColumns)+1)
	for rows.Next() {
		for i, col := range timelineColumns {
			dst[i] = c.d.scanTarget(col.Storage)
		}
		dst[len(timelineColumns)] = c.d.scanTarget(field.StorageText)
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		row := make([]any, len(dst))
		for i := range dst {
			st := field.StorageText
			if i < len(timelineColumns) {
				st = timelineColumns[i].Storage
			}
			v, err := c.d.decode(st, dst[i])
			if err != nil {
				return nil, err
			}
			row[i] = v
		}
		out = append(out, timelineFromRow(row[:len(timelineColumns)], row[len(timelineColumns)] == "Y"))
	}
	return out, rows.Err()
}

func timelineFromRow(r []any, pinned bool) *TimelineEntry {
	e := &TimelineEntry{Pinned: pinned}
	e.ID, _ = r[0].(int64)
	e.EntityTypeID, _ = r[1].(int64)
	e.ItemID, _ = r[2].(int64)
	e.Kind, _ = r[3].(string)
	e.AuthorID, _ = r[4].(int64)
	e.CreatedTime, _ = r[5].(time.Time)
	e.Data, _ = r[6].(string)
	if s, ok := r[7].(string); ok {
		e.Text = &s
	}
	e.Files, _ = r[8].(string)
	return e
}

// SetTimelinePinned pins or unpins an entry in one item's timeline.
func (tx *Tx) SetTimelinePinned(ctx context.Context, id int64, b TimelineBinding, pinned bool) error {
	_, err := tx.exec(ctx, `UPDATE crm_timeline_bindings SET pinned = ? WHERE entity_type_id = ? AND entity_id = ? AND timeline_id = ?`,
		yn(pinned), b.EntityTypeID, b.EntityID, id)
	return err
}

// CountPinned counts the pinned entries of an item's timeline.
func (c conn) CountPinned(ctx context.Context, b TimelineBinding) (int, error) {
	var n int
	err := c.queryRow(ctx, `SELECT COUNT(*) FROM crm_timeline_bindings WHERE entity_type_id = ? AND entity_id = ? AND pinned = 'Y'`,
		b.EntityTypeID, b.EntityID).Scan(&n)
	return n, err
}

// TimelineNote is a note on a timeline entry (item type 1) or an activity (2), as seen
// from one item.
type TimelineNote struct {
	OwnerTypeID, OwnerID, ItemType, ItemID int64
	Text                                   string
	CreatedBy, UpdatedBy                   int64
	CreatedTime, UpdatedTime               time.Time
}

// SaveTimelineNote writes a note, keeping its creation when it already exists.
func (tx *Tx) SaveTimelineNote(ctx context.Context, n *TimelineNote) error {
	_, err := tx.exec(ctx, `INSERT INTO crm_timeline_notes (owner_type_id, owner_id, item_type, item_id, text, created_by, created_time, updated_by, updated_time)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (owner_type_id, owner_id, item_type, item_id) DO UPDATE SET text = excluded.text, updated_by = excluded.updated_by, updated_time = excluded.updated_time`,
		n.OwnerTypeID, n.OwnerID, n.ItemType, n.ItemID, n.Text, n.CreatedBy, tx.d.timeArg(n.CreatedTime), n.UpdatedBy, tx.d.timeArg(n.UpdatedTime))
	return err
}

// TimelineNoteOf reads a note.
func (c conn) TimelineNoteOf(ctx context.Context, ownerTypeID, ownerID, itemType, itemID int64) (*TimelineNote, error) {
	n := &TimelineNote{OwnerTypeID: ownerTypeID, OwnerID: ownerID, ItemType: itemType, ItemID: itemID}
	created, updated := c.d.scanTarget(field.StorageTime), c.d.scanTarget(field.StorageTime)
	err := c.queryRow(ctx, `SELECT text, created_by, created_time, updated_by, updated_time FROM crm_timeline_notes
WHERE owner_type_id = ? AND owner_id = ? AND item_type = ? AND item_id = ?`, ownerTypeID, ownerID, itemType, itemID).
		Scan(&n.Text, &n.CreatedBy, created, &n.UpdatedBy, updated)
	if err = errNoRows(err); err != nil {
		return nil, err
	}
	ct, err := c.d.decode(field.StorageTime, created)
	if err != nil {
		return nil, err
	}
	ut, err := c.d.decode(field.StorageTime, updated)
	if err != nil {
		return nil, err
	}
	n.CreatedTime, _ = ct.(time.Time)
	n.UpdatedTime, _ = ut.(time.Time)
	return n, nil
}

// DeleteTimelineNote removes a note and reports whether there was one.
func (tx *Tx) DeleteTimelineNote(ctx context.Context, ownerTypeID, ownerID, itemType, itemID int64) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM crm_timeline_notes WHERE owner_type_id = ? AND owner_id = ? AND item_type = ? AND item_id = ?`,
		ownerTypeID, ownerID, itemType, itemID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
