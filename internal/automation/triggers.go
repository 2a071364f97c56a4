package automation

import (
	"context"
	"errors"
	"regexp"
	"slices"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// Triggers move an item to their stage when their event happens to it. Events inside
// the CRM (creation, a field change, a comment, a completed task, a child reaching a
// final stage) are read from the outbox by triggerReader, so a trigger fires once per
// committed change even across crashes; webhook and application triggers fire on a
// call. When several triggers match, the one whose stage sorts first wins (as in
// Bitrix24). A trigger never moves an item back to an earlier stage unless it says
// allowBackwards.

// triggerReader is the outbox handler of the CRM's own events.
type triggerReader struct{ s *Service }

func (tr *triggerReader) Prepare(ctx context.Context) error {
	_, err := tr.s.library(ctx, tr.s.st)
	return err
}

// Actor: a trigger moves the item for the person whose change fired it, one automated
// step further, so that loops through triggers are cut like loops through robots.
func (tr *triggerReader) Actor(c *change.Change) access.Actor {
	uid := c.UserID
	if uid == 0 {
		uid = access.System.UserID
	}
	return access.Actor{UserID: uid, IsAdmin: true, Origin: access.OriginTrigger, Depth: c.Depth + 1}
}

func (tr *triggerReader) Wants(c *change.Change) bool {
	l := tr.s.lib.Load()
	if l == nil || l.gen != tr.s.libGen.Load() {
		return true // not known yet: let Handle look
	}
	switch c.Entity {
	case change.Item:
		types := l.triggers[c.EntityTypeID]
		return (c.Kind == change.Added && types[TriggerCreated]) ||
			(c.Kind == change.Updated && types[TriggerFieldChanged] && len(c.Changed) > 0) ||
			(reachedFinal(c) && l.childOf[c.EntityTypeID])
	case change.Comment:
		return c.Kind == change.Added && c.Owner != nil && l.triggers[c.Owner.EntityTypeID][TriggerCommentAdded]
	case change.Task:
		return taskCompleted(c) && l.uses(TriggerTaskCompleted)
	}
	return false
}

// WantsHeader passes over, undecoded, the changes of items of types without triggers
// (and that are nobody's child), and comments and tasks while no trigger listens to them.
func (tr *triggerReader) WantsHeader(h *change.Change) bool {
	l := tr.s.lib.Load()
	if l == nil || l.gen != tr.s.libGen.Load() {
		return true
	}
	switch h.Entity {
	case change.Item:
		return len(l.triggers[h.EntityTypeID]) > 0 || l.childOf[h.EntityTypeID]
	case change.Comment:
		return h.Kind == change.Added && l.uses(TriggerCommentAdded)
	case change.Task:
		return h.Kind == change.Updated && l.uses(TriggerTaskCompleted)
	}
	return false
}

func reachedFinal(c *change.Change) bool {
	return c.Kind != change.Deleted && c.Stage != nil && (c.Stage.Semantics == "S" || c.Stage.Semantics == "F")
}

// taskCompleted reads a task change: its status became completed (5).
func taskCompleted(c *change.Change) bool {
	if c.Kind != change.Updated {
		return false
	}
	after, _ := intParam(c.After["status"])
	before, _ := intParam(c.Before["status"])
	return after == 5 && before != 5
}

func (tr *triggerReader) Handle(u *crm.Unit, c *change.Change) error {
	s := tr.s
	switch c.Entity {
	case change.Item:
		if c.Kind == change.Added {
			if err := s.fire(u, c.EntityTypeID, c.ID, func(t *Trigger) bool { return t.Type == TriggerCreated }); err != nil {
				return err
			}
		}
		if c.Kind == change.Updated && len(c.Changed) > 0 {
			match := func(t *Trigger) bool {
				if t.Type != TriggerFieldChanged {
					return false
				}
				watched, _ := stringList(t.Params["fields"])
				for _, name := range c.Changed {
					if slices.Contains(watched, name) {
						return true
					}
				}
				return false
			}
			if err := s.fire(u, c.EntityTypeID, c.ID, match); err != nil {
				return err
			}
		}
		if reachedFinal(c) {
			return s.childReached(u, c)
		}
	case change.Comment:
		if c.Owner != nil {
			return s.fire(u, c.Owner.EntityTypeID, c.Owner.ID, func(t *Trigger) bool { return t.Type == TriggerCommentAdded })
		}
	case change.Task:
		rec, err := u.Tx().GetTask(u.Ctx(), c.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, b := range rec.Bindings {
			if err := s.fire(u, b.EntityTypeID, b.EntityID, func(t *Trigger) bool { return t.Type == TriggerTaskCompleted }); err != nil {
				return err
			}
		}
	}
	return nil
}

// childReached fires the childReached triggers of the parents of an item that reached
// a final stage.
func (s *Service) childReached(u *crm.Unit, c *change.Change) error {
	child, err := u.TypeOf(c.EntityTypeID)
	if err != nil {
		return err
	}
	it, err := u.LoadItem(child, c.ID)
	if crm.KindOf(err) == crm.ErrItemNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	l, err := s.library(u.Ctx(), u.Tx())
	if err != nil {
		return err
	}
	for etid, types := range l.triggers {
		if !types[TriggerChildReached] {
			continue
		}
		pid := parentID(child, it, etid)
		if pid == 0 {
			continue
		}
		match := func(t *Trigger) bool {
			want, _ := intParam(t.Params["entityTypeId"])
			sem, _ := t.Params["semantics"].(string)
			return t.Type == TriggerChildReached && want == c.EntityTypeID && sem == c.Stage.Semantics
		}
		if err := s.fire(u, etid, pid, match); err != nil {
			return err
		}
	}
	return nil
}

// Failed: a move a trigger asked for that the domain refused (a field the stage
// requires is empty) is logged; the change is not handled again.
func (tr *triggerReader) Failed(u *crm.Unit, c *change.Change, err error) error {
	tr.s.log.Warn("a trigger's move was refused", "entity", c.Entity, "id", c.ID, "err", err)
	return nil
}

// fire moves an item to the earliest stage of its funnel whose trigger matches and
// whose condition holds, when that is forward (or the trigger allows going back).
func (s *Service) fire(u *crm.Unit, etid, id int64, match func(*Trigger) bool) error {
	t, err := u.TypeOf(etid)
	if crm.KindOf(err) == crm.ErrTypeNotFound {
		return nil
	}
	if err != nil || !supports(t) {
		return err
	}
	it, err := u.LoadItem(t, id)
	if crm.KindOf(err) == crm.ErrItemNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	doc, err := s.documentIn(u, etid, it.CategoryID())
	if err != nil {
		return err
	}
	cur := t.Stage(it.CategoryID(), it.StageID())
	var best *crm.Stage
	for stageID, sa := range doc.Stages {
		target := t.Stage(it.CategoryID(), stageID)
		if sa == nil || target == nil || stageID == it.StageID() {
			continue
		}
		for _, tr := range sa.Triggers {
			if !match(tr) || (!tr.AllowBackwards && cur != nil && before(target, cur)) {
				continue
			}
			if ok, err := holds(t, it, tr.Condition); err != nil || !ok {
				continue
			}
			if best == nil || before(target, best) {
				best = target
			}
		}
	}
	if best == nil {
		return nil
	}
	if u.Actor().Depth > MaxDepth {
		return s.note(u, crm.Owner{EntityTypeID: etid, ID: id}, jsonx.Map{
			{K: "event", V: "loopCut"}, {K: "stageId", V: best.StatusID}, {K: "depth", V: int64(u.Actor().Depth)},
		}, "Automation stopped: a trigger would move the item after too many automated steps in a row, which looks like a loop")
	}
	_, err = u.UpdateItem(etid, id, crm.Patch{crm.FieldStageID: best.StatusID}, crm.WriteOptions{})
	return err
}

// before orders stages as the funnel shows them.
func before(a, b *crm.Stage) bool {
	if a.Sort != b.Sort {
		return a.Sort < b.Sort
	}
	return a.ID < b.ID
}

// FireWebhook is crm.automation.trigger: the webhook triggers of the item's funnel
// with id code (any webhook trigger when code is empty) move it.
func (s *Service) FireWebhook(ctx context.Context, actor access.Actor, etid, id int64, code string) error {
	if err := s.crm.Allow(actor, access.ActUpdate, access.Resource{EntityTypeID: etid}); err != nil {
		return crm.NewError(crm.ErrAccessDenied, "Access denied! There are no permissions to update the entity.")
	}
	return s.crm.Run(ctx, actor.Caused(access.OriginTrigger), func(u *crm.Unit) error {
		t, err := u.TypeOf(etid)
		if err == nil {
			_, err = u.LoadItem(t, id)
		}
		if k := crm.KindOf(err); k == crm.ErrItemNotFound || k == crm.ErrTypeNotFound {
			return crm.NewError(crm.ErrItemNotFound, "Target is not found.")
		}
		if err != nil {
			return err
		}
		return s.fire(u, etid, id, func(t *Trigger) bool { return t.Type == TriggerWebhook && (code == "" || t.ID == code) })
	})
}

// appTriggerCode is what application trigger codes may hold.
var appTriggerCode = regexp.MustCompile(`^[a-z0-9.\-_]{1,64}$`)

// AppTrigger is a trigger an application registered.
type AppTrigger struct{ Code, Name string }

// AddAppTrigger registers an application trigger, renaming it when its code exists.
func (s *Service) AddAppTrigger(ctx context.Context, actor access.Actor, code, name string) error {
	if !actor.IsAdmin {
		return crm.NewError(crm.ErrAccessDenied, "Access denied! Admin permissions required")
	}
	switch {
	case code == "":
		return crm.NewError(crm.ErrMissingParam, "Empty trigger code!")
	case !appTriggerCode.MatchString(code):
		return crm.NewError(crm.ErrInvalidArg, "Wrong trigger code!")
	case name == "":
		return crm.NewError(crm.ErrMissingParam, "Empty trigger name!")
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		return u.Tx().PutAppTrigger(u.Ctx(), store.AppTrigger{Code: code, Name: name, CreatedBy: actor.UserID, CreatedTime: s.now()})
	})
}

// AppTriggers lists the registered application triggers by code.
func (s *Service) AppTriggers(ctx context.Context, actor access.Actor) ([]AppTrigger, error) {
	if !actor.IsAdmin {
		return nil, crm.NewError(crm.ErrAccessDenied, "Access denied! Admin permissions required")
	}
	recs, err := s.st.AppTriggers(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]AppTrigger, len(recs))
	for i, r := range recs {
		out[i] = AppTrigger{Code: r.Code, Name: r.Name}
	}
	return out, nil
}

// DeleteAppTrigger removes an application trigger.
func (s *Service) DeleteAppTrigger(ctx context.Context, actor access.Actor, code string) error {
	if !actor.IsAdmin {
		return crm.NewError(crm.ErrAccessDenied, "Access denied! Admin permissions required")
	}
	if code == "" {
		return crm.NewError(crm.ErrMissingParam, "Empty trigger code!")
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		found, err := u.Tx().DeleteAppTrigger(u.Ctx(), code)
		if err == nil && !found {
			err = crm.NewError(crm.ErrItemNotFound, "Trigger not found")
		}
		return err
	})
}

// ExecuteAppTrigger is crm.automation.trigger.execute: the app triggers with this code
// placed on the item's funnel move it. Like Bitrix24 it succeeds whether or not a
// trigger moved anything: it only says the event was sent.
func (s *Service) ExecuteAppTrigger(ctx context.Context, actor access.Actor, code string, etid, id int64) error {
	if code == "" {
		return crm.NewError(crm.ErrMissingParam, "Empty trigger code!")
	}
	recs, err := s.st.AppTriggers(ctx)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(recs, func(r store.AppTrigger) bool { return r.Code == code }) {
		return crm.NewError(crm.ErrItemNotFound, "Trigger with code %s is not registered.", code)
	}
	if etid <= 0 {
		return crm.NewError(crm.ErrInvalidArg, "Incorrect parameter OWNER_TYPE_ID.")
	}
	if id <= 0 {
		return crm.NewError(crm.ErrInvalidArg, "Incorrect parameter OWNER_ID.")
	}
	if _, err := s.crm.ItemType(ctx, actor, etid); err != nil {
		return crm.NewError(crm.ErrInvalidArg, "Incorrect parameter OWNER_TYPE_ID.")
	}
	return s.crm.Run(ctx, actor.Caused(access.OriginTrigger), func(u *crm.Unit) error {
		return s.fire(u, etid, id, func(t *Trigger) bool {
			c, _ := t.Params["code"].(string)
			if c == "" {
				c = t.ID
			}
			return t.Type == TriggerApp && c == code
		})
	})
}
