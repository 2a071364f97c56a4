// Package linklists edits and reads the client links kept as lists of ids.
package linklists

import (
	"context"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Client links kept as lists of ids: a deal's or a lead's contacts (contactIds), a
// contact's companies (companyIds). The order of a list is the order of its links, the
// first being the primary one (contactId, companyId follow it). Edit changes such a list
// from its stored value, Of reads the links from the other side (a company's contacts
// are the contacts whose companyIds hold it).

// Edit changes the list of ids that the link field name of item id holds: edit gets the
// stored list and returns the new one. The change takes the update steps of the write
// path (access, reference checks, timeline, history, outbox) under the item's row lock
// (crm.Unit.UpdateFrom), so two edits of one list at once do not lose each other's
// links. It reports whether the list changed.
func Edit(u *crm.Unit, etid, id int64, name crm.FieldName, edit func(cur []int64) ([]int64, error)) (bool, error) {
	return u.UpdateFrom(etid, id, func(t *crm.Type, before *crm.Item) (crm.Patch, error) {
		f, err := linkList(t, name)
		if err != nil {
			return nil, err
		}
		cur, _ := before.Get(f.Name).([]int64)
		next, err := edit(append([]int64(nil), cur...))
		if err != nil {
			return nil, err
		}
		raw := make([]any, len(next)) // parsed as the field's canonical list: ids checked, repeats dropped
		for i, v := range next {
			raw[i] = v
		}
		return crm.Patch{f.Name: raw}, nil
	})
}

// EditIn runs Edit in a unit of its own, redone when it meets a concurrent change.
func EditIn(ctx context.Context, svc *crm.Service, actor access.Actor, etid, id int64, name crm.FieldName, edit func(cur []int64) ([]int64, error)) (bool, error) {
	var changed bool
	err := svc.RunRetrying(ctx, actor, func(u *crm.Unit) (err error) {
		changed, err = Edit(u, etid, id, name, edit)
		return err
	})
	return changed, err
}

// Linked is an item that links to another one through a link list, with its whole list
// (Links[0] is its primary link).
type Linked struct {
	ID    int64
	Links []int64
}

// Of lists, by id, the items of type etid whose link list name holds id, as the unit's
// transaction sees them.
func Of(u *crm.Unit, etid int64, name crm.FieldName, id int64) ([]Linked, error) {
	t, err := u.TypeOf(etid)
	if err != nil {
		return nil, err
	}
	return linked(u.Ctx(), u.Tx(), t, name, id)
}

// OfIn lists, by id, the items of type etid whose link list name holds id, after the
// access step for reading them.
func OfIn(ctx context.Context, svc *crm.Service, actor access.Actor, etid int64, name crm.FieldName, id int64) ([]Linked, error) {
	t, err := svc.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	return linked(ctx, svc.Store(), t, name, id)
}

// itemLister is what linked needs: the pool or a transaction.
type itemLister interface {
	ListItems(ctx context.Context, entityTypeID int64, cols []store.Column, where query.Group, order []query.Order, page store.Page) ([][]any, error)
}

func linked(ctx context.Context, q itemLister, t *crm.Type, name crm.FieldName, id int64) ([]Linked, error) {
	f, err := linkList(t, name)
	if err != nil {
		return nil, err
	}
	idField, _ := t.FieldByName(string(crm.FieldID))
	where := query.Group{Items: []query.Expr{query.Cond{Field: t.QueryField(f), Op: field.OpContainsAny, Value: []any{id}}}}
	order := []query.Order{{Field: t.QueryField(idField)}}
	cols := []store.Column{{Name: "id", Storage: field.StorageInt}, {Name: f.Column, Storage: f.Type.Storage()}}
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
func linkList(t *crm.Type, name crm.FieldName) (*crm.Field, error) {
	f, ok := t.FieldByName(string(name))
	if !ok || f.LinkType == 0 || !f.Multiple || f.Column == "" || !t.Enabled(f) {
		return nil, crm.NewError(crm.ErrNotSupported, "%s items keep no list %s", t.Title, name)
	}
	return f, nil
}
