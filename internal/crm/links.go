package crm

import (
	"context"
	"errors"

	"smartcrm/internal/access"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Client links kept as lists of ids: a deal's or a lead's contacts (contactIds), a
// contact's companies (companyIds). The order of a list is the order of its links, the
// first being the primary one (contactId, companyId follow it). EditLinks changes such a
// list from its stored value, LinkedItems reads the links from the other side (a
// company's contacts are the contacts whose companyIds hold it).

// EditLinks changes the list of ids that the link field name of item id holds: edit gets
// the stored list and returns the new one. The change takes the update steps of the
// write path (access, reference checks, timeline, history, outbox) under the item's row
// lock, so two edits of one list at once do not lose each other's links. It reports
// whether the list changed.
func (u *Unit) EditLinks(etid, id int64, name FieldName, edit func(cur []int64) ([]int64, error)) (bool, error) {
	t, err := u.itemType(etid)
	if err != nil {
		return false, err
	}
	f, err := linkList(t, name)
	if err != nil {
		return false, err
	}
	op := &operation{u: u, t: t}
	if err := op.load(id); err != nil {
		return false, err
	}
	if err := op.allow(access.ActUpdate, op.before); err != nil {
		return false, err
	}
	cur, _ := op.before.values[f.Name].([]int64)
	next, err := edit(append([]int64(nil), cur...))
	if err != nil {
		return false, err
	}
	raw := make([]any, len(next))
	for i, v := range next {
		raw[i] = v
	}
	v, err := f.Type.Parse(raw) // the canonical list: ids checked, repeats dropped
	if err != nil {
		return false, invalidValue(f, err)
	}
	values := map[*Field]any{f: v}
	if err := op.checkReferences(values); err != nil {
		return false, err
	}
	if err := op.update(values); err != nil {
		return false, err
	}
	return len(op.changed) > 0, nil
}

// EditLinks runs Unit.EditLinks in a unit of its own.
func (s *Service) EditLinks(ctx context.Context, actor access.Actor, etid, id int64, name FieldName, edit func(cur []int64) ([]int64, error)) (bool, error) {
	for attempt := 0; ; attempt++ {
		var changed bool
		err := s.Run(ctx, actor, func(u *Unit) (err error) {
			changed, err = u.EditLinks(etid, id, name, edit)
			return err
		})
		if errors.Is(err, store.ErrConflict) {
			if attempt < maxConflictRetries {
				continue
			}
			return false, newErr(ErrConflict, "The item is being changed by others at the same time; try again")
		}
		return changed, err
	}
}

// Linked is an item that links to another one through a link list, with its whole list
// (Links[0] is its primary link).
type Linked struct {
	ID    int64
	Links []int64
}

// LinkedItems lists, by id, the items of type etid whose link list name holds id, as
// the unit's transaction sees them.
func (u *Unit) LinkedItems(etid int64, name FieldName, id int64) ([]Linked, error) {
	t, err := u.itemType(etid)
	if err != nil {
		return nil, err
	}
	return linkedItems(u.ctx, u.tx, t, name, id)
}

// LinkedItems lists, by id, the items of type etid whose link list name holds id, after
// the access step for reading them.
func (s *Service) LinkedItems(ctx context.Context, actor access.Actor, etid int64, name FieldName, id int64) ([]Linked, error) {
	t, err := s.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	return linkedItems(ctx, s.st, t, name, id)
}

// itemLister is what linkedItems needs: the pool or a transaction.
type itemLister interface {
	ListItems(ctx context.Context, entityTypeID int64, cols []store.Column, where query.Group, order []query.Order, page store.Page) ([][]any, error)
}

func linkedItems(ctx context.Context, q itemLister, t *Type, name FieldName, id int64) ([]Linked, error) {
	f, err := linkList(t, name)
	if err != nil {
		return nil, err
	}
	where := query.Group{Items: []query.Expr{query.Cond{Field: t.QueryField(f), Op: field.OpContainsAny, Value: []any{id}}}}
	order := []query.Order{{Field: t.QueryField(t.field(FieldID))}}
	cols := []store.Column{{Name: "id", Storage: field.StorageInt}, f.storageColumn()}
	rows, err := q.ListItems(ctx, t.EntityTypeID, cols, where, order, store.Page{})
	if err != nil {
		return nil, err
	}
	conv, _ := f.Type.(field.FromStorage) // link lists are stored as JSON arrays
	out := make([]Linked, len(rows))
	for i, r := range rows {
		out[i].ID, _ = r[0].(int64)
		v := r[1]
		if conv != nil {
			v, _ = conv.FromStorage(v)
		}
		out[i].Links, _ = v.([]int64)
	}
	return out, nil
}

// linkList finds a type's link list field (contactIds, companyIds).
func linkList(t *Type, name FieldName) (*Field, error) {
	f := t.field(name)
	if f == nil || f.LinkType == 0 || !f.Multiple || f.Column == "" || !t.Enabled(f) {
		return nil, newErr(ErrNotSupported, "%s items keep no list %s", t.Title, name)
	}
	return f, nil
}
