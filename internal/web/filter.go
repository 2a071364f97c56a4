package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// The list's filter bar and keyset paging. A filter is rows of (field, operator,
// value) in the query string (ff, fo, fv repeated), so a filtered list is a link that
// can be saved, shared and exported. The operators offered for a field are those its
// value type supports (field.Type.Ops), plus "is empty" and "is not empty".

type opDef struct {
	Key, Label string
	op         field.Op
	empty      bool
}

var opDefs = []opDef{
	{"eq", "is", field.OpEq, false}, {"ne", "is not", field.OpNotEq, false},
	{"has", "contains", field.OpContains, false}, {"nhas", "does not contain", field.OpNotContains, false},
	{"gt", "greater than", field.OpGt, false}, {"ge", "at least", field.OpGte, false},
	{"lt", "less than", field.OpLt, false}, {"le", "at most", field.OpLte, false},
	{"in", "is one of", field.OpIn, false},
	{"empty", "is empty", field.OpEq, true}, {"nempty", "is not empty", field.OpNotEq, true},
}

// filterRow is one condition of the filter bar as the page shows it.
type filterRow struct {
	Field, Op, Value string
}

// filterable lists the fields the filter bar offers.
func filterable(t *crm.Type) []*crm.Field {
	var out []*crm.Field
	for _, f := range t.Fields() {
		qf := t.QueryField(f)
		if qf.NoFilter || f.Hidden {
			continue
		}
		out = append(out, f)
	}
	return out
}

// opsFor lists the operator keys that fit a field.
func opsFor(f *crm.Field) []string {
	var out []string
	for _, d := range opDefs {
		if d.empty || field.Allows(f.Type, d.op) {
			out = append(out, d.Key)
		}
	}
	return out
}

func opByKey(key string) (opDef, bool) {
	for _, d := range opDefs {
		if d.Key == key {
			return d, true
		}
	}
	return opDef{}, false
}

// parseFilter reads the filter bar's rows into a filter over the type's fields.
func parseFilter(t *crm.Type, form url.Values) (query.Group, []filterRow, error) {
	ff, fo, fv := form["ff"], form["fo"], form["fv"]
	var g query.Group
	var rows []filterRow
	for i, name := range ff {
		if name == "" {
			continue
		}
		row := filterRow{Field: name}
		if i < len(fo) {
			row.Op = fo[i]
		}
		if i < len(fv) {
			row.Value = fv[i]
		}
		rows = append(rows, row)
		if len(rows) > 50 {
			return g, rows, crm.NewError(crm.ErrInvalidArg, "At most 50 conditions")
		}
		f := mustField(t, crm.FieldName(name))
		if f == nil || t.QueryField(f).NoFilter {
			return g, rows, crm.NewError(crm.ErrInvalidArg, "The list cannot be filtered by %q", name)
		}
		c, err := condition(t, f, row.Op, row.Value)
		if err != nil {
			return g, rows, err
		}
		g.Items = append(g.Items, c)
	}
	return g, rows, nil
}

func condition(t *crm.Type, f *crm.Field, opKey, value string) (query.Cond, error) {
	qf := t.QueryField(f)
	d, ok := opByKey(opKey)
	if !ok || !d.empty && !field.Allows(f.Type, d.op) {
		return query.Cond{}, crm.NewError(crm.ErrInvalidArg, "%q cannot be compared with %q", f.Title, opKey)
	}
	if d.empty {
		return query.Cond{Field: qf, Op: d.op, Value: nil}, nil
	}
	parse := f.Type.Parse
	ep, multiple := f.Type.(field.ElementParser)
	if multiple {
		parse = ep.ParseElement
	}
	bad := func(err error) error {
		msg := fmt.Sprintf("The filter value %q does not fit %q", value, f.Title)
		if err != nil {
			msg += ": " + strings.TrimPrefix(err.Error(), "invalid value: ")
		}
		return crm.NewError(crm.ErrInvalidArg, "%s", msg)
	}
	switch d.op {
	case field.OpContains, field.OpNotContains:
		return query.Cond{Field: qf, Op: d.op, Value: value}, nil
	case field.OpIn:
		var list []any
		for _, p := range splitList(value) {
			v, err := parse(p)
			if err != nil || v == nil {
				return query.Cond{}, bad(err)
			}
			list = append(list, v)
		}
		op := field.OpIn
		if multiple {
			op = field.OpContainsAny
		}
		return query.Cond{Field: qf, Op: op, Value: list}, nil
	}
	v, err := parse(strings.TrimSpace(value))
	if err != nil || v == nil {
		return query.Cond{}, bad(err)
	}
	if multiple {
		switch d.op {
		case field.OpEq:
			return query.Cond{Field: qf, Op: field.OpContainsAny, Value: []any{v}}, nil
		case field.OpNotEq:
			return query.Cond{Field: qf, Op: field.OpContainsNone, Value: []any{v}}, nil
		}
		return query.Cond{}, bad(nil)
	}
	return query.Cond{Field: qf, Op: d.op, Value: v}, nil
}

// cursor is where a list page continues: after the row with sort value V and id ID,
// among the rows whose sort value is set (phase 0) or empty (phase 1).
type cursor struct {
	Phase int    `json:"p"`
	V     string `json:"v,omitempty"`
	ID    int64  `json:"id"`
}

func (c cursor) encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, bool) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if s == "" || err != nil || json.Unmarshal(b, &c) != nil || c.Phase < 0 || c.Phase > 1 {
		return cursor{}, false
	}
	return c, true
}

// listOrder is a list's sort: a field and a direction.
type listOrder struct {
	f    *crm.Field
	desc bool
}

// page reads a page of at most n items after cur, in the order o. The order is the
// same on SQLite and PostgreSQL, whatever they do with empty values: the rows with a
// sort value come first, by (value, id), then those without, by id; each phase is its
// own query with the emptiness condition spelled out.
func (q *request) page(t *crm.Type, where query.Group, o listOrder, cur *cursor, sel []*crm.Field, n int) ([]*crm.Item, *cursor, error) {
	idf := t.QueryField(mustField(t, crm.FieldID))
	if sel != nil && !slices.Contains(sel, o.f) {
		sel = append(sel[:len(sel):len(sel)], o.f) // the cursor needs the sort value
	}
	cmpOp := func(desc bool) field.Op {
		if desc {
			return field.OpLt
		}
		return field.OpGt
	}
	run := func(items []query.Expr, order []query.Order, limit int) ([]*crm.Item, error) {
		g := query.Group{Items: append([]query.Expr{where}, items...)}
		_, list, err := q.s.crm.ListItems(q.ctx, q.actor, t.EntityTypeID, crm.ItemQuery{Where: g, Order: order, Select: sel, NoCount: true, Limit: limit})
		if err != nil {
			return nil, err
		}
		return list.Items, nil
	}
	if o.f.Name == crm.FieldID {
		var extra []query.Expr
		if cur != nil {
			extra = append(extra, query.Cond{Field: idf, Op: cmpOp(o.desc), Value: cur.ID})
		}
		items, err := run(extra, []query.Order{{Field: idf, Desc: o.desc}}, n+1)
		if err != nil || len(items) <= n {
			return items, nil, err
		}
		items = items[:n]
		return items, &cursor{ID: items[n-1].ID}, nil
	}
	sf := t.QueryField(o.f)
	var out []*crm.Item
	if cur == nil || cur.Phase == 0 {
		extra := []query.Expr{query.Cond{Field: sf, Op: field.OpNotEq, Value: nil}}
		if cur != nil {
			v, err := o.f.Type.Parse(cur.V)
			if err != nil || v == nil {
				return nil, nil, crm.NewError(crm.ErrInvalidArg, "The page link is out of date")
			}
			extra = append(extra, query.Group{Or: true, Items: []query.Expr{
				query.Cond{Field: sf, Op: cmpOp(o.desc), Value: v},
				query.Group{Items: []query.Expr{query.Cond{Field: sf, Op: field.OpEq, Value: v}, query.Cond{Field: idf, Op: cmpOp(o.desc), Value: cur.ID}}},
			}})
		}
		items, err := run(extra, []query.Order{{Field: sf, Desc: o.desc}, {Field: idf, Desc: o.desc}}, n+1)
		if err != nil {
			return nil, nil, err
		}
		if len(items) > n {
			items = items[:n]
			last := items[n-1]
			return items, &cursor{Phase: 0, V: plainValue(o.f, last.Get(o.f.Name)), ID: last.ID}, nil
		}
		out, cur = items, nil
	}
	extra := []query.Expr{query.Cond{Field: sf, Op: field.OpEq, Value: nil}}
	if cur != nil && cur.ID != 0 {
		extra = append(extra, query.Cond{Field: idf, Op: cmpOp(o.desc), Value: cur.ID})
	}
	left := n - len(out)
	items, err := run(extra, []query.Order{{Field: idf, Desc: o.desc}}, left+1)
	if err != nil {
		return nil, nil, err
	}
	if len(items) <= left {
		return append(out, items...), nil, nil
	}
	if left == 0 {
		return out, &cursor{Phase: 1}, nil // the empty ones follow, from their start
	}
	out = append(out, items[:left]...)
	return out, &cursor{Phase: 1, ID: out[len(out)-1].ID}, nil
}
