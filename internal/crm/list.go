package crm

import (
	"context"
	"strings"

	"smartcrm/internal/access"
	"smartcrm/internal/countcache"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// PageSize is the fixed page of every list (spec §1.6). Clients' keyset helpers stop on
// a shorter page, so it must be exactly this.
const PageSize = 50

// ItemQuery is a list of items: a parsed filter over the type's query fields
// (Type.QueryField), an order, the fields to read, and a page.
type ItemQuery struct {
	Where query.Group
	Order []query.Order
	// Select lists the fields to read; nil reads every field. id is always read.
	Select []*Field
	Offset int
	// NoCount skips the total (keyset paging asks for none).
	NoCount bool
	// Limit, between 1 and PageSize+1, reads a shorter page (a Kanban column shows a
	// few cards at first) or one more row than a page (which tells a keyset reader
	// whether another page follows); 0 reads PageSize.
	Limit int
}

// ItemList is a page of items.
type ItemList struct {
	Items []*Item
	Total int // -1 when not counted
}

// ItemType returns a type for reading its items, after the access step.
func (s *Service) ItemType(ctx context.Context, actor access.Actor, etid int64) (*Type, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, err
	}
	return t, s.allow(actor, access.ActRead, access.Resource{EntityTypeID: t.EntityTypeID})
}

// GetItem reads one item.
func (s *Service) GetItem(ctx context.Context, actor access.Actor, etid, id int64) (*Type, *Item, error) {
	t, err := s.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, nil, err
	}
	it, err := readItem(ctx, s.st.GetItem, t, id)
	if err != nil {
		return nil, nil, err
	}
	if err := s.allow(actor, access.ActRead, access.Resource{EntityTypeID: etid, CategoryID: it.CategoryID(), StageID: it.StageID()}); err != nil {
		return nil, nil, err
	}
	// A read is often followed by a write of the same item (an integration's
	// read-modify-write): that update may then start from the item as read.
	if s.recent != nil {
		s.recent.Put(t.recentKey(it.ID), it.Version, it.clone())
	}
	return t, it, nil
}

// ListItems reads a page of a type's items.
func (s *Service) ListItems(ctx context.Context, actor access.Actor, etid int64, q ItemQuery) (*Type, *ItemList, error) {
	t, err := s.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, nil, err
	}
	where := t.narrowByFunnel(q.Where)
	order := q.Order
	// id breaks ties, so pages never overlap or skip rows; in the last key's direction,
	// so that one index walk serves the whole order.
	hasID := false
	for _, o := range order {
		hasID = hasID || o.Field.Column == "id"
	}
	if !hasID {
		order = append(order[:len(order):len(order)], query.Order{Field: t.QueryField(t.field(FieldID)), Desc: len(order) > 0 && order[len(order)-1].Desc})
	}
	fs := t.storedFields()
	if q.Select != nil {
		sel := map[*Field]bool{}
		for _, f := range q.Select {
			sel[f] = true
		}
		fs = fs[:0:0]
		for _, f := range t.storedFields() {
			if sel[f] {
				fs = append(fs, f)
			}
		}
	}
	page := store.Page{Limit: PageSize, Offset: max(q.Offset, 0)}
	if q.Limit > 0 && q.Limit <= PageSize+1 {
		page.Limit = q.Limit
	}
	rows, total, err := s.st.ListItemsCounted(ctx, t.EntityTypeID, readColumns(fs), where, order, page, !q.NoCount)
	if err != nil {
		return nil, nil, err
	}
	out := &ItemList{Total: -1, Items: make([]*Item, len(rows))}
	pf := newPageFields(fs)
	for i, r := range rows {
		out.Items[i] = pageItem(pf, fs, r)
	}
	if !q.NoCount {
		if total >= 0 {
			out.Total = total // counted by the page's own statement
		} else if len(rows) < page.Limit && (page.Offset == 0 || len(rows) > 0) {
			out.Total = page.Offset + len(rows) // the last page tells the count: no COUNT needed
		} else if out.Total, err = s.countItems(ctx, t, where); err != nil {
			return nil, nil, err
		}
	}
	return t, out, nil
}

// countItems counts the items matching a filter, from the count cache when no item of
// the type changed since the same filter was counted.
func (s *Service) countItems(ctx context.Context, t *Type, where query.Group) (int, error) {
	k := countcache.Key{EntityTypeID: t.EntityTypeID, Filter: where.Key()}
	if n, ok := s.counts.Get(k); ok {
		return n, nil
	}
	gen := s.counts.Generation(t.EntityTypeID) // before counting: a change meanwhile invalidates
	n, err := s.st.CountItems(ctx, t.EntityTypeID, where)
	if err != nil {
		return 0, err
	}
	s.counts.Put(k, gen, n)
	return n, nil
}

// narrowByFunnel adds the funnel to a filter on stages of one funnel. A stage id belongs
// to exactly one funnel, so the result is the same; the added condition lets the
// (category_id, stage_id, id) index serve the query.
func (t *Type) narrowByFunnel(where query.Group) query.Group {
	var stages []any
	for _, e := range where.Items {
		c, ok := e.(query.Cond)
		if !ok {
			continue
		}
		switch {
		case c.Field.Column == "category_id":
			return where // the caller named the funnel itself
		case c.Field.Column == "stage_id" && c.Op == field.OpEq && c.Value != nil:
			stages = append(stages, c.Value)
		case c.Field.Column == "stage_id" && c.Op == field.OpIn:
			stages = append(stages, c.Value.([]any)...)
		}
	}
	if where.Or || len(stages) == 0 || !t.Has(FieldCategoryID) {
		return where
	}
	funnel := int64(-1)
	for _, v := range stages {
		id, _ := v.(string)
		found := false
		for _, st := range t.stages {
			if st.StatusID == id && (funnel == -1 || funnel == st.CategoryID) {
				funnel, found = st.CategoryID, true
				break
			}
		}
		if !found {
			return where // an unknown stage or stages of several funnels: leave it be
		}
	}
	cat := t.QueryField(t.field(FieldCategoryID))
	items := append([]query.Expr{query.Cond{Field: cat, Op: field.OpEq, Value: funnel}}, where.Items...)
	return query.Group{Items: items}
}

// ItemExists reports whether an item exists. Standard types without items on this
// server (quotes, invoices) hold none, so links to them point at nothing.
func (s *Service) ItemExists(ctx context.Context, etid, id int64) (bool, error) {
	if _, err := s.typeByEntityTypeID(ctx, etid); err != nil {
		if KindOf(err) == ErrTypeNotFound {
			return false, nil
		}
		return false, err
	}
	return s.st.ItemExists(ctx, etid, id)
}

// ChildRef is a child item in a card's list of linked items.
type ChildRef = store.ChildRef

// Children lists the newest items (at most PageSize) that have item id of type etid as
// their parent, across every child type.
func (s *Service) Children(ctx context.Context, actor access.Actor, etid, id int64) ([]ChildRef, error) {
	if _, err := s.ItemType(ctx, actor, etid); err != nil {
		return nil, err
	}
	if ok, err := s.ItemExists(ctx, etid, id); err != nil || !ok {
		if err == nil {
			err = newErr(ErrItemNotFound, "Item not found")
		}
		return nil, err
	}
	edges, err := s.st.TypeEdges(ctx)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range edges {
		if e.Parent != etid {
			continue
		}
		if _, err := s.typeByEntityTypeID(ctx, e.Child); err == nil {
			ids = append(ids, e.Child)
		} else if KindOf(err) != ErrTypeNotFound {
			return nil, err
		}
	}
	return s.st.Children(ctx, ids, etid, id, PageSize)
}

// CatalogResolver finds fields of a fixed catalog by name, ignoring letter case: the
// registry lists (types, stages, stage history) filter and order with it.
func CatalogResolver(cols []query.Field) query.Resolver {
	return func(name string) (*query.Field, bool) {
		for i := range cols {
			if strings.EqualFold(cols[i].Name, name) {
				return &cols[i], true
			}
		}
		return nil, false
	}
}

// withIDOrder adds the id field as the last sort key, so pages never overlap.
func withIDOrder(cols []query.Field, idName string, order []query.Order) []query.Order {
	idf, _ := CatalogResolver(cols)(idName)
	return append(order[:len(order):len(order)], query.Order{Field: idf})
}
