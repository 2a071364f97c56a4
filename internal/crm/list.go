package crm

import (
	"context"
	"encoding/json"
	"strings"

	"smartcrm/internal/access"
	"smartcrm/internal/crm/field"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// PageSize is the fixed page of every list method (spec §1.6). Clients' keyset helpers
// stop on a shorter page, so it must be exactly this.
const PageSize = 50

// ListRequest is a crm.item.list call.
type ListRequest struct {
	Select, Filter, Order any
	// Start is the offset; -1 asks for a page without counting (keyset paging).
	Start int64
}

// ItemList is a page of items.
type ItemList struct {
	Items    []*Item
	Selected map[*Field]bool // nil: every field
	Total    int             // -1 when not counted
}

// GetItem reads one item.
func (s *Service) GetItem(ctx context.Context, actor access.Actor, etid, id int64) (*Type, *Item, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, nil, err
	}
	fs := t.storedFields()
	row, err := s.st.GetItem(ctx, t.EntityTypeID, readColumns(fs), id)
	if err == store.ErrNotFound {
		return nil, nil, newErr(ErrItemNotFound, "Item not found")
	}
	if err != nil {
		return nil, nil, err
	}
	return t, itemFromRow(fs, row), nil
}

// ListItems answers crm.item.list: filter, order, select and paging.
func (s *Service) ListItems(ctx context.Context, actor access.Actor, etid int64, req ListRequest) (*Type, *ItemList, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, nil, err
	}
	resolve := t.resolver()
	where, err := query.ParseFilter(req.Filter, resolve)
	if err != nil {
		return nil, nil, &Error{Kind: ErrInvalidArg, Msg: err.Error()}
	}
	where = t.narrowByFunnel(where, resolve)
	order, err := query.ParseOrder(req.Order, resolve)
	if err != nil {
		return nil, nil, &Error{Kind: ErrInvalidArg, Msg: err.Error()}
	}
	// id breaks ties, so pages never overlap or skip rows.
	hasID := false
	for _, o := range order {
		hasID = hasID || o.Field.Column == "id"
	}
	if !hasID {
		idf, _ := resolve("id")
		order = append(order, query.Order{Field: idf})
	}
	sel := t.parseSelect(req.Select)
	fs := t.storedFields()
	if sel != nil {
		fs = fs[:0:0]
		for _, f := range t.storedFields() {
			if sel[f] {
				fs = append(fs, f)
			}
		}
	}
	page := store.Page{Limit: PageSize}
	if req.Start > 0 {
		page.Offset = int(req.Start)
	}
	rows, err := s.st.ListItems(ctx, t.EntityTypeID, readColumns(fs), where, order, page)
	if err != nil {
		return nil, nil, err
	}
	out := &ItemList{Selected: sel, Total: -1, Items: make([]*Item, len(rows))}
	for i, r := range rows {
		out.Items[i] = itemFromRow(fs, r)
	}
	if req.Start != -1 {
		if len(rows) < PageSize && (page.Offset == 0 || len(rows) > 0) {
			out.Total = page.Offset + len(rows) // the last page tells the count: no COUNT needed
		} else if out.Total, err = s.countItems(ctx, t, req.Filter, where); err != nil {
			return nil, nil, err
		}
	}
	return t, out, nil
}

// countItems counts the items matching a filter, from the count cache when no item of
// the type changed since the same filter was counted.
func (s *Service) countItems(ctx context.Context, t *Type, rawFilter any, where query.Group) (int, error) {
	key, err := json.Marshal(rawFilter)
	if err != nil {
		return s.st.CountItems(ctx, t.EntityTypeID, where)
	}
	k := countKey{etid: t.EntityTypeID, filter: string(key)}
	if n, ok := s.counts.get(k); ok {
		return n, nil
	}
	gen := s.counts.generation(t.EntityTypeID) // before counting: a change meanwhile invalidates
	n, err := s.st.CountItems(ctx, t.EntityTypeID, where)
	if err != nil {
		return 0, err
	}
	s.counts.put(k, gen, n)
	return n, nil
}

// parseSelect reads `select`: a list of names, "*" for all, or nothing for all. Unknown
// names are ignored; id and entityTypeId always come back, because clients page by id.
func (t *Type) parseSelect(v any) map[*Field]bool {
	if v == nil || params.IsEmptyContainer(v) {
		return nil
	}
	var names []string
	if s, ok := v.(string); ok {
		names = []string{s}
	} else if _, vals, ok := params.Entries(v); ok {
		for _, e := range vals {
			if s, ok := params.String(e); ok {
				names = append(names, s)
			}
		}
	}
	sel := map[*Field]bool{}
	for _, n := range names {
		if n == "*" {
			return nil
		}
		if f, ok := t.FieldByName(n); ok {
			sel[f] = true
		}
	}
	sel[t.fieldIndex["id"]] = true
	sel[t.fieldIndex["entitytypeid"]] = true
	return sel
}

// narrowByFunnel adds the funnel to a filter on stages of one funnel. A stage id belongs
// to exactly one funnel, so the result is the same; the added condition lets the
// (category_id, stage_id, id) index serve the query.
func (t *Type) narrowByFunnel(where query.Group, resolve query.Resolver) query.Group {
	var stages []any
	for _, e := range where.Items {
		c, ok := e.(query.Cond)
		if !ok {
			continue
		}
		switch {
		case c.Field.Column == "category_id":
			return where // the client named the funnel itself
		case c.Field.Column == "stage_id" && c.Op == field.OpEq && c.Value != nil:
			stages = append(stages, c.Value)
		case c.Field.Column == "stage_id" && c.Op == field.OpIn:
			stages = append(stages, c.Value.([]any)...)
		}
	}
	if where.Or || len(stages) == 0 {
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
	cat, _ := resolve("categoryId")
	items := append([]query.Expr{query.Cond{Field: cat, Op: field.OpEq, Value: funnel}}, where.Items...)
	return query.Group{Items: items}
}

// itemExists reports whether an item exists. Standard types without items on this
// server (quotes, invoices) hold none, so links to them point at nothing.
func (s *Service) itemExists(ctx context.Context, etid, id int64) (bool, error) {
	if _, err := s.typeByEntityTypeID(ctx, etid); err != nil {
		if KindOf(err) == ErrTypeNotFound {
			return false, nil
		}
		return false, err
	}
	return s.st.ItemExists(ctx, etid, id)
}

// parseCatalogQuery parses filter and order against a fixed column catalog (names
// matched case-insensitively) and adds idName as the last sort key, so pages never
// overlap. The registry lists (types, stages, stage history) use it.
func parseCatalogQuery(cols []query.Field, idName string, filter, order any) (query.Group, []query.Order, error) {
	resolve := func(name string) (*query.Field, bool) {
		for i := range cols {
			if strings.EqualFold(cols[i].Name, name) {
				return &cols[i], true
			}
		}
		return nil, false
	}
	where, err := query.ParseFilter(filter, resolve)
	if err != nil {
		return query.Group{}, nil, &Error{Kind: ErrInvalidArg, Msg: err.Error()}
	}
	ord, err := query.ParseOrder(order, resolve)
	if err != nil {
		return query.Group{}, nil, &Error{Kind: ErrInvalidArg, Msg: err.Error()}
	}
	idf, _ := resolve(idName)
	return where, append(ord, query.Order{Field: idf}), nil
}

// Children lists the newest items (at most PageSize) that have item id of type etid as
// their parent, across every child type.
func (s *Service) Children(ctx context.Context, etid, id int64) ([]store.ChildRef, error) {
	if _, err := s.itemType(ctx, etid); err != nil {
		return nil, err
	}
	if ok, err := s.itemExists(ctx, etid, id); err != nil || !ok {
		if err == nil {
			err = newErr(ErrItemNotFound, "Item not found")
		}
		return nil, err
	}
	children, err := s.childTypes(ctx, s.st, etid)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(children))
	for i, c := range children {
		ids[i] = c.EntityTypeID
	}
	return s.st.Children(ctx, ids, etid, id, PageSize)
}
