package crm

import (
	"context"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/store"
)

// Bindings of activities (crm.activity.binding.*): the items whose timelines show an
// activity. The owner is always one of them; an activity keeps at least one.

func activityBinding(o Owner) store.ActivityBinding {
	return store.ActivityBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}
}

func timelineBinding(o Owner) store.TimelineBinding {
	return store.TimelineBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}
}

// AddActivityBinding binds an activity to one more item; its to-do entry appears on
// that item's timeline.
func (s *Service) AddActivityBinding(ctx context.Context, actor access.Actor, id int64, o Owner) error {
	return s.changeActivityBindings(ctx, id, o, func(tx *store.Tx, a *store.ActivityRecord, bindings []store.ActivityBinding) error {
		for _, b := range bindings {
			if b == activityBinding(o) {
				return newErr(ErrAlreadyBound, "The activity %d is already bound to %s %d", id, EntityTypeName(o.EntityTypeID), o.ID)
			}
		}
		if len(bindings) >= maxActivityBindings {
			return newErr(ErrLimit, "An activity is bound to at most %d items", maxActivityBindings)
		}
		if _, err := tx.BindActivity(ctx, id, activityBinding(o)); err != nil {
			return err
		}
		if a.TimelineID != 0 {
			if err := tx.BindTimelineEntry(ctx, a.TimelineID, timelineBinding(o)); err != nil {
				return err
			}
		}
		return activityEvent(ctx, tx, eventActivityUpdate, a)
	})
}

// changeActivityBindings runs a change to the bindings of activity id about item o: the
// activity and the item must exist; fn gets the locked activity and its bindings, in
// the change's transaction.
func (s *Service) changeActivityBindings(ctx context.Context, id int64, o Owner, fn func(tx *store.Tx, a *store.ActivityRecord, bindings []store.ActivityBinding) error) error {
	if _, err := s.activity(ctx, id); err != nil {
		return err
	}
	if err := s.checkOwner(ctx, o); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		a, err := lockActivity(ctx, tx, id)
		if err != nil {
			return err
		}
		bindings, err := tx.ActivityBindings(ctx, id)
		if err != nil {
			return err
		}
		return fn(tx, a, bindings)
	})
}

// ActivityBindings lists the items an activity is bound to.
func (s *Service) ActivityBindings(ctx context.Context, actor access.Actor, id int64) ([]store.ActivityBinding, error) {
	if _, err := s.activity(ctx, id); err != nil {
		return nil, err
	}
	return s.st.ActivityBindings(ctx, id)
}

// MoveActivityBinding moves an activity from one item to another of the same type
// (the card's "move to another deal"); the owner moves with it when it is the source.
func (s *Service) MoveActivityBinding(ctx context.Context, actor access.Actor, id int64, from, to Owner) error {
	if from.EntityTypeID != to.EntityTypeID {
		return newErr(ErrBindingTypesDiffer, "An activity moves between items of one entity type only")
	}
	if from.ID == to.ID {
		return newErr(ErrBindingSameItem, "The source and the target are the same item")
	}
	return s.changeActivityBindings(ctx, id, to, func(tx *store.Tx, a *store.ActivityRecord, _ []store.ActivityBinding) error {
		if bound, err := tx.ActivityBound(ctx, id, activityBinding(to)); err != nil || bound {
			if err == nil {
				err = newErr(ErrAlreadyBound, "The activity %d is already bound to %s %d", id, EntityTypeName(to.EntityTypeID), to.ID)
			}
			return err
		}
		removed, err := tx.UnbindActivity(ctx, id, activityBinding(from))
		if err != nil {
			return err
		}
		if !removed {
			return newErr(ErrBindingNotFound, "The activity %d is not bound to %s %d", id, EntityTypeName(from.EntityTypeID), from.ID)
		}
		if _, err := tx.BindActivity(ctx, id, activityBinding(to)); err != nil {
			return err
		}
		if a.OwnerTypeID == from.EntityTypeID && a.OwnerID == from.ID {
			a.OwnerID = to.ID
			a.EditorID, a.LastUpdated = actor.UserID, s.Now()
			if err := tx.UpdateActivity(ctx, a); err != nil {
				return err
			}
		}
		if a.TimelineID != 0 {
			if _, err := tx.UnbindTimelineEntry(ctx, a.TimelineID, timelineBinding(from)); err != nil {
				return err
			}
			if err := tx.BindTimelineEntry(ctx, a.TimelineID, timelineBinding(to)); err != nil {
				return err
			}
		}
		return activityEvent(ctx, tx, eventActivityUpdate, a)
	})
}

// DeleteActivityBinding unbinds an activity from an item; the last binding stays (delete
// the activity instead). When the owner is unbound, the first remaining item owns it.
func (s *Service) DeleteActivityBinding(ctx context.Context, actor access.Actor, id int64, o Owner) error {
	return s.changeActivityBindings(ctx, id, o, func(tx *store.Tx, a *store.ActivityRecord, bindings []store.ActivityBinding) error {
		found := false
		for _, b := range bindings {
			found = found || b == activityBinding(o)
		}
		if !found {
			return newErr(ErrBindingNotFound, "The activity %d is not bound to %s %d", id, EntityTypeName(o.EntityTypeID), o.ID)
		}
		if len(bindings) == 1 {
			return newErr(ErrLastBinding, "The last binding of an activity cannot be removed; delete the activity instead")
		}
		return unbindActivity(ctx, tx, actor, a, o, bindings, s.Now())
	})
}

// unbindActivity removes one of several bindings of a, handing ownership on when the
// owner goes, and takes the to-do entry off that item's timeline.
func unbindActivity(ctx context.Context, tx *store.Tx, actor access.Actor, a *store.ActivityRecord, o Owner, bindings []store.ActivityBinding, now time.Time) error {
	if _, err := tx.UnbindActivity(ctx, a.ID, activityBinding(o)); err != nil {
		return err
	}
	if a.OwnerTypeID == o.EntityTypeID && a.OwnerID == o.ID {
		for _, b := range bindings {
			if b != activityBinding(o) {
				a.OwnerTypeID, a.OwnerID = b.EntityTypeID, b.EntityID
				break
			}
		}
		a.EditorID, a.LastUpdated = actor.UserID, now
		if err := tx.UpdateActivity(ctx, a); err != nil {
			return err
		}
	}
	if a.TimelineID != 0 {
		if _, err := tx.UnbindTimelineEntry(ctx, a.TimelineID, timelineBinding(o)); err != nil {
			return err
		}
	}
	return activityEvent(ctx, tx, eventActivityUpdate, a)
}

// dropItemActivities runs in the transaction that deletes an item: activities bound to
// it alone are deleted, the others lose that binding.
func (s *Service) dropItemActivities(ctx context.Context, tx *store.Tx, actor access.Actor, o Owner) error {
	ids, err := tx.ActivitiesBoundTo(ctx, activityBinding(o))
	if err != nil {
		return err
	}
	for _, id := range ids {
		a, err := lockActivity(ctx, tx, id)
		if err != nil {
			return err
		}
		bindings, err := tx.ActivityBindings(ctx, id)
		if err != nil {
			return err
		}
		if len(bindings) <= 1 {
			err = deleteActivity(ctx, tx, a)
		} else {
			err = unbindActivity(ctx, tx, actor, a, o, bindings, s.Now())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// activityBound reports whether an activity is bound to an item (notes on activities
// are seen from their items).
func (s *Service) activityBound(ctx context.Context, id int64, o Owner) bool {
	ok, err := s.st.ActivityBound(ctx, id, activityBinding(o))
	return err == nil && ok
}
