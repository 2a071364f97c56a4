package crm

import (
	"context"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Reordering a funnel's stages and deleting a stage that holds items: what an
// administrator does by dragging stages and by answering "where do its items go?".
// Both change several rows at once, so both check the funnel's shape once, on the
// result, and write in one unit.

// ReorderStages gives a funnel's stages the order of statusIDs, which must name each
// of the funnel's stages once. Sorts become 10, 20, …; the funnel's rules (in progress
// before success, failure after it) are checked on the new order as a whole.
func (s *Service) ReorderStages(ctx context.Context, actor access.Actor, etid, categoryID int64, statusIDs []string) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.ReorderStages(etid, categoryID, statusIDs) })
}

// ReorderStages reorders a funnel's stages inside the unit.
func (u *Unit) ReorderStages(etid, categoryID int64, statusIDs []string) error {
	t, err := u.s.loadType(u.ctx, u.tx, etid, true)
	if err != nil {
		return err
	}
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "stage"}); err != nil {
		return err
	}
	if t.Category(categoryID) == nil {
		return newErr(ErrItemNotFound, "%s has no pipeline %d", t.Title, categoryID)
	}
	current := t.StagesOf(categoryID)
	if len(statusIDs) != len(current) {
		return newErr(ErrInvalidArg, "The new order must name each of the pipeline's %d stages once", len(current))
	}
	seen := map[string]bool{}
	next := make([]*Stage, len(statusIDs))
	for i, id := range statusIDs {
		st := t.Stage(categoryID, id)
		if st == nil || seen[id] {
			return newErr(ErrInvalidArg, "The new order must name each of the pipeline's %d stages once", len(current))
		}
		seen[id] = true
		moved := *st
		moved.Sort = int64(i+1) * 10
		next[i] = &moved
	}
	if err := checkStageOrder(next); err != nil {
		return err
	}
	for i, st := range next {
		if st.Sort == t.Stage(categoryID, statusIDs[i]).Sort {
			continue
		}
		if err := u.tx.UpdateStage(u.ctx, st.record()); err != nil {
			return err
		}
		if err := u.Emit(change.Change{Entity: change.Stage, Kind: change.Updated, EntityTypeID: etid, ID: st.ID}); err != nil {
			return err
		}
	}
	u.RegistryChanged()
	return nil
}

// DeleteStageMovingItems moves every item of a stage to another stage of its funnel,
// through the write path (history, timeline, robots of the new stage), then deletes
// the stage (a system stage too: the administrator chose to). All or nothing: an item
// the move refuses (a field required from the new stage is empty) keeps the stage.
func (s *Service) DeleteStageMovingItems(ctx context.Context, actor access.Actor, id int64, toStatusID string) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.DeleteStageMovingItems(id, toStatusID) })
}

// DeleteStageMovingItems moves a stage's items and deletes it inside the unit.
func (u *Unit) DeleteStageMovingItems(id int64, toStatusID string) error {
	t, st, err := u.lockStage(id)
	if err != nil {
		return err
	}
	to := t.Stage(st.CategoryID, toStatusID)
	if to == nil || to.ID == st.ID {
		return &Error{Kind: ErrInvalidArg, Field: "to", Msg: "Choose another stage of the same pipeline for the items"}
	}
	idField := t.field(FieldID)
	where := query.Group{Items: []query.Expr{
		query.Cond{Field: t.QueryField(t.field(FieldCategoryID)), Op: field.OpEq, Value: st.CategoryID},
		query.Cond{Field: t.QueryField(t.field(FieldStageID)), Op: field.OpEq, Value: st.StatusID},
	}}
	for {
		// Each pass moves a page out of the stage, so the next one starts afresh.
		rows, err := u.tx.ListItems(u.ctx, t.EntityTypeID, readColumns(nil), where,
			[]query.Order{{Field: t.QueryField(idField)}}, store.Page{Limit: PageSize})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		for _, row := range rows {
			id, _ := row[0].(int64)
			if _, err := u.UpdateItem(t.EntityTypeID, id, Patch{FieldStageID: to.StatusID}, WriteOptions{}); err != nil {
				return err
			}
		}
	}
	return u.DeleteStage(id, true)
}
