package tasks

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/timeline"
)

// Service runs the task operations.
type Service struct {
	st       *store.Store
	crm      *crm.Service
	timeline *timeline.Service
}

// New returns the tasks service over the CRM service, which answers whether bound items
// exist, and the timeline, which shows tasks on their items.
func New(crmSvc *crm.Service, tl *timeline.Service) *Service {
	return &Service{st: crmSvc.Store(), crm: crmSvc, timeline: tl}
}

var resource = access.Resource{Kind: "task"}

// Get reads one task.
func (s *Service) Get(ctx context.Context, actor access.Actor, id int64) (*Task, error) {
	if err := s.crm.Allow(actor, access.ActRead, resource); err != nil {
		return nil, err
	}
	r, err := s.st.GetTask(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	return fromRecord(r), nil
}

// Add creates a task. Defaults: the caller is responsible and creator, status pending,
// priority medium.
func (s *Service) Add(ctx context.Context, actor access.Actor, p Patch) (*Task, error) {
	var t *Task
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) (err error) {
		t, err = s.AddIn(u, p)
		return err
	})
	return t, err
}

// AddIn creates a task inside the unit.
func (s *Service) AddIn(u *crm.Unit, p Patch) (*Task, error) {
	actor := u.Actor()
	if err := s.crm.Allow(actor, access.ActCreate, resource); err != nil {
		return nil, err
	}
	if p.Title == nil {
		return nil, invalid("title", "the task title is not specified")
	}
	if err := s.check(u, &p); err != nil {
		return nil, err
	}
	t := &Task{ResponsibleID: actor.UserID, CreatedBy: actor.UserID, Status: StatusPending, Priority: PriorityMedium,
		CreatedDate: u.Now(), Bindings: []crm.Owner{}}
	p.apply(t)
	t.ChangedBy, t.ChangedDate = actor.UserID, u.Now()
	if t.Status == StatusCompleted {
		t.ClosedBy, t.ClosedDate = actor.UserID, u.Now()
	}
	if err := s.checkUsers(u, t); err != nil {
		return nil, err
	}
	if err := s.checkItems(u, t.Bindings); err != nil {
		return nil, err
	}
	rec := t.record()
	if err := u.Tx().InsertTask(u.Ctx(), rec); err != nil {
		return nil, err
	}
	t.ID = rec.ID
	if err := s.record(u, KindTask, t, t.Bindings); err != nil {
		return nil, err
	}
	if t.Status == StatusCompleted {
		if err := s.record(u, KindTaskCompleted, t, t.Bindings); err != nil {
			return nil, err
		}
	}
	return t, u.Emit(change.Change{Entity: change.Task, Kind: change.Added, ID: t.ID})
}

// Update changes the given fields of a task. A change that changes nothing writes
// nothing. Newly bound items get a "task" entry; status becoming completed closes the
// task and gives every bound item a "task_completed" entry; leaving completed reopens it.
func (s *Service) Update(ctx context.Context, actor access.Actor, id int64, p Patch) (*Task, error) {
	var t *Task
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) (err error) {
		t, err = s.UpdateIn(u, id, p)
		return err
	})
	return t, err
}

// Complete sets a task's status to completed. Completing a completed task changes
// nothing.
func (s *Service) Complete(ctx context.Context, actor access.Actor, id int64) (*Task, error) {
	status := int64(StatusCompleted)
	return s.Update(ctx, actor, id, Patch{Status: &status})
}

// UpdateIn changes a task inside the unit.
func (s *Service) UpdateIn(u *crm.Unit, id int64, p Patch) (*Task, error) {
	actor := u.Actor()
	if err := s.crm.Allow(actor, access.ActUpdate, resource); err != nil {
		return nil, err
	}
	if err := s.check(u, &p); err != nil {
		return nil, err
	}
	rec, err := u.Tx().GetTaskForUpdate(u.Ctx(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	before := fromRecord(rec)
	t := *before
	p.apply(&t)
	if err := s.checkUsers(u, &t); err != nil {
		return nil, err
	}
	added := newBindings(before.Bindings, t.Bindings)
	if err := s.checkItems(u, added); err != nil {
		return nil, err
	}
	completed := t.Status == StatusCompleted && before.Status != StatusCompleted
	switch {
	case completed:
		t.ClosedBy, t.ClosedDate = actor.UserID, u.Now()
	case t.Status != StatusCompleted:
		t.ClosedBy, t.ClosedDate = 0, time.Time{}
	}
	bindingsChanged := !sameBindings(before.Bindings, t.Bindings)
	if !bindingsChanged && sameRow(before, &t) {
		return before, nil
	}
	t.ChangedBy, t.ChangedDate = actor.UserID, u.Now()
	if err := u.Tx().UpdateTask(u.Ctx(), t.record()); err != nil {
		return nil, err
	}
	if bindingsChanged {
		if err := u.Tx().SetTaskBindings(u.Ctx(), id, t.record().Bindings); err != nil {
			return nil, err
		}
	}
	if err := s.record(u, KindTask, &t, added); err != nil {
		return nil, err
	}
	if completed {
		if err := s.record(u, KindTaskCompleted, &t, t.Bindings); err != nil {
			return nil, err
		}
	}
	c := change.Change{Entity: change.Task, Kind: change.Updated, ID: id}
	if t.Status != before.Status {
		// Automation's taskCompleted trigger reads the status from the change.
		c.Changed = []string{"status"}
		c.Before, c.After = map[string]any{"status": before.Status}, map[string]any{"status": t.Status}
	}
	return &t, u.Emit(c)
}

// Delete deletes a task. The entries it left on timelines stay: they are history.
func (s *Service) Delete(ctx context.Context, actor access.Actor, id int64) error {
	if err := s.crm.Allow(actor, access.ActDelete, resource); err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		err := u.Tx().DeleteTask(u.Ctx(), id)
		if errors.Is(err, store.ErrNotFound) {
			return notFound(id)
		}
		if err != nil {
			return err
		}
		return u.Emit(change.Change{Entity: change.Task, Kind: change.Deleted, ID: id})
	})
}

// Query is a page of tasks: a filter over QueryFields and an order (oldest first by
// default).
type Query struct {
	Where   query.Group
	Order   []query.Order
	Offset  int
	NoCount bool
}

// List reads a page of tasks, 50 a page.
func (s *Service) List(ctx context.Context, actor access.Actor, q Query) ([]*Task, int, error) {
	if err := s.crm.Allow(actor, access.ActRead, resource); err != nil {
		return nil, 0, err
	}
	cols := QueryFields()
	order := append(q.Order[:len(q.Order):len(q.Order)], query.Order{Field: &cols[0]}) // pages never overlap
	recs, err := s.st.ListTasks(ctx, q.Where, order, store.Page{Limit: crm.PageSize, Offset: max(q.Offset, 0)})
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Task, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(r)
	}
	total := -1
	if !q.NoCount {
		if total, err = s.st.CountTasks(ctx, q.Where); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// check validates the values of a patch: texts, ranges, and that bound types exist.
func (s *Service) check(u *crm.Unit, p *Patch) error {
	if p.Title != nil {
		title := strings.TrimSpace(*p.Title)
		switch {
		case title == "":
			return invalid("title", "the task title is not specified")
		case !utf8.ValidString(title):
			return invalid("title", "the title is not valid UTF-8 text")
		case utf8.RuneCountInString(title) > maxTitle:
			return invalid("title", "the title is longer than %d characters", maxTitle)
		}
		p.Title = &title
	}
	if p.Description != nil {
		switch {
		case !utf8.ValidString(*p.Description):
			return invalid("description", "the description is not valid UTF-8 text")
		case utf8.RuneCountInString(*p.Description) > maxDescription:
			return invalid("description", "the description is longer than %d characters", maxDescription)
		}
	}
	for _, c := range []struct {
		name    string
		v       *int64
		lo, hi  int64
		allowed string
	}{
		{"status", p.Status, StatusPending, StatusDeferred, "2 (pending), 3 (in progress), 4 (awaiting control), 5 (completed) or 6 (deferred)"},
		{"priority", p.Priority, PriorityLow, PriorityHigh, "0 (low), 1 (medium) or 2 (high)"},
	} {
		if c.v != nil && (*c.v < c.lo || *c.v > c.hi) {
			return invalid(c.name, "%d is not allowed; use %s", *c.v, c.allowed)
		}
	}
	if p.Bindings != nil {
		seen := map[crm.Owner]bool{}
		out := []crm.Owner{}
		for _, b := range *p.Bindings {
			if _, err := u.TypeOf(b.EntityTypeID); err != nil {
				if crm.KindOf(err) == crm.ErrTypeNotFound {
					return invalid("ufCrmTask", "%q: there is no CRM type %d", field.FormatBinding(b.EntityTypeID, b.ID), b.EntityTypeID)
				}
				return err
			}
			if !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
		if len(out) > maxBindings {
			return invalid("ufCrmTask", "a task may be bound to at most %d CRM items", maxBindings)
		}
		p.Bindings = &out
	}
	return nil
}

// checkUsers refuses a responsible person or creator who is not an active user.
func (s *Service) checkUsers(u *crm.Unit, t *Task) error {
	for _, c := range []struct {
		name string
		id   int64
	}{{"responsibleId", t.ResponsibleID}, {"createdBy", t.CreatedBy}} {
		ok, err := s.crm.UserExists(u.Ctx(), c.id)
		if err != nil {
			return err
		}
		if !ok {
			return invalid(c.name, "user %d not found", c.id)
		}
	}
	return nil
}

// checkItems refuses bindings to items that do not exist, inside the unit that binds
// them, so an item deleted a moment ago is not bound.
func (s *Service) checkItems(u *crm.Unit, bindings []crm.Owner) error {
	for _, b := range bindings {
		ok, err := u.ItemExists(b.EntityTypeID, b.ID)
		if err != nil {
			return err
		}
		if !ok {
			return invalid("ufCrmTask", "%s: the %s %d does not exist", field.FormatBinding(b.EntityTypeID, b.ID),
				timeline.EntityTypeName(b.EntityTypeID), b.ID)
		}
	}
	return nil
}

// record writes a timeline entry of kind about task t on each of the given items. An
// item deleted since it was bound is skipped: its timeline is gone with it.
func (s *Service) record(u *crm.Unit, kind string, t *Task, items []crm.Owner) error {
	var deadline any
	if !t.Deadline.IsZero() {
		deadline = field.DateTime{}.Format(t.Deadline)
	}
	data := jsonx.Map{{K: "taskId", V: t.ID}, {K: "title", V: t.Title}, {K: "deadline", V: deadline},
		{K: "responsibleId", V: t.ResponsibleID}}
	if kind == KindTaskCompleted {
		data = append(data, jsonx.KV{K: "closedBy", V: t.ClosedBy})
	}
	for _, o := range items {
		_, err := s.timeline.Record(u, kind, o, data, nil)
		if k := crm.KindOf(err); k == crm.ErrOwnerNotFound || k == crm.ErrTypeNotFound {
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// newBindings lists the bindings in after that were not in before.
func newBindings(before, after []crm.Owner) []crm.Owner {
	had := map[crm.Owner]bool{}
	for _, b := range before {
		had[b] = true
	}
	var out []crm.Owner
	for _, b := range after {
		if !had[b] {
			out = append(out, b)
		}
	}
	return out
}

func sameBindings(a, b []crm.Owner) bool {
	return len(newBindings(a, b)) == 0 && len(newBindings(b, a)) == 0
}

// sameRow compares the stored columns of two versions of a task.
func sameRow(a, b *Task) bool {
	return a.Title == b.Title && a.Description == b.Description && a.ResponsibleID == b.ResponsibleID &&
		a.CreatedBy == b.CreatedBy && a.Deadline.Equal(b.Deadline) && a.Status == b.Status &&
		a.Priority == b.Priority && a.ClosedBy == b.ClosedBy && a.ClosedDate.Equal(b.ClosedDate)
}
