package crm

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Activities (spec automation §3.6): to-dos on CRM items. A to-do is owned by the item
// it was added to and bound to it and to any item it is added to later; each binding
// puts its timeline entry on that item's timeline. Every change is one transaction with
// its timeline entries and its outbox row.

// To-do constants, as Bitrix24 spells them.
const (
	ActivityTypeProvider = 6          // TYPE_ID of provider activities, to-dos among them
	ProviderToDo         = "CRM_TODO" // PROVIDER_ID of universal activities
	activityPending      = 1          // STATUS
	activityCompleted    = 2
	priorityMedium       = 2 // PRIORITY: REST gives to-dos no say in it
)

// Limits of a to-do's values: what the UI can show, not what a database can hold.
const (
	maxActivityBindings = 100 // per activity (spec §3.6)
	maxSubjectLength    = 255 // characters
	maxPingOffsets      = 10
	maxPingOffset       = 60 * 24 * 366 // minutes: a reminder at most a year ahead
	maxColorID          = 8             // colours 1…7 and 8, the default
)

// Timeline entry kinds of to-dos.
const (
	EntryToDo          = "todo"           // a to-do was added: {activityId, title, deadline, responsibleId}; kept current
	EntryToDoCompleted = "todo_completed" // a to-do was completed: {activityId, title}
)

// Outbox topics of activity events, as Bitrix24 names them.
const (
	eventActivityAdd    = "onCrmActivityAdd"
	eventActivityUpdate = "onCrmActivityUpdate"
	eventActivityDelete = "onCrmActivityDelete"
)

// Activity is an activity with the items it is bound to.
type Activity struct {
	*store.ActivityRecord
	Bindings []store.ActivityBinding
}

// ToDoInput is what a call sets on a to-do; nil leaves a value as it is.
type ToDoInput struct {
	Title, Description, ColorID *string
	Deadline                    *string // parsed here, so a bad spelling is WRONG_DATETIME_FORMAT
	ResponsibleID               *int64
	ParentActivityID            *int64 // 0 clears it
	PingOffsets                 *[]int64
	Completed                   *bool
}

// toDoChange is a validated ToDoInput.
type toDoChange struct {
	in       ToDoInput
	deadline time.Time
	pings    []int64
}

// checkToDoInput validates everything that does not depend on the activity itself,
// before any transaction: formats, lengths, the responsible user, the parent activity.
func (s *Service) checkToDoInput(ctx context.Context, in ToDoInput) (*toDoChange, error) {
	ch := &toDoChange{in: in}
	if in.Title != nil {
		if !utf8.ValidString(*in.Title) || utf8.RuneCountInString(*in.Title) > maxSubjectLength {
			return nil, &Error{Kind: ErrInvalidArg, Field: "title", Msg: "The title must be UTF-8 text of at most 255 characters"}
		}
	}
	if in.Description != nil {
		if !utf8.ValidString(*in.Description) || utf8.RuneCountInString(*in.Description) > maxCommentLength {
			return nil, &Error{Kind: ErrInvalidArg, Field: "description", Msg: "The description must be UTF-8 text of at most 100000 characters"}
		}
	}
	if in.Deadline != nil {
		raw := strings.TrimSpace(*in.Deadline)
		if raw == "" {
			return nil, &Error{Kind: ErrMissingParam, Field: "deadline", Msg: "A to-do needs a deadline"}
		}
		t, ok := field.ParseTime(raw)
		if !ok {
			return nil, &Error{Kind: ErrWrongDatetime, Field: "deadline",
				Msg: "Wrong deadline " + quote(raw) + ": expected a date and time such as 2025-03-01T15:00:00+03:00"}
		}
		ch.deadline = t.Truncate(time.Second)
	}
	if in.ResponsibleID != nil {
		ok, err := s.users.exists(ctx, *in.ResponsibleID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &Error{Kind: ErrInvalidArg, Field: "responsibleId", Msg: fmt.Sprintf("The responsible user %d does not exist or is inactive", *in.ResponsibleID)}
		}
	}
	if in.ParentActivityID != nil && *in.ParentActivityID != 0 {
		p, err := s.st.Activity(ctx, *in.ParentActivityID)
		if isNotFound(err) {
			return nil, &Error{Kind: ErrItemNotFound, Field: "parentActivityId", Msg: fmt.Sprintf("The parent activity %d does not exist", *in.ParentActivityID)}
		}
		if err != nil {
			return nil, err
		}
		if p.Completed {
			return nil, &Error{Kind: ErrParentActivity, Field: "parentActivityId", Msg: "A to-do cannot be scheduled for a completed activity"}
		}
	}
	if in.PingOffsets != nil {
		seen := map[int64]bool{}
		for _, m := range *in.PingOffsets {
			if m < 0 || m > maxPingOffset {
				return nil, &Error{Kind: ErrInvalidArg, Field: "pingOffsets", Msg: "A ping offset is a number of minutes from 0 to 527040 before the deadline"}
			}
			if !seen[m] {
				seen[m] = true
				ch.pings = append(ch.pings, m)
			}
		}
		sort.Slice(ch.pings, func(i, j int) bool { return ch.pings[i] < ch.pings[j] })
		if len(ch.pings) > maxPingOffsets {
			return nil, &Error{Kind: ErrInvalidArg, Field: "pingOffsets", Msg: "At most 10 ping offsets"}
		}
		if ch.pings == nil {
			ch.pings = []int64{}
		}
	}
	if in.ColorID != nil && *in.ColorID != "" {
		n, ok := params.Int(*in.ColorID)
		if !ok || n < 1 || n > maxColorID {
			return nil, &Error{Kind: ErrInvalidArg, Field: "colorId", Msg: "colorId is a colour number from 1 to 8"}
		}
	}
	return ch, nil
}

// apply writes a validated change onto a to-do and reports whether it completed it.
func (ch *toDoChange) apply(a *store.ActivityRecord) (completedNow bool, err error) {
	in := ch.in
	if in.ParentActivityID != nil && *in.ParentActivityID == a.ID && a.ID != 0 {
		return false, &Error{Kind: ErrInvalidArg, Field: "parentActivityId", Msg: "A to-do cannot follow up itself"}
	}
	if in.Title != nil {
		a.Subject = *in.Title
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.Deadline != nil {
		a.Deadline = ch.deadline
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
		a.Status = activityPending
		if a.Completed {
			a.Status = activityCompleted
		}
	}
	return completedNow, nil
}

// AddToDo adds a to-do to an item and returns its id.
func (s *Service) AddToDo(ctx context.Context, actor access.Actor, o Owner, in ToDoInput) (int64, error) {
	if in.Deadline == nil {
		return 0, &Error{Kind: ErrMissingParam, Field: "deadline", Msg: "A to-do needs a deadline"}
	}
	if err := s.checkOwner(ctx, o); err != nil {
		return 0, err
	}
	ch, err := s.checkToDoInput(ctx, in)
	if err != nil {
		return 0, err
	}
	now := s.Now()
	a := &store.ActivityRecord{TypeID: ActivityTypeProvider, ProviderID: ProviderToDo, Status: activityPending,
		ResponsibleID: actor.UserID, Priority: priorityMedium, AuthorID: actor.UserID, EditorID: actor.UserID,
		Created: now, LastUpdated: now, PingOffsets: []int64{}, OwnerTypeID: o.EntityTypeID, OwnerID: o.ID}
	if _, err := ch.apply(a); err != nil {
		return 0, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertActivity(ctx, a); err != nil {
			return err
		}
		if _, err := tx.BindActivity(ctx, a.ID, store.ActivityBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}); err != nil {
			return err
		}
		tid, err := s.RecordEntry(ctx, tx, actor, EntryToDo, o, toDoEntryData(a), nil)
		if err != nil {
			return err
		}
		a.TimelineID = tid
		if err := tx.UpdateActivity(ctx, a); err != nil {
			return err
		}
		return activityEvent(ctx, tx, eventActivityAdd, a)
	})
	if err != nil {
		return 0, err
	}
	return a.ID, nil
}

// toDoEntryData is what the to-do's timeline entry shows.
func toDoEntryData(a *store.ActivityRecord) jsonx.Map {
	return jsonx.Map{{K: "activityId", V: a.ID}, {K: "title", V: a.Subject}, {K: "deadline", V: wireTime(a.Deadline)},
		{K: "responsibleId", V: a.ResponsibleID}}
}

// activityEvent records an activity event for delivery after commit, with the data
// Bitrix24 sends: {"FIELDS": {"ID": "<id>"}} (the id as a string, as on the wire).
func activityEvent(ctx context.Context, tx *store.Tx, topic string, a *store.ActivityRecord) error {
	b, err := jsonx.Append(nil, jsonx.Map{{K: "FIELDS", V: jsonx.Map{{K: "ID", V: strconv.FormatInt(a.ID, 10)}}}})
	if err != nil {
		return err
	}
	return tx.InsertOutbox(ctx, topic, a.OwnerTypeID, a.OwnerID, string(b))
}

// UpdateToDo changes a to-do seen from one of its items (crm.activity.todo.update and
// its single-value siblings). A completed to-do is not edited.
func (s *Service) UpdateToDo(ctx context.Context, actor access.Actor, id int64, o Owner, in ToDoInput) error {
	if err := s.checkOwner(ctx, o); err != nil {
		return err
	}
	return s.updateActivity(ctx, actor, id, &o, in)
}

// UpdateActivity changes an activity (crm.activity.update); it may complete or reopen
// it.
func (s *Service) UpdateActivity(ctx context.Context, actor access.Actor, id int64, in ToDoInput) error {
	return s.updateActivity(ctx, actor, id, nil, in)
}

func (s *Service) updateActivity(ctx context.Context, actor access.Actor, id int64, seenFrom *Owner, in ToDoInput) error {
	if _, err := s.activity(ctx, id); err != nil {
		return err
	}
	ch, err := s.checkToDoInput(ctx, in)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		a, err := lockActivity(ctx, tx, id)
		if err != nil {
			return err
		}
		if seenFrom != nil {
			b := store.ActivityBinding{EntityTypeID: seenFrom.EntityTypeID, EntityID: seenFrom.ID}
			if ok, err := tx.ActivityBound(ctx, id, b); err != nil || !ok {
				if err == nil {
					err = newErr(ErrItemNotFound, "The activity %d is not bound to %s %d", id, EntityTypeName(b.EntityTypeID), b.EntityID)
				}
				return err
			}
			if a.Completed {
				return newErr(ErrCompletedToDo, "The to-do %d is completed and cannot be changed", id)
			}
		}
		completedNow, err := ch.apply(a)
		if err != nil {
			return err
		}
		a.EditorID, a.LastUpdated = actor.UserID, s.Now()
		if err := tx.UpdateActivity(ctx, a); err != nil {
			return err
		}
		if err := refreshToDoEntry(ctx, tx, a); err != nil {
			return err
		}
		if completedNow {
			if err := s.recordActivityEntry(ctx, tx, actor, a, EntryToDoCompleted,
				jsonx.Map{{K: "activityId", V: a.ID}, {K: "title", V: a.Subject}}); err != nil {
				return err
			}
		}
		return activityEvent(ctx, tx, eventActivityUpdate, a)
	})
}

// refreshToDoEntry keeps the to-do's timeline entry showing its current title,
// deadline and responsible user.
func refreshToDoEntry(ctx context.Context, tx *store.Tx, a *store.ActivityRecord) error {
	if a.TimelineID == 0 {
		return nil
	}
	b, err := jsonx.Append(nil, toDoEntryData(a))
	if err != nil {
		return err
	}
	return tx.UpdateTimelineEntry(ctx, &store.TimelineEntry{ID: a.TimelineID, Data: string(b), Files: "[]"})
}

// recordActivityEntry writes a timeline entry about an activity, on its owner's
// timeline (and the owner's parents') and on every other item it is bound to.
func (s *Service) recordActivityEntry(ctx context.Context, tx *store.Tx, actor access.Actor, a *store.ActivityRecord, kind string, data jsonx.Map) error {
	tid, err := s.RecordEntry(ctx, tx, actor, kind, Owner{a.OwnerTypeID, a.OwnerID}, data, nil)
	if err != nil {
		return err
	}
	bindings, err := tx.ActivityBindings(ctx, a.ID)
	if err != nil {
		return err
	}
	for _, b := range bindings {
		if err := tx.BindTimelineEntry(ctx, tid, store.TimelineBinding(b)); err != nil {
			return err
		}
	}
	return nil
}

// lockActivity reads an activity for change inside tx.
func lockActivity(ctx context.Context, tx *store.Tx, id int64) (*store.ActivityRecord, error) {
	a, err := tx.LockActivity(ctx, id)
	if isNotFound(err) {
		return nil, newErr(ErrItemNotFound, "Activity %d not found", id)
	}
	return a, err
}

// activity reads an activity.
func (s *Service) activity(ctx context.Context, id int64) (*store.ActivityRecord, error) {
	if id <= 0 {
		return nil, newErr(ErrItemNotFound, "Activity %d not found", id)
	}
	a, err := s.st.Activity(ctx, id)
	if isNotFound(err) {
		return nil, newErr(ErrItemNotFound, "Activity %d not found", id)
	}
	return a, err
}

// GetActivity reads an activity with its bindings.
func (s *Service) GetActivity(ctx context.Context, actor access.Actor, id int64) (*Activity, error) {
	a, err := s.activity(ctx, id)
	if err != nil {
		return nil, err
	}
	bindings, err := s.st.ActivityBindings(ctx, id)
	if err != nil {
		return nil, err
	}
	return &Activity{ActivityRecord: a, Bindings: bindings}, nil
}

// ListActivities answers crm.activity.list: the standard filter plus BINDINGS (a list
// of {OWNER_TYPE_ID, OWNER_ID?}, any of which an activity's bindings must match),
// order (by default START_TIME ascending), 50 a page, start=-1 without counting.
func (s *Service) ListActivities(ctx context.Context, actor access.Actor, filter, order any, start int64) ([]*Activity, int, error) {
	filter, matches, err := bindingFilter(filter)
	if err != nil {
		return nil, 0, err
	}
	where, ord, err := parseCatalogQuery(store.ActivityColumns(), "ID", filter, order)
	if err != nil {
		return nil, 0, err
	}
	if len(ord) == 1 { // no order given: the ID tie-breaker alone
		for _, f := range store.ActivityColumns() {
			if f.Name == "START_TIME" {
				ord = append([]query.Order{{Field: &f}}, ord...)
			}
		}
	}
	recs, err := s.st.ListActivities(ctx, where, matches, ord, store.Page{Limit: PageSize, Offset: int(max(start, 0))})
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
		out[i] = &Activity{ActivityRecord: r, Bindings: bindings[r.ID]}
	}
	total := -1
	if start != -1 {
		if total, err = s.st.CountActivities(ctx, where, matches); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// bindingFilter takes the BINDINGS key out of a crm.activity.list filter.
func bindingFilter(filter any) (any, []store.BindingMatch, error) {
	o, ok := filter.(*params.Object)
	if !ok {
		return filter, nil, nil
	}
	rest := params.NewObject()
	var matches []store.BindingMatch
	bad := func() error {
		return newErr(ErrInvalidArg, "Invalid filter: BINDINGS is a list of {OWNER_TYPE_ID, OWNER_ID} objects")
	}
	for _, k := range o.Keys() {
		v, _ := o.Get(k)
		if !strings.EqualFold(k, "BINDINGS") {
			rest.Set(k, v)
			continue
		}
		_, list, isList := params.Entries(v)
		if !isList || len(list) == 0 {
			return nil, nil, bad()
		}
		for _, e := range list {
			b, isObj := e.(*params.Object)
			if !isObj {
				return nil, nil, bad()
			}
			tv, _ := params.Lookup(b, "OWNER_TYPE_ID")
			etid, ok := params.Int(tv)
			if !ok || etid <= 0 {
				return nil, nil, bad()
			}
			m := store.BindingMatch{EntityTypeID: etid}
			if iv, given := params.Lookup(b, "OWNER_ID"); given && iv != nil && iv != "" {
				if m.EntityID, ok = params.Int(iv); !ok || m.EntityID <= 0 {
					return nil, nil, bad()
				}
			}
			matches = append(matches, m)
		}
		if len(matches) > maxActivityBindings {
			return nil, nil, newErr(ErrInvalidArg, "Invalid filter: at most %d BINDINGS", maxActivityBindings)
		}
	}
	return rest, matches, nil
}

// DeleteActivity removes an activity, its bindings, notes and timeline entry.
func (s *Service) DeleteActivity(ctx context.Context, actor access.Actor, id int64) error {
	if _, err := s.activity(ctx, id); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		a, err := lockActivity(ctx, tx, id)
		if err != nil {
			return err
		}
		return deleteActivity(ctx, tx, a)
	})
}

// deleteActivity removes an activity inside tx. Its to-do entry goes with it (it
// stands for the to-do on the timeline); completion entries stay as history.
func deleteActivity(ctx context.Context, tx *store.Tx, a *store.ActivityRecord) error {
	if err := tx.DeleteActivity(ctx, a.ID); err != nil {
		return err
	}
	if a.TimelineID != 0 {
		if err := tx.DeleteTimelineEntry(ctx, a.TimelineID); err != nil && !isNotFound(err) {
			return err
		}
	}
	return activityEvent(ctx, tx, eventActivityDelete, a)
}

func quote(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return `"` + s + `"`
}
