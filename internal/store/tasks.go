package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// TaskRecord is a task row with its CRM bindings.
type TaskRecord struct {
	ID            int64
	Title         string
	Description   string
	ResponsibleID int64
	CreatedBy     int64
	ChangedBy     int64
	Deadline      time.Time // zero: none
	Status        int64
	Priority      int64
	CreatedDate   time.Time
	ChangedDate   time.Time
	ClosedDate    time.Time // zero: not closed
	ClosedBy      int64     // 0: not closed
	Bindings      []TaskBinding
}

// TaskBinding is a CRM item a task is bound to (one value of UF_CRM_TASK).
type TaskBinding struct {
	EntityTypeID, EntityID int64
}

const tasksTable = "tasks"

var taskColumns = []Column{
	{"id", field.StorageInt}, {"title", field.StorageText}, {"description", field.StorageText},
	{"responsible_id", field.StorageInt}, {"created_by", field.StorageInt}, {"changed_by", field.StorageInt},
	{"deadline", field.StorageTime}, {"status", field.StorageInt}, {"priority", field.StorageInt},
	{"created_date", field.StorageTime}, {"changed_date", field.StorageTime}, {"closed_date", field.StorageTime},
	{"closed_by", field.StorageInt},
}

func taskValues(t *TaskRecord) []any {
	opt := func(tm time.Time) any {
		if tm.IsZero() {
			return nil
		}
		return tm
	}
	var closedBy any
	if t.ClosedBy > 0 {
		closedBy = t.ClosedBy
	}
	return []any{t.Title, t.Description, t.ResponsibleID, t.CreatedBy, t.ChangedBy, opt(t.Deadline), t.Status,
		t.Priority, t.CreatedDate, t.ChangedDate, opt(t.ClosedDate), closedBy}
}

func taskFromRow(r []any) *TaskRecord {
	t := &TaskRecord{}
	t.ID, _ = r[0].(int64)
	t.Title, _ = r[1].(string)
	t.Description, _ = r[2].(string)
	t.ResponsibleID, _ = r[3].(int64)
	t.CreatedBy, _ = r[4].(int64)
	t.ChangedBy, _ = r[5].(int64)
	t.Deadline, _ = r[6].(time.Time)
	t.Status, _ = r[7].(int64)
	t.Priority, _ = r[8].(int64)
	t.CreatedDate, _ = r[9].(time.Time)
	t.ChangedDate, _ = r[10].(time.Time)
	t.ClosedDate, _ = r[11].(time.Time)
	t.ClosedBy, _ = r[12].(int64)
	return t
}

// InsertTask writes a new task with its bindings and sets t.ID.
func (tx *Tx) InsertTask(ctx context.Context, t *TaskRecord) error {
	id, err := tx.insertRow(ctx, tasksTable, taskColumns[1:], taskValues(t))
	if err != nil {
		return err
	}
	t.ID = id
	return tx.insertTaskBindings(ctx, id, t.Bindings)
}

// UpdateTask rewrites a task's columns; its bindings are SetTaskBindings'.
func (tx *Tx) UpdateTask(ctx context.Context, t *TaskRecord) error {
	return tx.updateRow(ctx, tasksTable, t.ID, 0, false, taskColumns[1:], taskValues(t))
}

// SetTaskBindings replaces a task's bindings.
func (tx *Tx) SetTaskBindings(ctx context.Context, id int64, bindings []TaskBinding) error {
	if _, err := tx.exec(ctx, `DELETE FROM task_crm_bindings WHERE task_id = ?`, id); err != nil {
		return err
	}
	return tx.insertTaskBindings(ctx, id, bindings)
}

func (tx *Tx) insertTaskBindings(ctx context.Context, id int64, bindings []TaskBinding) error {
	for _, b := range bindings {
		if _, err := tx.exec(ctx, `INSERT INTO task_crm_bindings (task_id, entity_type_id, entity_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			id, b.EntityTypeID, b.EntityID); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTask deletes a task; its bindings go with it (ON DELETE CASCADE).
func (tx *Tx) DeleteTask(ctx context.Context, id int64) error {
	return tx.deleteRow(ctx, tasksTable, id)
}

// GetTask reads one task with its bindings.
func (c conn) GetTask(ctx context.Context, id int64) (*TaskRecord, error) {
	return c.getTask(ctx, id, noLock)
}

// GetTaskForUpdate reads a task to change it in this transaction; on PostgreSQL the row
// stays locked until the transaction ends, so concurrent changes of one task queue.
func (tx *Tx) GetTaskForUpdate(ctx context.Context, id int64) (*TaskRecord, error) {
	return tx.getTask(ctx, id, lockRow)
}

func (c conn) getTask(ctx context.Context, id int64, lock rowLock) (*TaskRecord, error) {
	row, err := c.selectOne(ctx, tasksTable, taskColumns, id, lock)
	if err != nil {
		return nil, err
	}
	t := taskFromRow(row)
	if err := c.loadTaskBindings(ctx, []*TaskRecord{t}); err != nil {
		return nil, err
	}
	return t, nil
}

// ListTasks reads a page of tasks with their bindings.
func (c conn) ListTasks(ctx context.Context, where query.Group, order []query.Order, page Page) ([]*TaskRecord, error) {
	rows, err := c.selectRows(ctx, tasksTable, taskColumns, where, order, page)
	if err != nil {
		return nil, err
	}
	out := make([]*TaskRecord, len(rows))
	for i, r := range rows {
		out[i] = taskFromRow(r)
	}
	return out, c.loadTaskBindings(ctx, out)
}

// CountTasks counts the tasks matching where.
func (c conn) CountTasks(ctx context.Context, where query.Group) (int, error) {
	return c.countRows(ctx, tasksTable, where)
}

// loadTaskBindings fills the bindings of a page of tasks in one query.
func (c conn) loadTaskBindings(ctx context.Context, tasks []*TaskRecord) error {
	if len(tasks) == 0 {
		return nil
	}
	byID := make(map[int64]*TaskRecord, len(tasks))
	var b strings.Builder
	b.WriteString(`SELECT task_id, entity_type_id, entity_id FROM task_crm_bindings WHERE task_id IN (`)
	args := make([]any, len(tasks))
	for i, t := range tasks {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('?')
		args[i] = t.ID
		byID[t.ID] = t
		t.Bindings = []TaskBinding{}
	}
	b.WriteString(`) ORDER BY task_id, entity_type_id, entity_id`)
	rows, err := c.query(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tb TaskBinding
		if err := rows.Scan(&id, &tb.EntityTypeID, &tb.EntityID); err != nil {
			return err
		}
		if t := byID[id]; t != nil {
			t.Bindings = append(t.Bindings, tb)
		}
	}
	return rows.Err()
}

// compileTaskBindings writes a UF_CRM_TASK condition: the task id (c.Field.Column) in,
// or not in, the tasks bound to the given items.
func compileTaskBindings(b *strings.Builder, c query.Cond, args []any) ([]any, error) {
	var list []any
	in := true
	switch c.Op {
	case field.OpContainsAny, field.OpContainsNone:
		list, in = c.Value.([]any), c.Op == field.OpContainsAny
		if len(list) == 0 { // `UF_CRM_TASK: []`: bound to none of no items
			b.WriteString(map[bool]string{true: "1=0", false: "1=1"}[in])
			return args, nil
		}
	case field.OpEq, field.OpNotEq:
		// The parser turns a value into ContainsAny/None; what stays is emptiness:
		// `UF_CRM_TASK: ""` is "bound to nothing", `!UF_CRM_TASK: ""` "bound to something".
		if c.Value != nil {
			return nil, fmt.Errorf("UF_CRM_TASK: unexpected value %T", c.Value)
		}
		in = c.Op == field.OpNotEq
	default:
		return nil, fmt.Errorf("operator %q is not supported for UF_CRM_TASK", c.Op)
	}
	b.WriteString(c.Field.Column)
	if !in {
		b.WriteString(" NOT")
	}
	b.WriteString(" IN (SELECT task_id FROM task_crm_bindings")
	for i, v := range list {
		tb, ok := v.(field.Binding)
		if !ok {
			return nil, fmt.Errorf("UF_CRM_TASK: unexpected value %T", v)
		}
		if i == 0 {
			b.WriteString(" WHERE ")
		} else {
			b.WriteString(" OR ")
		}
		b.WriteString("(entity_type_id = ? AND entity_id = ?)")
		args = append(args, tb.EntityTypeID, tb.ID)
	}
	b.WriteByte(')')
	return args, nil
}
