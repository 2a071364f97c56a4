package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// ActivityRecord is an activity (a to-do) as stored.
type ActivityRecord struct {
	ID               int64
	TypeID           int64
	ProviderID       string
	Subject          string
	Description      string
	Deadline         time.Time // zero: none
	Completed        bool
	Status           int64 // 1 pending, 2 completed
	ResponsibleID    int64
	Priority         int64
	AuthorID         int64
	EditorID         int64
	Created          time.Time
	LastUpdated      time.Time
	ColorID          string
	PingOffsets      []int64 // minutes before the deadline
	ParentActivityID int64   // 0: none
	OwnerTypeID      int64
	OwnerID          int64
	TimelineID       int64 // the activity's own timeline entry; 0: none
}

// ActivityBinding places an activity on an item.
type ActivityBinding struct {
	EntityTypeID, EntityID int64
}

// BindingMatch selects activities by one of their bindings; EntityID 0 matches any
// item of the type.
type BindingMatch struct {
	EntityTypeID, EntityID int64
}

const activityTable = "crm_activities"

var activityColumns = []Column{
	{"id", field.StorageInt}, {"type_id", field.StorageInt}, {"provider_id", field.StorageText}, {"subject", field.StorageText},
	{"description", field.StorageText}, {"deadline", field.StorageTime}, {"completed", field.StorageText}, {"status", field.StorageInt},
	{"responsible_id", field.StorageInt}, {"priority", field.StorageInt}, {"author_id", field.StorageInt}, {"editor_id", field.StorageInt},
	{"created", field.StorageTime}, {"last_updated", field.StorageTime}, {"color_id", field.StorageText}, {"ping_offsets", field.StorageText},
	{"parent_activity_id", field.StorageInt}, {"owner_type_id", field.StorageInt}, {"owner_id", field.StorageInt}, {"timeline_id", field.StorageInt},
}

// ActivityColumns are the activity columns list methods filter and order by, by their
// UPPER_CASE wire names. A to-do's start and end are its deadline.
func ActivityColumns() []query.Field {
	i, t, tm := field.Integer{}, field.Text{}, field.DateTime{}
	return []query.Field{
		{Name: "ID", Column: "id", Type: i},
		{Name: "TYPE_ID", Column: "type_id", Type: i},
		{Name: "PROVIDER_ID", Column: "provider_id", Type: t},
		{Name: "SUBJECT", Column: "subject", Type: t},
		{Name: "DESCRIPTION", Column: "description", Type: t, NoOrder: true},
		{Name: "DEADLINE", Column: "deadline", Type: tm},
		{Name: "START_TIME", Column: "deadline", Type: tm},
		{Name: "END_TIME", Column: "deadline", Type: tm},
		{Name: "COMPLETED", Column: "completed", Type: field.Flag{}},
		{Name: "STATUS", Column: "status", Type: i},
		{Name: "RESPONSIBLE_ID", Column: "responsible_id", Type: i},
		{Name: "PRIORITY", Column: "priority", Type: i},
		{Name: "AUTHOR_ID", Column: "author_id", Type: i},
		{Name: "EDITOR_ID", Column: "editor_id", Type: i},
		{Name: "CREATED", Column: "created", Type: tm},
		{Name: "LAST_UPDATED", Column: "last_updated", Type: tm},
		{Name: "OWNER_TYPE_ID", Column: "owner_type_id", Type: i},
		{Name: "OWNER_ID", Column: "owner_id", Type: i},
		{Name: "PARENT_ID", Column: "parent_activity_id", Type: i},
	}
}

func (a *ActivityRecord) values() []any {
	pings, _ := json.Marshal(a.PingOffsets)
	if a.PingOffsets == nil {
		pings = []byte("[]")
	}
	var deadline, parent, timeline any
	if !a.Deadline.IsZero() {
		deadline = a.Deadline
	}
	if a.ParentActivityID != 0 {
		parent = a.ParentActivityID
	}
	if a.TimelineID != 0 {
		timeline = a.TimelineID
	}
	return []any{a.TypeID, a.ProviderID, a.Subject, a.Description, deadline, yn(a.Completed), a.Status,
		a.ResponsibleID, a.Priority, a.AuthorID, a.EditorID, a.Created, a.LastUpdated, a.ColorID, string(pings),
		parent, a.OwnerTypeID, a.OwnerID, timeline}
}

func activityFromRow(r []any) *ActivityRecord {
	a := &ActivityRecord{}
	a.ID, _ = r[0].(int64)
	a.TypeID, _ = r[1].(int64)
	a.ProviderID, _ = r[2].(string)
	a.Subject, _ = r[3].(string)
	a.Description, _ = r[4].(string)
	a.Deadline, _ = r[5].(time.Time)
	a.Completed = r[6] == "Y"
	a.Status, _ = r[7].(int64)
	a.ResponsibleID, _ = r[8].(int64)
	a.Priority, _ = r[9].(int64)
	a.AuthorID, _ = r[10].(int64)
	a.EditorID, _ = r[11].(int64)
	a.Created, _ = r[12].(time.Time)
	a.LastUpdated, _ = r[13].(time.Time)
	a.ColorID, _ = r[14].(string)
	if s, ok := r[15].(string); ok {
		_ = json.Unmarshal([]byte(s), &a.PingOffsets)
	}
	a.ParentActivityID, _ = r[16].(int64)
	a.OwnerTypeID, _ = r[17].(int64)
	a.OwnerID, _ = r[18].(int64)
	a.TimelineID, _ = r[19].(int64)
	return a
}

// InsertActivity writes a new activity and sets a.ID; its bindings are added apart.
func (tx *Tx) InsertActivity(ctx context.Context, a *ActivityRecord) error {
	id, err := tx.insertRow(ctx, activityTable, activityColumns[1:], a.values())
	if err == nil {
		a.ID = id
	}
	return err
}

// UpdateActivity rewrites every column of an activity.
func (tx *Tx) UpdateActivity(ctx context.Context, a *ActivityRecord) error {
	return tx.updateRow(ctx, activityTable, a.ID, 0, false, activityColumns[1:], a.values())
}

// Activity reads one activity; ErrNotFound when there is none.
func (c conn) Activity(ctx context.Context, id int64) (*ActivityRecord, error) {
	row, err := c.selectOne(ctx, activityTable, activityColumns, id, noLock)
	if err != nil {
		return nil, err
	}
	return activityFromRow(row), nil
}

// LockActivity reads an activity inside a transaction and, on PostgreSQL, locks it
// until the transaction ends, so concurrent changes of one activity run in turn.
func (tx *Tx) LockActivity(ctx context.Context, id int64) (*ActivityRecord, error) {
	row, err := tx.selectOne(ctx, activityTable, activityColumns, id, lockRow)
	if err != nil {
		return nil, err
	}
	return activityFromRow(row), nil
}

// DeleteActivity removes an activity with its bindings and its notes.
func (tx *Tx) DeleteActivity(ctx context.Context, id int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM crm_activity_bindings WHERE activity_id = ?`, id); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_timeline_notes WHERE item_type = 2 AND item_id = ?`, id); err != nil {
		return err
	}
	return tx.deleteRow(ctx, activityTable, id)
}

// BindActivity binds an activity to an item and reports whether it was not bound yet.
func (tx *Tx) BindActivity(ctx context.Context, id int64, b ActivityBinding) (bool, error) {
	res, err := tx.exec(ctx, `INSERT INTO crm_activity_bindings (activity_id, entity_type_id, entity_id) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING`, id, b.EntityTypeID, b.EntityID)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// UnbindActivity removes an activity's binding to an item and reports whether it was
// there.
func (tx *Tx) UnbindActivity(ctx context.Context, id int64, b ActivityBinding) (bool, error) {
	res, err := tx.exec(ctx, `DELETE FROM crm_activity_bindings WHERE entity_type_id = ? AND entity_id = ? AND activity_id = ?`,
		b.EntityTypeID, b.EntityID, id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ActivityBindings lists the items an activity is bound to.
func (c conn) ActivityBindings(ctx context.Context, id int64) ([]ActivityBinding, error) {
	m, err := c.ActivityBindingsOf(ctx, []int64{id})
	return m[id], err
}

// ActivityBindingsOf lists the bindings of several activities in one query.
func (c conn) ActivityBindingsOf(ctx context.Context, ids []int64) (map[int64][]ActivityBinding, error) {
	out := map[int64][]ActivityBinding{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := inList(ids)
	q := `SELECT activity_id, entity_type_id, entity_id FROM crm_activity_bindings WHERE activity_id IN (` +
		in + `) ORDER BY activity_id, entity_type_id, entity_id`
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var b ActivityBinding
		if err := rows.Scan(&id, &b.EntityTypeID, &b.EntityID); err != nil {
			return nil, err
		}
		out[id] = append(out[id], b)
	}
	return out, rows.Err()
}

// ActivitiesBoundTo lists the ids of the activities bound to an item.
func (c conn) ActivitiesBoundTo(ctx context.Context, b ActivityBinding) ([]int64, error) {
	return queryColumn[int64](ctx, c, `SELECT activity_id FROM crm_activity_bindings WHERE entity_type_id = ? AND entity_id = ? ORDER BY activity_id`,
		b.EntityTypeID, b.EntityID)
}

// ActivityBound reports whether an activity is bound to an item.
func (c conn) ActivityBound(ctx context.Context, id int64, b ActivityBinding) (bool, error) {
	return c.exists(ctx, `SELECT 1 FROM crm_activity_bindings WHERE entity_type_id = ? AND entity_id = ? AND activity_id = ? LIMIT 1`,
		b.EntityTypeID, b.EntityID, id)
}

// ListActivities reads activities matching where and, when bindings are given, bound
// to at least one of the items they match.
func (c conn) ListActivities(ctx context.Context, where query.Group, bindings []BindingMatch, order []query.Order, page Page) ([]*ActivityRecord, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, col := range activityColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(col.Name)
	}
	b.WriteString(" FROM " + activityTable)
	args, err := c.activityWhere(&b, where, bindings)
	if err != nil {
		return nil, err
	}
	writeOrder(&b, order)
	clause, args := c.d.pageClause(page, args)
	b.WriteString(clause)
	rows, err := c.query(ctx, b.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*ActivityRecord
	dst := make([]any, len(activityColumns))
	for rows.Next() {
		for i, col := range activityColumns {
			dst[i] = c.d.scanTarget(col.Storage)
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		row := make([]any, len(dst))
		for i, col := range activityColumns {
			if row[i], err = c.d.decode(col.Storage, dst[i]); err != nil {
				return nil, err
			}
		}
		out = append(out, activityFromRow(row))
	}
	return out, rows.Err()
}

// CountActivities counts what ListActivities would list without paging.
func (c conn) CountActivities(ctx context.Context, where query.Group, bindings []BindingMatch) (int, error) {
	var b strings.Builder
	b.WriteString("SELECT COUNT(*) FROM " + activityTable)
	args, err := c.activityWhere(&b, where, bindings)
	if err != nil {
		return 0, err
	}
	var n int
	err = c.queryRow(ctx, b.String(), args...).Scan(&n)
	return n, err
}

// activityWhere appends the filter and the binding condition. The bindings are
// matched through their key (entity_type_id, entity_id), whatever the table's size.
func (c conn) activityWhere(b *strings.Builder, where query.Group, bindings []BindingMatch) ([]any, error) {
	args, err := c.whereClause(b, where)
	if err != nil {
		return nil, err
	}
	if len(bindings) == 0 {
		return args, nil
	}
	if len(where.Items) == 0 {
		b.WriteString(" WHERE ")
	} else {
		b.WriteString(" AND ")
	}
	b.WriteString("id IN (SELECT activity_id FROM crm_activity_bindings WHERE ")
	for i, m := range bindings {
		if i > 0 {
			b.WriteString(" OR ")
		}
		if m.EntityID == 0 {
			b.WriteString("entity_type_id = ?")
			args = append(args, m.EntityTypeID)
			continue
		}
		b.WriteString("(entity_type_id = ? AND entity_id = ?)")
		args = append(args, m.EntityTypeID, m.EntityID)
	}
	b.WriteString(")")
	return args, nil
}
