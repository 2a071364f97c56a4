// Package activity keeps activities on CRM items (spec automation §3.6): to-dos with a
// deadline and a responsible person. An activity is owned by the item it was added to
// and bound to it and to any item it is added to later; each binding puts its timeline
// entry on that item's timeline. Every change is one unit with its timeline entries and
// its Change. It follows the entity pattern of items: a typed model, a query catalog,
// the store below.
package activity

import (
	"context"
	"fmt"
	"sort"
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

// Constants of to-dos, as Bitrix24 numbers them.
const (
	TypeProvider  = 6          // TYPE_ID of provider activities, to-dos among them
	ProviderToDo  = "CRM_TODO" // PROVIDER_ID of universal activities
	StatusPending = 1
	StatusDone    = 2
	priorityMid   = 2 // REST gives to-dos no say in their priority
)

// Limits of a to-do's values: what a screen can show, not what a database can hold.
const (
	MaxBindings       = 100 // items one activity is bound to (spec §3.6)
	maxSubjectLength  = 255 // characters
	maxPingOffsets    = 10
	maxPingOffset     = 60 * 24 * 366 // minutes: a reminder at most a year ahead
	maxColorID        = 8             // colours 1…7 and 8, the default
	maxDescriptionLen = timeline.MaxTextLength
)

// Timeline entry kinds of to-dos.
const (
	KindToDo          = "todo"           // a to-do was added: {activityId, title, deadline, responsibleId}; kept current
	KindToDoCompleted = "todo_completed" // a to-do was completed: {activityId, title}
)

// Activity is an activity with the items it is bound to.
type Activity struct {
	ID               int64
	TypeID           int64
	ProviderID       string
	Subject          string
	Description      string
	Deadline         time.Time // zero: none
	Completed        bool
	Status           int64
	ResponsibleID    int64
	Priority         int64
	AuthorID         int64
	EditorID         int64
	Created          time.Time
	LastUpdated      time.Time
	ColorID          string
	PingOffsets      []int64 // minutes before the deadline
	ParentActivityID int64   // 0: none
	Owner            crm.Owner
	Bindings         []crm.Owner
	timelineID       int64 // the to-do's own timeline entry; 0: none
}

func fromRecord(r *store.ActivityRecord) *Activity {
	return &Activity{ID: r.ID, TypeID: r.TypeID, ProviderID: r.ProviderID, Subject: r.Subject, Description: r.Description,
		Deadline: r.Deadline, Completed: r.Completed, Status: r.Status, ResponsibleID: r.ResponsibleID, Priority: r.Priority,
		AuthorID: r.AuthorID, EditorID: r.EditorID, Created: r.Created, LastUpdated: r.LastUpdated, ColorID: r.ColorID,
		PingOffsets: r.PingOffsets, ParentActivityID: r.ParentActivityID, Owner: crm.Owner{EntityTypeID: r.OwnerTypeID, ID: r.OwnerID},
		timelineID: r.TimelineID}
}

func (a *Activity) record() *store.ActivityRecord {
	return &store.ActivityRecord{ID: a.ID, TypeID: a.TypeID, ProviderID: a.ProviderID, Subject: a.Subject, Description: a.Description,
		Deadline: a.Deadline, Completed: a.Completed, Status: a.Status, ResponsibleID: a.ResponsibleID, Priority: a.Priority,
		AuthorID: a.AuthorID, EditorID: a.EditorID, Created: a.Created, LastUpdated: a.LastUpdated, ColorID: a.ColorID,
		PingOffsets: a.PingOffsets, ParentActivityID: a.ParentActivityID, OwnerTypeID: a.Owner.EntityTypeID, OwnerID: a.Owner.ID,
		TimelineID: a.timelineID}
}

// QueryFields is the catalog activity lists filter and order on. A to-do's start and end
// are its deadline.
func QueryFields() []query.Field {
	i, t, tm := field.Integer{}, field.Text{}, field.DateTime{}
	return []query.Field{
		{Name: "id", Column: "id", Type: i},
		{Name: "typeId", Column: "type_id", Type: i},
		{Name: "providerId", Column: "provider_id", Type: t},
		{Name: "subject", Column: "subject", Type: t},
		{Name: "description", Column: "description", Type: t, NoOrder: true},
		{Name: "deadline", Column: "deadline", Type: tm},
		{Name: "startTime", Column: "deadline", Type: tm},
		{Name: "endTime", Column: "deadline", Type: tm},
		{Name: "completed", Column: "completed", Type: field.Flag{}},
		{Name: "status", Column: "status", Type: i},
		{Name: "responsibleId", Column: "responsible_id", Type: i},
		{Name: "priority", Column: "priority", Type: i},
		{Name: "authorId", Column: "author_id", Type: i},
		{Name: "editorId", Column: "editor_id", Type: i},
		{Name: "created", Column: "created", Type: tm},
		{Name: "lastUpdated", Column: "last_updated", Type: tm},
		{Name: "ownerTypeId", Column: "owner_type_id", Type: i},
		{Name: "ownerId", Column: "owner_id", Type: i},
		{Name: "parentId", Column: "parent_activity_id", Type: i},
	}
}

// Service runs the activity operations.
type Service struct {
	crm      *crm.Service
	timeline *timeline.Service
	st       *store.Store
}

// New returns the activity service and registers it with crm's write path: deleting an
// item deletes the activities bound to it alone, in the deletion's transaction.
func New(crmSvc *crm.Service, tl *timeline.Service) *Service {
	s := &Service{crm: crmSvc, timeline: tl, st: crmSvc.Store()}
	crmSvc.Listen(s)
	return s
}

// ToDoInput is what a call sets on a to-do; nil leaves a value as it is.
type ToDoInput struct {
	Title, Description, ColorID *string
	Deadline                    *time.Time
	ResponsibleID               *int64
	ParentActivityID            *int64 // 0 clears it
	PingOffsets                 *[]int64
	Completed                   *bool
}

// toDoChange is a checked ToDoInput.
type toDoChange struct {
	in    ToDoInput
	pings []int64
}

// check validates what does not depend on the activity itself: formats, lengths, the
// responsible user's existence is checked inside the unit.
func check(in ToDoInput) (*toDoChange, error) {
	ch := &toDoChange{in: in}
	if in.Title != nil && (!utf8.ValidString(*in.Title) || utf8.RuneCountInString(*in.Title) > maxSubjectLength) {
		return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: "title", Msg: "The title must be UTF-8 text of at most 255 characters"}
	}
	if in.Description != nil && (!utf8.ValidString(*in.Description) || utf8.RuneCountInString(*in.Description) > maxDescriptionLen) {
		return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: "description", Msg: "The description must be UTF-8 text of at most 100000 characters"}
	}
	if in.PingOffsets != nil {
		seen := map[int64]bool{}
		ch.pings = []int64{}
		for _, m := range *in.PingOffsets {
			if m < 0 || m > maxPingOffset {
				return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: "pingOffsets", Msg: "A ping offset is a number of minutes from 0 to 527040 before the deadline"}
			}
			if !seen[m] {
				seen[m] = true
				ch.pings = append(ch.pings, m)
			}
		}
		sort.Slice(ch.pings, func(i, j int) bool { return ch.pings[i] < ch.pings[j] })
		if len(ch.pings) > maxPingOffsets {
			return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: "pingOffsets", Msg: "At most 10 ping offsets"}
		}
	}
	if in.ColorID != nil && *in.ColorID != "" {
		n, ok := field.AsInt(*in.ColorID)
		if !ok || n < 1 || n > maxColorID {
			return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: "colorId", Msg: "colorId is a colour number from 1 to 8"}
		}
	}
	return ch, nil
}

// checkReferences checks, inside the unit, the users and activities the input names.
func (s *Service) checkReferences(u *crm.Unit, in ToDoInput) error {
	if in.ResponsibleID != nil {
		ok, err := s.crm.UserExists(u.Ctx(), *in.ResponsibleID)
		if err != nil {
			return err
		}
		if !ok {
			return &crm.Error{Kind: crm.ErrInvalidArg, Field: "responsibleId", Msg: fmt.Sprintf("The responsible user %d does not exist or is inactive", *in.ResponsibleID)}
		}
	}
	if in.ParentActivityID != nil && *in.ParentActivityID != 0 {
		p, err := u.Tx().Activity(u.Ctx(), *in.ParentActivityID)
		if isNotFound(err) {
			return &crm.Error{Kind: crm.ErrItemNotFound, Field: "parentActivityId", Msg: fmt.Sprintf("The parent activity %d does not exist", *in.ParentActivityID)}
		}
		if err != nil {
			return err
		}
		if p.Completed {
			return &crm.Error{Kind: crm.ErrParentActivity, Field: "parentActivityId", Msg: "A to-do cannot be scheduled for a completed activity"}
		}
	}
	return nil
}

// apply writes a checked change onto a to-do and reports whether it completed it.
func (ch *toDoChange) apply(a *Activity) (completedNow bool, err error) {
	in := ch.in
	if in.ParentActivityID != nil && *in.ParentActivityID == a.ID && a.ID != 0 {
		return false, &crm.Error{Kind: crm.ErrInvalidArg, Field: "parentActivityId", Msg: "A to-do cannot follow up itself"}
	}
	if in.Title != nil {
		a.Subject = *in.Title
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.Deadline != nil {
		a.Deadline = in.Deadline.Truncate(time.Second)
	}
	if in.ResponsibleID != nil {
		a.ResponsibleID = *in.ResponsibleID
	}
	if in.ParentActivityID != nil {
		a.ParentActivityID = *in.ParentActivityID
	}
	if in.PingOffsets != nil {
		a.PingOffsets = ch.pings
	}
	if in.ColorID != nil {
		a.ColorID = strings.TrimSpace(*in.ColorID)
	}
	if in.Completed != nil {
		completedNow = *in.Completed && !a.Completed
		a.Completed = *in.Completed
		a.Status = StatusPending
		if a.Completed {
			a.Status = StatusDone
		}
	}
	return completedNow, nil
}

// changeOf is the Change of an activity.
func changeOf(kind change.Kind, a *Activity) change.Change {
	o := a.Owner
	return change.Change{Entity: change.Activity, Kind: kind, EntityTypeID: o.EntityTypeID, ID: a.ID, Owner: &o}
}

// AddToDo adds a to-do to an item and returns its id.
func (s *Service) AddToDo(ctx context.Context, actor access.Actor, o crm.Owner, in ToDoInput) (int64, error) {
	if in.Deadline == nil {
		return 0, &crm.Error{Kind: crm.ErrMissingParam, Field: "deadline", Msg: "A to-do needs a deadline"}
	}
	ch, err := check(in)
	if err != nil {
		return 0, err
	}
	if err := s.checkOwner(ctx, actor, o, access.ActCreate); err != nil {
		return 0, err
	}
	var id int64
	err = s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		if err := s.checkReferences(u, in); err != nil {
			return err
		}
		a := &Activity{TypeID: TypeProvider, ProviderID: ProviderToDo, Status: StatusPending, ResponsibleID: actor.UserID,
			Priority: priorityMid, AuthorID: actor.UserID, EditorID: actor.UserID, Created: u.Now(), LastUpdated: u.Now(),
			PingOffsets: []int64{}, Owner: o}
		if _, err := ch.apply(a); err != nil {
			return err
		}
		rec := a.record()
		if err := u.Tx().InsertActivity(u.Ctx(), rec); err != nil {
			return err
		}
		a.ID = rec.ID
		if _, err := u.Tx().BindActivity(u.Ctx(), a.ID, binding(o)); err != nil {
			return err
		}
		tid, err := s.timeline.Record(u, KindToDo, o, entryData(a), nil)
		if err != nil {
			return err
		}
		a.timelineID, id = tid, a.ID
		if err := u.Tx().UpdateActivity(u.Ctx(), a.record()); err != nil {
			return err
		}
		return u.Emit(changeOf(change.Added, a))
	})
	return id, err
}

// entryData is what the to-do's timeline entry shows.
func entryData(a *Activity) jsonx.Map {
	return jsonx.Map{{K: "activityId", V: a.ID}, {K: "title", V: a.Subject},
		{K: "deadline", V: field.FormatWireTime(a.Deadline)}, {K: "responsibleId", V: a.ResponsibleID}}
}

// UpdateToDo changes a to-do seen from one of its items. A completed to-do is not
// edited.
func (s *Service) UpdateToDo(ctx context.Context, actor access.Actor, id int64, o crm.Owner, in ToDoInput) error {
	if err := s.checkOwner(ctx, actor, o, access.ActUpdate); err != nil {
		return err
	}
	return s.update(ctx, actor, id, &o, in)
}

// Update changes an activity; it may complete or reopen it.
func (s *Service) Update(ctx context.Context, actor access.Actor, id int64, in ToDoInput) error {
	return s.update(ctx, actor, id, nil, in)
}

func (s *Service) update(ctx context.Context, actor access.Actor, id int64, seenFrom *crm.Owner, in ToDoInput) error {
	if _, err := s.read(ctx, id); err != nil {
		return err
	}
	ch, err := check(in)
	if err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		a, err := lock(u, id)
		if err != nil {
			return err
		}
		if err := s.crm.Allow(actor, access.ActUpdate, access.Resource{EntityTypeID: a.Owner.EntityTypeID, Kind: "activity"}); err != nil {
			return err
		}
		if seenFrom != nil {
			if ok, err := u.Tx().ActivityBound(u.Ctx(), id, binding(*seenFrom)); err != nil || !ok {
				if err == nil {
					err = crm.NewError(crm.ErrItemNotFound, "The activity %d is not bound to %s %d", id, timeline.EntityTypeName(seenFrom.EntityTypeID), seenFrom.ID)
				}
				return err
			}
			if a.Completed {
				return crm.NewError(crm.ErrCompletedToDo, "The to-do %d is completed and cannot be changed", id)
			}
		}
		if err := s.checkReferences(u, in); err != nil {
			return err
		}
		completedNow, err := ch.apply(a)
		if err != nil {
			return err
		}
		a.EditorID, a.LastUpdated = actor.UserID, u.Now()
		if err := u.Tx().UpdateActivity(u.Ctx(), a.record()); err != nil {
			return err
		}
		if a.timelineID != 0 {
			if err := timeline.UpdateEntryData(u, a.timelineID, entryData(a)); err != nil {
				return err
			}
		}
		if completedNow {
			if err := s.recordEntry(u, a, KindToDoCompleted, jsonx.Map{{K: "activityId", V: a.ID}, {K: "title", V: a.Subject}}); err != nil {
				return err
			}
		}
		return u.Emit(changeOf(change.Updated, a))
	})
}

// recordEntry writes an entry about an activity on its owner's timeline (and the
// owner's parents') and on every other item it is bound to.
func (s *Service) recordEntry(u *crm.Unit, a *Activity, kind string, data jsonx.Map) error {
	tid, err := s.timeline.Record(u, kind, a.Owner, data, nil)
	if err != nil {
		return err
	}
	bindings, err := u.Tx().ActivityBindings(u.Ctx(), a.ID)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if err := u.Tx().BindTimelineEntry(u.Ctx(), tid, store.TimelineBinding(b)); err != nil {
			return err
		}
	}
	return nil
}

// lock reads an activity for change inside the unit.
func lock(u *crm.Unit, id int64) (*Activity, error) {
	r, err := u.Tx().LockActivity(u.Ctx(), id)
	if isNotFound(err) {
		return nil, crm.NewError(crm.ErrItemNotFound, "Activity %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return fromRecord(r), nil
}

// read reads an activity.
func (s *Service) read(ctx context.Context, id int64) (*Activity, error) {
	if id <= 0 {
		return nil, crm.NewError(crm.ErrItemNotFound, "Activity %d not found", id)
	}
	r, err := s.st.Activity(ctx, id)
	if isNotFound(err) {
		return nil, crm.NewError(crm.ErrItemNotFound, "Activity %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	return fromRecord(r), nil
}

// Get reads an activity with its bindings.
func (s *Service) Get(ctx context.Context, actor access.Actor, id int64) (*Activity, error) {
	a, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := s.crm.Allow(actor, access.ActRead, access.Resource{EntityTypeID: a.Owner.EntityTypeID, Kind: "activity"}); err != nil {
		return nil, err
	}
	bindings, err := s.st.ActivityBindings(ctx, id)
	if err != nil {
		return nil, err
	}
	a.Bindings = owners(bindings)
	return a, nil
}

// Query is a page of activities: a filter over QueryFields, activities bound to any of
// Bound (EntityID 0 matches every item of the type), an order (by default startTime).
type Query struct {
	Where   query.Group
	Bound   []crm.Owner
	Order   []query.Order
	Offset  int
	NoCount bool
}

// List reads a page of activities, 50 a page.
func (s *Service) List(ctx context.Context, actor access.Actor, q Query) ([]*Activity, int, error) {
	if err := s.crm.Allow(actor, access.ActRead, access.Resource{Kind: "activity"}); err != nil {
		return nil, 0, err
	}
	if len(q.Bound) > MaxBindings {
		return nil, 0, crm.NewError(crm.ErrInvalidArg, "Invalid filter: at most %d BINDINGS", MaxBindings)
	}
	cols := QueryFields()
	order := q.Order
	if len(order) == 0 {
		order = []query.Order{{Field: &cols[6]}} // startTime
	}
	order = append(order[:len(order):len(order)], query.Order{Field: &cols[0]})
	matches := make([]store.BindingMatch, len(q.Bound))
	for i, b := range q.Bound {
		matches[i] = store.BindingMatch{EntityTypeID: b.EntityTypeID, EntityID: b.ID}
	}
	recs, err := s.st.ListActivities(ctx, q.Where, matches, order, store.Page{Limit: crm.PageSize, Offset: max(q.Offset, 0)})
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	bindings, err := s.st.ActivityBindingsOf(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Activity, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(r)
		out[i].Bindings = owners(bindings[r.ID])
	}
	total := -1
	if !q.NoCount {
		if total, err = s.st.CountActivities(ctx, q.Where, matches); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// Delete removes an activity, its bindings, notes and timeline entry.
func (s *Service) Delete(ctx context.Context, actor access.Actor, id int64) error {
	if _, err := s.read(ctx, id); err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		a, err := lock(u, id)
		if err != nil {
			return err
		}
		if err := s.crm.Allow(actor, access.ActDelete, access.Resource{EntityTypeID: a.Owner.EntityTypeID, Kind: "activity"}); err != nil {
			return err
		}
		return remove(u, a)
	})
}

// remove deletes an activity inside the unit. Its to-do entry goes with it (it stands
// for the to-do on the timeline); completion entries stay as history.
func remove(u *crm.Unit, a *Activity) error {
	if err := u.Tx().DeleteActivity(u.Ctx(), a.ID); err != nil {
		return err
	}
	if a.timelineID != 0 {
		if err := u.Tx().DeleteTimelineEntry(u.Ctx(), a.timelineID); err != nil && !isNotFound(err) {
			return err
		}
	}
	return u.Emit(changeOf(change.Deleted, a))
}

// checkOwner refuses a call about an item that does not exist, after the access step.
func (s *Service) checkOwner(ctx context.Context, actor access.Actor, o crm.Owner, act access.Action) error {
	if _, err := s.crm.ItemType(ctx, actor, o.EntityTypeID); err != nil {
		if crm.KindOf(err) == crm.ErrAccessDenied {
			return err
		}
		return crm.NewError(crm.ErrOwnerNotFound, "Owner entity type %d is not supported", o.EntityTypeID)
	}
	if err := s.crm.Allow(actor, act, access.Resource{EntityTypeID: o.EntityTypeID, Kind: "activity"}); err != nil {
		return err
	}
	ok, err := s.crm.ItemExists(ctx, o.EntityTypeID, o.ID)
	if err != nil {
		return err
	}
	if !ok {
		return crm.NewError(crm.ErrOwnerNotFound, "The item %s %d does not exist", timeline.EntityTypeName(o.EntityTypeID), o.ID)
	}
	return nil
}
