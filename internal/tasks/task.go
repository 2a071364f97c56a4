// Package tasks is the tasks module: work with a responsible person, a deadline and a
// status, bound to CRM items (UF_CRM_TASK). It is what a "create task" robot creates,
// and a task bound to an item shows on that item's timeline: every change is one unit
// that writes the task, the timeline entries of the items it is bound to and its
// Change. It follows the entity pattern of items: a typed model, a query catalog, the
// store below.
package tasks

import (
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Statuses (REAL_STATUS in Bitrix24). 1 (new) and 7 (declined) are legacy there and
// not accepted here.
const (
	StatusPending         = 2
	StatusInProgress      = 3
	StatusAwaitingControl = 4
	StatusCompleted       = 5
	StatusDeferred        = 6
)

// Priorities.
const (
	PriorityLow    = 0
	PriorityMedium = 1
	PriorityHigh   = 2
)

// Limits of what one task holds.
const (
	maxTitle       = 255     // characters, as Bitrix24's column
	maxDescription = 100_000 // characters: a description is not a file store
	maxBindings    = 100     // CRM items one task may be bound to
)

// Timeline entry kinds the module writes on the items a task is bound to.
const (
	KindTask          = "task"           // a task was created for the item, or bound to it
	KindTaskCompleted = "task_completed" // a task bound to the item was completed
)

// Task is a task with the CRM items it is bound to.
type Task struct {
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
	Bindings      []crm.Owner
}

func fromRecord(r *store.TaskRecord) *Task {
	t := &Task{ID: r.ID, Title: r.Title, Description: r.Description, ResponsibleID: r.ResponsibleID, CreatedBy: r.CreatedBy,
		ChangedBy: r.ChangedBy, Deadline: r.Deadline, Status: r.Status, Priority: r.Priority, CreatedDate: r.CreatedDate,
		ChangedDate: r.ChangedDate, ClosedDate: r.ClosedDate, ClosedBy: r.ClosedBy, Bindings: []crm.Owner{}}
	for _, b := range r.Bindings {
		t.Bindings = append(t.Bindings, crm.Owner{EntityTypeID: b.EntityTypeID, ID: b.EntityID})
	}
	return t
}

func (t *Task) record() *store.TaskRecord {
	r := &store.TaskRecord{ID: t.ID, Title: t.Title, Description: t.Description, ResponsibleID: t.ResponsibleID,
		CreatedBy: t.CreatedBy, ChangedBy: t.ChangedBy, Deadline: t.Deadline, Status: t.Status, Priority: t.Priority,
		CreatedDate: t.CreatedDate, ChangedDate: t.ChangedDate, ClosedDate: t.ClosedDate, ClosedBy: t.ClosedBy}
	for _, b := range t.Bindings {
		r.Bindings = append(r.Bindings, bindingOf(b))
	}
	return r
}

func bindingOf(o crm.Owner) store.TaskBinding {
	return store.TaskBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}
}

// QueryFields is the catalog task lists filter and order on. ufCrmTask asks whether a
// task is bound to an item (field.ItemBindings).
func QueryFields() []query.Field {
	user := field.Integer{TypeName: "user"}
	return []query.Field{
		{Name: "id", Column: "id", Type: field.Integer{}},
		{Name: "title", Column: "title", Type: field.Text{}},
		{Name: "description", Column: "description", Type: field.Text{}, NoOrder: true},
		{Name: "responsibleId", Column: "responsible_id", Type: user},
		{Name: "createdBy", Column: "created_by", Type: user},
		{Name: "changedBy", Column: "changed_by", Type: user},
		{Name: "deadline", Column: "deadline", Type: field.DateTime{}},
		{Name: "status", Column: "status", Type: field.Integer{}},
		{Name: "priority", Column: "priority", Type: field.Integer{}},
		{Name: "createdDate", Column: "created_date", Type: field.DateTime{}},
		{Name: "changedDate", Column: "changed_date", Type: field.DateTime{}},
		{Name: "closedDate", Column: "closed_date", Type: field.DateTime{}},
		{Name: "closedBy", Column: "closed_by", Type: user},
		{Name: "ufCrmTask", Column: "id", Type: field.ItemBindings{}, NoOrder: true},
	}
}

// Patch is what a call sets on a task; nil leaves a value as it is.
type Patch struct {
	Title, Description       *string
	ResponsibleID, CreatedBy *int64
	Deadline                 *time.Time // the zero time clears it
	Status, Priority         *int64
	Bindings                 *[]crm.Owner
}

func (p *Patch) apply(t *Task) {
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	if p.Title != nil {
		t.Title = *p.Title
	}
	if p.Description != nil {
		t.Description = *p.Description
	}
	set(&t.ResponsibleID, p.ResponsibleID)
	set(&t.CreatedBy, p.CreatedBy)
	set(&t.Status, p.Status)
	set(&t.Priority, p.Priority)
	if p.Deadline != nil {
		t.Deadline = *p.Deadline
	}
	if p.Bindings != nil {
		t.Bindings = *p.Bindings
	}
}

// invalid is a value the task cannot take, about one of its fields.
func invalid(fieldName, format string, a ...any) error {
	e := crm.NewError(crm.ErrInvalidValue, format, a...)
	e.Field = fieldName
	return e
}

func notFound(id int64) error { return crm.NewError(crm.ErrItemNotFound, "Task %d not found", id) }
