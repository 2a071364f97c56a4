// Package tasks is the tasks module: to-dos with a responsible person, a deadline and a
// status, bound to CRM items through UF_CRM_TASK. It is what a "create task" robot
// creates, and a task bound to an item shows on that item's timeline: every change is
// one transaction that writes the task, the timeline entries of the items it is bound
// to and the outbox rows of its events. Like the crm package it knows nothing of HTTP.
package tasks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
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
	EntryTask          = "task"           // a task was created for the item, or bound to it
	EntryTaskCompleted = "task_completed" // a task bound to the item was completed
)

// Outbox topics, as Bitrix24 names the task events.
const (
	EventTaskAdd    = "OnTaskAdd"
	EventTaskUpdate = "OnTaskUpdate"
	EventTaskDelete = "OnTaskDelete"
)

// ErrorKind classifies the module's errors; the protocol layer picks the wire code.
type ErrorKind int

// Error kinds.
const (
	ErrNotFound ErrorKind = iota + 1 // no such task
	ErrInvalid                       // a field value or parameter the task cannot take
)

// Error is a client mistake, with the field it concerns when there is one.
type Error struct {
	Kind  ErrorKind
	Field string // UPPER_CASE field name
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

func invalid(fieldName, format string, a ...any) *Error {
	msg := fmt.Sprintf(format, a...)
	if fieldName != "" {
		msg = fieldName + ": " + msg
	}
	return &Error{Kind: ErrInvalid, Field: fieldName, Msg: msg}
}

func notFound(id int64) *Error {
	return &Error{Kind: ErrNotFound, Msg: fmt.Sprintf("Task %d not found", id)}
}

// KindOf returns the kind of a module error, or 0 for any other error.
func KindOf(err error) ErrorKind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}

// wireFields are the output fields in wire order, camelCase; the UPPER_CASE name of
// each is what `select`, `filter` and `order` use.
var wireFields = []string{
	"id", "title", "description", "responsibleId", "createdBy", "changedBy", "deadline", "status", "priority",
	"createdDate", "changedDate", "closedDate", "closedBy", "ufCrmTask",
}

// UpperName turns a camelCase field name into the UPPER_CASE of the task methods
// (responsibleId → RESPONSIBLE_ID); UPPER_CASE names come back unchanged.
func UpperName(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) && i > 0 && !unicode.IsUpper(rune(name[i-1])) && name[i-1] != '_' {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// Wire is a task as the tasks.task.* methods answer it. Like Bitrix24's REST v1 task
// methods, ids and numbers go out as strings ("id": "12", "status": "2"), so clients
// written against Bitrix24 parse them unchanged; moments are ISO 8601 with the server's
// offset, null when unset (deadline, closedDate, and closedBy while the task is open);
// ufCrmTask is a list of binding strings ([] when none). Bitrix24 answers ufCrmTask
// only when it is selected; here it is always there unless `select` leaves it out,
// which no client can mistake. sel holds UPPER_CASE names; nil means every field.
func Wire(t *store.TaskRecord, sel map[string]bool) jsonx.Obj {
	str := func(n int64) string { return strconv.FormatInt(n, 10) }
	moment := func(tm time.Time) any {
		if tm.IsZero() {
			return nil
		}
		return field.DateTime{}.Format(tm)
	}
	bindings := make([]string, len(t.Bindings))
	for i, b := range t.Bindings {
		bindings[i] = field.FormatBinding(b.EntityTypeID, b.EntityID)
	}
	var closedBy any
	if t.ClosedBy > 0 {
		closedBy = str(t.ClosedBy)
	}
	values := map[string]any{
		"id": str(t.ID), "title": t.Title, "description": t.Description, "responsibleId": str(t.ResponsibleID),
		"createdBy": str(t.CreatedBy), "changedBy": str(t.ChangedBy), "deadline": moment(t.Deadline),
		"status": str(t.Status), "priority": str(t.Priority), "createdDate": moment(t.CreatedDate),
		"changedDate": moment(t.ChangedDate), "closedDate": moment(t.ClosedDate), "closedBy": closedBy,
		"ufCrmTask": bindings,
	}
	out := make(jsonx.Obj, 0, len(wireFields))
	for _, name := range wireFields {
		if sel == nil || name == "id" || sel[UpperName(name)] {
			out.Add(name, values[name])
		}
	}
	return out
}

// ParseSelect reads `select`: a list of UPPER_CASE (or camelCase) field names; "*" or
// an empty list selects every field. Unknown names are ignored, as Bitrix24 does.
func ParseSelect(names []string) map[string]bool {
	if len(names) == 0 {
		return nil
	}
	sel := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "*" {
			return nil
		}
		sel[UpperName(n)] = true
	}
	return sel
}
