package activity

import (
	"context"
	"errors"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
	"smartcrm/internal/timeline"
)

// Bindings of activities: the items whose timelines show an activity. The owner is
// always one of them; an activity keeps at least one.

func binding(o crm.Owner) store.ActivityBinding {
	return store.ActivityBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}
}

func timelineBinding(o crm.Owner) store.TimelineBinding {
	return store.TimelineBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}
}

func owners(bs []store.ActivityBinding) []crm.Owner {
	out := make([]crm.Owner, len(bs))
	for i, b := range bs {
		out[i] = crm.Owner{EntityTypeID: b.EntityTypeID, ID: b.EntityID}
	}
	return out
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func name(o crm.Owner) string { return timeline.EntityTypeName(o.EntityTypeID) }

// AddBinding binds an activity to one more item; its to-do entry appears on that item's
// timeline.
func (s *Service) AddBinding(ctx context.Context, actor access.Actor, id int64, o crm.Owner) error {
	return s.changeBindings(ctx, actor, id, o, func(u *crm.Unit, a *Activity, bindings []crm.Owner) error {
		for _, b := range bindings {
			if b == o {
				return crm.NewError(crm.ErrAlreadyBound, "The activity %d is already bound to %s %d", id, name(o), o.ID)
			}
		}
		if len(bindings) >= MaxBindings {
			return crm.NewError(crm.ErrLimit, "An activity is bound to at most %d items", MaxBindings)
		}
		if _, err := u.Tx().BindActivity(u.Ctx(), id, binding(o)); err != nil {
			return err
		}
		if a.timelineID != 0 {
			if err := u.Tx().BindTimelineEntry(u.Ctx(), a.timelineID, timelineBinding(o)); err != nil {
				return err
			}
		}
		return u.Emit(changeOf(change.Updated, a))
	})
}

// changeBindings runs a change to the bindings of activity id about item o: the
// activity and the item must exist; fn gets the locked activity and its bindings, in
// the change's unit.
func (s *Service) changeBindings(ctx context.Context, actor access.Actor, id int64, o crm.Owner, fn func(u *crm.Unit, a *Activity, bindings []crm.Owner) error) error {
	if _, err := s.read(ctx, id); err != nil {
		return err
	}
	if err := s.checkOwner(ctx, actor, o, access.ActUpdate); err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		a, err := lock(u, id)
		if err != nil {
			return err
		}
		bindings, err := u.Tx().ActivityBindings(u.Ctx(), id)
		if err != nil {
			return err
		}
		return fn(u, a, owners(bindings))
	})
}

// Bindings lists the items an activity is bound to.
func (s *Service) Bindings(ctx context.Context, actor access.Actor, id int64) ([]crm.Owner, error) {
	a, err := s.Get(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	return a.Bindings, nil
}

// MoveBinding moves an activity from one item to another of the same type (the card's
// "move to another deal"); the owner moves with it when it is the source.
func (s *Service) MoveBinding(ctx context.Context, actor access.Actor, id int64, from, to crm.Owner) error {
	if from.EntityTypeID != to.EntityTypeID {
		return crm.NewError(crm.ErrBindingTypesDiffer, "An activity moves between items of one entity type only")
	}
	if from.ID == to.ID {
		return crm.NewError(crm.ErrBindingSameItem, "The source and the target are the same item")
	}
	return s.changeBindings(ctx, actor, id, to, func(u *crm.Unit, a *Activity, bindings []crm.Owner) error {
		for _, b := range bindings {
			if b == to {
				return crm.NewError(crm.ErrAlreadyBound, "The activity %d is already bound to %s %d", id, name(to), to.ID)
			}
		}
		removed, err := u.Tx().UnbindActivity(u.Ctx(), id, binding(from))
		if err != nil {
			return err
		}
		if !removed {
			return crm.NewError(crm.ErrBindingNotFound, "The activity %d is not bound to %s %d", id, name(from), from.ID)
		}
		if _, err := u.Tx().BindActivity(u.Ctx(), id, binding(to)); err != nil {
			return err
		}
		if a.Owner == from {
			a.Owner = to
			a.EditorID, a.LastUpdated = actor.UserID, u.Now()
			if err := u.Tx().UpdateActivity(u.Ctx(), a.record()); err != nil {
				return err
			}
		}
		if a.timelineID != 0 {
			if _, err := u.Tx().UnbindTimelineEntry(u.Ctx(), a.timelineID, timelineBinding(from)); err != nil {
				return err
			}
			if err := u.Tx().BindTimelineEntry(u.Ctx(), a.timelineID, timelineBinding(to)); err != nil {
				return err
			}
		}
		return u.Emit(changeOf(change.Updated, a))
	})
}

// DeleteBinding unbinds an activity from an item; the last binding stays (delete the
// activity instead). When the owner is unbound, the first remaining item owns it.
func (s *Service) DeleteBinding(ctx context.Context, actor access.Actor, id int64, o crm.Owner) error {
	return s.changeBindings(ctx, actor, id, o, func(u *crm.Unit, a *Activity, bindings []crm.Owner) error {
		found := false
		for _, b := range bindings {
			found = found || b == o
		}
		if !found {
			return crm.NewError(crm.ErrBindingNotFound, "The activity %d is not bound to %s %d", id, name(o), o.ID)
		}
		if len(bindings) == 1 {
			return crm.NewError(crm.ErrLastBinding, "The last binding of an activity cannot be removed; delete the activity instead")
		}
		return unbind(u, a, o, bindings)
	})
}

// unbind removes one of several bindings of a, handing ownership on when the owner
// goes, and takes the to-do entry off that item's timeline.
func unbind(u *crm.Unit, a *Activity, o crm.Owner, bindings []crm.Owner) error {
	if _, err := u.Tx().UnbindActivity(u.Ctx(), a.ID, binding(o)); err != nil {
		return err
	}
	if a.Owner == o {
		for _, b := range bindings {
			if b != o {
				a.Owner = b
				break
			}
		}
		a.EditorID, a.LastUpdated = u.Actor().UserID, u.Now()
		if err := u.Tx().UpdateActivity(u.Ctx(), a.record()); err != nil {
			return err
		}
	}
	if a.timelineID != 0 {
		if _, err := u.Tx().UnbindTimelineEntry(u.Ctx(), a.timelineID, timelineBinding(o)); err != nil {
			return err
		}
	}
	return u.Emit(changeOf(change.Updated, a))
}

// ItemChanged implements crm.ItemListener: when an item is deleted, activities bound to
// it alone are deleted, the others lose that binding, in the deletion's transaction.
func (s *Service) ItemChanged(u *crm.Unit, ev *crm.ItemEvent) error {
	if ev.Kind != change.Deleted {
		return nil
	}
	o := crm.Owner{EntityTypeID: ev.Type.EntityTypeID, ID: ev.After.ID}
	ids, err := u.Tx().ActivitiesBoundTo(u.Ctx(), binding(o))
	if err != nil {
		return err
	}
	for _, id := range ids {
		a, err := lock(u, id)
		if err != nil {
			return err
		}
		bindings, err := u.Tx().ActivityBindings(u.Ctx(), id)
		if err != nil {
			return err
		}
		if len(bindings) <= 1 {
			err = remove(u, a)
		} else {
			err = unbind(u, a, o, owners(bindings))
		}
		if err != nil {
			return err
		}
	}
	return nil
}
