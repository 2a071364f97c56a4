// Package query describes a list query as typed values: a filter tree of conditions on
// catalog fields, and an order. The protocols parse their callers' filters into it (the
// REST layer Bitrix24's `filter` and `order`, the web UI its filter bar), the domain
// adds to it, and the storage layer compiles it into SQL. Fields come from a catalog,
// so nothing a caller typed ever reaches SQL: the compiled query uses the catalog's
// column names and bind parameters.
package query

import (
	"fmt"
	"strings"

	"smartcrm/internal/field"
)

// Field is what the parser needs to know of a filterable or sortable field.
type Field struct {
	Name   string // wire name, used in error messages
	Column string // column in the table, from the registry
	Type   field.Type
	// NullMeans, when set, replaces an empty equality value: `categoryId: null` means
	// the default category (spec §4.8), not "no category".
	NullMeans any
	// NoFilter / NoOrder exclude fields the storage cannot serve.
	NoFilter, NoOrder bool
}

// Resolver finds a field by the name a client used.
type Resolver func(name string) (*Field, bool)

// Expr is a filter expression: a Cond or a Group.
type Expr interface{ isExpr() }

// Cond compares one field with a value.
type Cond struct {
	Field *Field
	Op    field.Op
	// Value is canonical (int64, float64, string, time.Time); []any for @ and !@;
	// nil for "is empty" (with OpEq) and "is not empty" (with OpNotEq); a pattern string
	// for the LIKE family.
	Value any
}

// Group joins expressions with AND (default) or OR. An empty group matches everything.
type Group struct {
	Or    bool
	Items []Expr
}

func (Cond) isExpr()  {}
func (Group) isExpr() {}

// Error is a client mistake in filter, order or select, worded as Bitrix24 words it.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// MaxConditions bounds the work one filter can ask for.
const MaxConditions = 500

// Order is one sort key.
type Order struct {
	Field *Field
	Desc  bool
}

// Key is a canonical text of the filter, equal for equal filters: caches of counts are
// keyed by it.
func (g Group) Key() string {
	var b strings.Builder
	g.writeKey(&b)
	return b.String()
}

func (g Group) writeKey(b *strings.Builder) {
	if g.Or {
		b.WriteString("OR(")
	} else {
		b.WriteString("AND(")
	}
	for i, e := range g.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		switch x := e.(type) {
		case Group:
			x.writeKey(b)
		case Cond:
			fmt.Fprintf(b, "%s %s %#v", x.Field.Column, x.Op, x.Value)
		}
	}
	b.WriteByte(')')
}
