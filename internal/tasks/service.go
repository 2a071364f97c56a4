package tasks

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Service runs the task operations.
type Service struct {
	st  *store.Store
	crm *crm.Service
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// New returns the tasks service over an open, migrated store and the CRM service, which
// answers whether bound items exist and writes their timeline entries.
func New(st *store.Store, crmSvc *crm.Service) *Service {
	return &Service{st: st, crm: crmSvc, Now: func() time.Time { return time.Now().Truncate(time.Second) }}
}

// Get reads one task.
func (s *Service) Get(ctx context.Context, actor access.Actor, id int64) (*store.TaskRecord, error) {
	t, err := s.st.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	return t, err
}

// Add creates a task from UPPER_CASE fields. Defaults: the caller is responsible and
// creator, status pending, priority medium.
func (s *Service) Add(ctx context.Context, actor access.Actor, fields *params.Object) (*store.TaskRecord, error) {
	now := s.Now()
	t := &store.TaskRecord{ResponsibleID: actor.UserID, CreatedBy: actor.UserID, Status: StatusPending,
		Priority: PriorityMedium, CreatedDate: now}
	in, err := s.readInput(ctx, fields)
	if err != nil {
		return nil, err
	}
	if in.title == nil {
		return nil, invalid("TITLE", "the task title is not specified")
	}
	in.apply(t)
	t.ChangedBy, t.ChangedDate = actor.UserID, now
	if t.Status == StatusCompleted {
		t.ClosedBy, t.ClosedDate = actor.UserID, now
	}
	if err := s.checkUsers(ctx, t); err != nil {
		return nil, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := s.checkItems(ctx, tx, t.Bindings); err != nil {
			return err
		}
		if err := tx.InsertTask(ctx, t); err != nil {
			return err
		}
		if err := s.record(ctx, tx, actor, EntryTask, t, t.Bindings); err != nil {
			return err
		}
		if t.Status == StatusCompleted {
			if err := s.record(ctx, tx, actor, EntryTaskCompleted, t, t.Bindings); err != nil {
				return err
			}
		}
		return outbox(ctx, tx, EventTaskAdd, t.ID)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Update changes the given fields of a task. A change that changes nothing writes
// nothing. Newly bound items get a "task" entry; STATUS becoming completed closes the
// task and gives every bound item a "task_completed" entry; leaving completed reopens it.
func (s *Service) Update(ctx context.Context, actor access.Actor, id int64, fields *params.Object) (*store.TaskRecord, error) {
	in, err := s.readInput(ctx, fields)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, actor, id, in)
}

// Complete sets a task's status to completed. Completing a completed task changes
// nothing.
func (s *Service) Complete(ctx context.Context, actor access.Actor, id int64) (*store.TaskRecord, error) {
	status := int64(StatusCompleted)
	return s.change(ctx, actor, id, &input{status: &status})
}

func (s *Service) change(ctx context.Context, actor access.Actor, id int64, in *input) (*store.TaskRecord, error) {
	var after *store.TaskRecord
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		before, err := tx.GetTaskForUpdate(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		t := *before
		in.apply(&t)
		if err := s.checkUsers(ctx, &t); err != nil {
			return err
		}
		added := newBindings(before.Bindings, t.Bindings)
		if err := s.checkItems(ctx, tx, added); err != nil {
			return err
		}
		completed := t.Status == StatusCompleted && before.Status != StatusCompleted
		switch {
		case completed:
			t.ClosedBy, t.ClosedDate = actor.UserID, s.Now()
		case t.Status != StatusCompleted:
			t.ClosedBy, t.ClosedDate = 0, time.Time{}
		}
		bindingsChanged := !sameBindings(before.Bindings, t.Bindings)
		if !bindingsChanged && sameRow(before, &t) {
			after = before
			return nil
		}
		t.ChangedBy, t.ChangedDate = actor.UserID, s.Now()
		if err := tx.UpdateTask(ctx, &t); err != nil {
			return err
		}
		if bindingsChanged {
			if err := tx.SetTaskBindings(ctx, id, t.Bindings); err != nil {
				return err
			}
		}
		if err := s.record(ctx, tx, actor, EntryTask, &t, added); err != nil {
			return err
		}
		if completed {
			if err := s.record(ctx, tx, actor, EntryTaskCompleted, &t, t.Bindings); err != nil {
				return err
			}
		}
		after = &t
		return outbox(ctx, tx, EventTaskUpdate, id)
	})
	if err != nil {
		return nil, err
	}
	return after, nil
}

// Delete deletes a task. The entries it left on timelines stay: they are history.
func (s *Service) Delete(ctx context.Context, actor access.Actor, id int64) error {
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		err := tx.DeleteTask(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		return outboxPayload(ctx, tx, EventTaskDelete, id, "FIELDS_BEFORE")
	})
}

// ListRequest is a tasks.task.list call.
type ListRequest struct {
	Filter, Order any
	// Start is the offset; -1 asks for a page without counting.
	Start int64
}

// List is a page of tasks.
type List struct {
	Tasks []*store.TaskRecord
	Total int // -1 when not counted
}

// List answers tasks.task.list: filter and order by UPPER_CASE names (camelCase is
// taken too; REAL_STATUS is STATUS, since no meta statuses exist here), pages of
// crm.PageSize, oldest first unless ordered otherwise.
func (s *Service) List(ctx context.Context, actor access.Actor, req ListRequest) (*List, error) {
	cols := store.TaskColumns()
	resolve := func(name string) (*query.Field, bool) {
		name = UpperName(strings.TrimSpace(name))
		if name == "REAL_STATUS" {
			name = "STATUS"
		}
		for i := range cols {
			if cols[i].Name == name {
				return &cols[i], true
			}
		}
		return nil, false
	}
	where, err := query.ParseFilter(req.Filter, resolve)
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Msg: err.Error()}
	}
	order, err := query.ParseOrder(req.Order, resolve)
	if err != nil {
		return nil, &Error{Kind: ErrInvalid, Msg: err.Error()}
	}
	idf, _ := resolve("ID")
	order = append(order, query.Order{Field: idf}) // pages never overlap
	start := max(req.Start, 0)
	list, err := s.st.ListTasks(ctx, where, order, store.Page{Limit: crm.PageSize, Offset: int(start)})
	if err != nil {
		return nil, err
	}
	out := &List{Tasks: list, Total: -1}
	if req.Start >= 0 {
		if out.Total, err = s.st.CountTasks(ctx, where); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// input is what a call asked to set; nil members were not given.
type input struct {
	title, description       *string
	responsibleID, createdBy *int64
	deadline                 *time.Time // zero time: clear
	status, priority         *int64
	bindings                 *[]store.TaskBinding
}

func (in *input) apply(t *store.TaskRecord) {
	set := func(dst *int64, v *int64) {
		if v != nil {
			*dst = *v
		}
	}
	if in.title != nil {
		t.Title = *in.title
	}
	if in.description != nil {
		t.Description = *in.description
	}
	set(&t.ResponsibleID, in.responsibleID)
	set(&t.CreatedBy, in.createdBy)
	set(&t.Status, in.status)
	set(&t.Priority, in.priority)
	if in.deadline != nil {
		t.Deadline = *in.deadline
	}
	if in.bindings != nil {
		t.Bindings = *in.bindings
	}
}

// readInput validates UPPER_CASE (or camelCase) fields. Unknown and read-only fields
// are ignored, as Bitrix24 does; a value a field cannot take is refused with the field
// named, before anything is written.
func (s *Service) readInput(ctx context.Context, fields *params.Object) (*input, error) {
	in := &input{}
	for _, key := range fields.Keys() {
		v, _ := fields.Get(key)
		name := UpperName(strings.TrimSpace(key))
		var err error
		switch name {
		case "TITLE":
			in.title, err = readTitle(v)
		case "DESCRIPTION":
			in.description, err = readDescription(v)
		case "RESPONSIBLE_ID":
			in.responsibleID, err = readUser(name, v)
		case "CREATED_BY":
			in.createdBy, err = readUser(name, v)
		case "DEADLINE":
			in.deadline, err = readDeadline(v)
		case "STATUS":
			in.status, err = readChoice(name, v, StatusPending, StatusDeferred,
				"2 (pending), 3 (in progress), 4 (awaiting control), 5 (completed) or 6 (deferred)")
		case "PRIORITY":
			in.priority, err = readChoice(name, v, PriorityLow, PriorityHigh, "0 (low), 1 (medium) or 2 (high)")
		case "UF_CRM_TASK":
			in.bindings, err = s.readBindings(ctx, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return in, nil
}

func readTitle(v any) (*string, error) {
	s, ok := params.String(v)
	if v == nil {
		s, ok = "", true
	}
	if !ok {
		return nil, invalid("TITLE", "the title must be text")
	}
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, invalid("TITLE", "the task title is not specified")
	case !utf8.ValidString(s):
		return nil, invalid("TITLE", "the title is not valid UTF-8 text")
	case utf8.RuneCountInString(s) > maxTitle:
		return nil, invalid("TITLE", "the title is longer than %d characters", maxTitle)
	}
	return &s, nil
}

func readDescription(v any) (*string, error) {
	if v == nil {
		s := ""
		return &s, nil
	}
	s, ok := params.String(v)
	switch {
	case !ok:
		return nil, invalid("DESCRIPTION", "the description must be text")
	case !utf8.ValidString(s):
		return nil, invalid("DESCRIPTION", "the description is not valid UTF-8 text")
	case utf8.RuneCountInString(s) > maxDescription:
		return nil, invalid("DESCRIPTION", "the description is longer than %d characters", maxDescription)
	}
	return &s, nil
}

// readUser reads a user id; whether the user exists is checkUsers'.
func readUser(name string, v any) (*int64, error) {
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		if v == nil || v == "" || (ok && id == 0) {
			return nil, invalid(name, "a user must be specified")
		}
		return nil, invalid(name, "%v is not a user id", v)
	}
	return &id, nil
}

func readDeadline(v any) (*time.Time, error) {
	t, err := field.DateTime{}.Parse(v)
	if err != nil {
		s, _ := params.String(v)
		return nil, invalid("DEADLINE", "%q is not a date or a date and time (use 2025-12-31T18:00:00+03:00, 2025-12-31T18:00:00 or 2025-12-31)", s)
	}
	var out time.Time // nil value: no deadline
	if tm, ok := t.(time.Time); ok {
		out = tm
	}
	return &out, nil
}

func readChoice(name string, v any, lo, hi int64, allowed string) (*int64, error) {
	n, ok := params.Int(v)
	if !ok || n < lo || n > hi {
		return nil, invalid(name, "%v is not allowed; use %s", v, allowed)
	}
	return &n, nil
}

// readBindings reads UF_CRM_TASK: a list of bindings ("D_12", "T408_7"), or one. Each
// must name a CRM type that exists; whether the item exists is checkItems', in the
// transaction that binds it. Duplicates collapse.
func (s *Service) readBindings(ctx context.Context, v any) (*[]store.TaskBinding, error) {
	var vals []any
	if _, list, ok := params.Entries(v); ok {
		vals = list
	} else if v != nil && v != "" && v != false {
		vals = []any{v}
	}
	out := []store.TaskBinding{}
	seen := map[store.TaskBinding]bool{}
	for _, e := range vals {
		str, ok := params.String(e)
		if !ok {
			return nil, invalid("UF_CRM_TASK", "a binding like D_12 or T408_7 is expected, got a list or an object")
		}
		if strings.TrimSpace(str) == "" {
			continue
		}
		etid, id, ok := field.ParseAnyBinding(str)
		if !ok {
			return nil, invalid("UF_CRM_TASK", "%q is not a binding to a CRM item (like L_1, D_12, C_3, CO_4 or T408_7)", str)
		}
		if _, err := s.crm.GetType(ctx, etid, true); err != nil {
			if crm.KindOf(err) == crm.ErrTypeNotFound {
				return nil, invalid("UF_CRM_TASK", "%q: there is no CRM type %d", str, etid)
			}
			return nil, err
		}
		b := store.TaskBinding{EntityTypeID: etid, EntityID: id}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	if len(out) > maxBindings {
		return nil, invalid("UF_CRM_TASK", "a task may be bound to at most %d CRM items", maxBindings)
	}
	return &out, nil
}

// checkUsers refuses a responsible person or creator who is not an active user.
func (s *Service) checkUsers(ctx context.Context, t *store.TaskRecord) error {
	for _, u := range []struct {
		name string
		id   int64
	}{{"RESPONSIBLE_ID", t.ResponsibleID}, {"CREATED_BY", t.CreatedBy}} {
		ok, err := s.crm.UserExists(ctx, u.id)
		if err != nil {
			return err
		}
		if !ok {
			return invalid(u.name, "user %d not found", u.id)
		}
	}
	return nil
}

// checkItems refuses bindings to items that do not exist, inside the transaction that
// binds them, so an item deleted a moment ago is not bound.
func (s *Service) checkItems(ctx context.Context, tx *store.Tx, bindings []store.TaskBinding) error {
	for _, b := range bindings {
		ok, err := tx.ItemExists(ctx, b.EntityTypeID, b.EntityID)
		if err != nil {
			return err
		}
		if !ok {
			return invalid("UF_CRM_TASK", "%s: the %s %d does not exist", field.FormatBinding(b.EntityTypeID, b.EntityID),
				crm.EntityTypeName(b.EntityTypeID), b.EntityID)
		}
	}
	return nil
}

// record writes a timeline entry of kind about task t on each of the given items. An
// item deleted since it was bound is skipped: its timeline is gone with it.
func (s *Service) record(ctx context.Context, tx *store.Tx, actor access.Actor, kind string, t *store.TaskRecord, items []store.TaskBinding) error {
	var deadline any
	if !t.Deadline.IsZero() {
		deadline = field.DateTime{}.Format(t.Deadline)
	}
	data := jsonx.Map{{K: "taskId", V: t.ID}, {K: "title", V: t.Title}, {K: "deadline", V: deadline},
		{K: "responsibleId", V: t.ResponsibleID}}
	if kind == EntryTaskCompleted {
		data = append(data, jsonx.KV{K: "closedBy", V: t.ClosedBy})
	}
	for _, b := range items {
		o := crm.Owner{EntityTypeID: b.EntityTypeID, ID: b.EntityID}
		_, err := s.crm.RecordEntry(ctx, tx, actor, kind, o, data, nil)
		if k := crm.KindOf(err); k == crm.ErrOwnerNotFound || k == crm.ErrTypeNotFound {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// outbox records a task event {"FIELDS_AFTER": {"ID": id}} for delivery after commit.
func outbox(ctx context.Context, tx *store.Tx, topic string, id int64) error {
	return outboxPayload(ctx, tx, topic, id, "FIELDS_AFTER")
}

// OutboxEntityType is the outbox rows' entity type of task events: tasks are not CRM
// items, and no CRM type has id 0.
const OutboxEntityType = 0

func outboxPayload(ctx context.Context, tx *store.Tx, topic string, id int64, key string) error {
	b, err := jsonx.Append(nil, jsonx.Map{{K: key, V: jsonx.Map{{K: "ID", V: id}}}})
	if err != nil {
		return err
	}
	return tx.InsertOutbox(ctx, topic, OutboxEntityType, id, string(b))
}

// newBindings lists the bindings in after that were not in before.
func newBindings(before, after []store.TaskBinding) []store.TaskBinding {
	had := map[store.TaskBinding]bool{}
	for _, b := range before {
		had[b] = true
	}
	var out []store.TaskBinding
	for _, b := range after {
		if !had[b] {
			out = append(out, b)
		}
	}
	return out
}

func sameBindings(a, b []store.TaskBinding) bool {
	return len(newBindings(a, b)) == 0 && len(newBindings(b, a)) == 0
}

// sameRow compares the stored columns of two versions of a task.
func sameRow(a, b *store.TaskRecord) bool {
	return a.Title == b.Title && a.Description == b.Description && a.ResponsibleID == b.ResponsibleID &&
		a.CreatedBy == b.CreatedBy && a.Deadline.Equal(b.Deadline) && a.Status == b.Status &&
		a.Priority == b.Priority && a.ClosedBy == b.ClosedBy && a.ClosedDate.Equal(b.ClosedDate)
}
