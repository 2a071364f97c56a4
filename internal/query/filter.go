// Package query turns the `filter`, `order` and `select` parameters of Bitrix24 list
// methods into a validated, typed description that the storage layer compiles into SQL.
// Field names are resolved against a catalog here, so nothing a client typed ever
// reaches SQL: the compiled query uses the catalog's column names and bind parameters.
package query

import (
	"errors"
	"fmt"
	"strings"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/params"
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

func filterErr(format string, a ...any) error {
	return &Error{Msg: "Invalid filter: " + fmt.Sprintf(format, a...)}
}

// MaxConditions bounds the work one filter can ask for.
const MaxConditions = 500

// operator prefixes, longest first so that "!=%" is not read as "!=".
var prefixes = []struct {
	text string
	op   field.Op
}{
	{"!=%", field.OpNotLike}, {"!%=", field.OpNotLike},
	{"=%", field.OpLike}, {"%=", field.OpLike},
	{"!@", field.OpNotIn}, {"!=", field.OpNotEq}, {"!%", field.OpNotContains},
	{">=", field.OpGte}, {"<=", field.OpLte},
	{"%", field.OpContains}, {"@", field.OpIn}, {">", field.OpGt}, {"<", field.OpLt},
	{"=", field.OpEq}, {"!", field.OpNotEq},
}

// SplitOp separates an operator prefix from a filter key.
func SplitOp(key string) (field.Op, string) {
	for _, p := range prefixes {
		if strings.HasPrefix(key, p.text) {
			return p.op, key[len(p.text):]
		}
	}
	return field.OpEq, key
}

// ParseFilter validates a filter tree. A missing or empty filter yields an empty group.
func ParseFilter(tree any, resolve Resolver) (Group, error) {
	if tree == nil || params.IsEmptyContainer(tree) {
		return Group{}, nil
	}
	if s, ok := tree.(string); ok && s == "" {
		return Group{}, nil
	}
	count := 0
	g, err := parseGroup(tree, resolve, 0, &count)
	if err != nil {
		return Group{}, err
	}
	return g, nil
}

func parseGroup(tree any, resolve Resolver, depth int, count *int) (Group, error) {
	keys, vals, ok := params.Entries(tree)
	if !ok {
		return Group{}, &Error{Msg: "Invalid filter: the filter must be an object"}
	}
	if depth > params.MaxDepth {
		return Group{}, filterErr("nesting is too deep")
	}
	var g Group
	for i, key := range keys {
		val := vals[i]
		if strings.EqualFold(key, "logic") {
			s, _ := params.String(val)
			switch strings.ToUpper(s) {
			case "OR":
				g.Or = true
			case "AND", "":
			default:
				return Group{}, filterErr("logic must be AND or OR, got '%s'", s)
			}
			continue
		}
		*count++
		if *count > MaxConditions {
			return Group{}, filterErr("more than %d conditions", MaxConditions)
		}
		op, name := SplitOp(key)
		f, found := resolve(name)
		if !found {
			if _, _, isContainer := params.Entries(val); isContainer && isGroupKey(key, val) {
				sub, err := parseGroup(val, resolve, depth+1, count)
				if err != nil {
					return Group{}, err
				}
				g.Items = append(g.Items, sub)
				continue
			}
			return Group{}, filterErr("field '%s' is not allowed in filter", name)
		}
		if f.NoFilter {
			return Group{}, filterErr("field '%s' is not allowed in filter", name)
		}
		c, err := parseCond(f, op, val)
		if err != nil {
			return Group{}, err
		}
		g.Items = append(g.Items, c)
	}
	return g, nil
}

// isGroupKey: a key that names no field and holds an object opens a sub-group. Clients
// number them ("0", "1") or name them freely; what matters is that the value is a filter.
func isGroupKey(key string, val any) bool {
	_, isObj := val.(*params.Object)
	_, isList := val.([]any)
	return isObj || (isList && key != "" && strings.Trim(key, "0123456789") == "")
}

func parseCond(f *Field, op field.Op, val any) (Expr, error) {
	t := f.Type
	_, multiple := t.(field.ElementParser)
	if !field.Allows(t, op) {
		return nil, filterErr("operator '%s' is not allowed for field '%s'", op, f.Name)
	}
	invalid := func() error { return filterErr("field '%s' has invalid value", f.Name) }

	if _, elems, isList := params.Entries(val); isList {
		switch op {
		case field.OpEq, field.OpIn:
			op = field.OpIn
		case field.OpNotEq, field.OpNotIn:
			op = field.OpNotIn
		default:
			return nil, invalid()
		}
		list := make([]any, 0, len(elems))
		for _, e := range elems {
			v, err := parseScalar(f, e, multiple)
			if err != nil || v == nil {
				return nil, invalid()
			}
			list = append(list, v)
		}
		if len(list) > MaxConditions*10 {
			return nil, filterErr("field '%s' has too many values", f.Name)
		}
		if multiple {
			if op == field.OpIn {
				op = field.OpContainsAny
			} else {
				op = field.OpContainsNone
			}
		}
		return Cond{Field: f, Op: op, Value: list}, nil
	}

	switch op {
	case field.OpIn, field.OpNotIn:
		// A single value where a list is expected: treat it as a list of one.
		v, err := parseScalar(f, val, multiple)
		if err != nil || v == nil {
			return nil, invalid()
		}
		if multiple {
			op = map[field.Op]field.Op{field.OpIn: field.OpContainsAny, field.OpNotIn: field.OpContainsNone}[op]
		}
		return Cond{Field: f, Op: op, Value: []any{v}}, nil
	case field.OpContains, field.OpLike, field.OpNotContains, field.OpNotLike:
		s, ok := params.String(val)
		if !ok {
			return nil, invalid()
		}
		return Cond{Field: f, Op: op, Value: s}, nil
	}

	if val == nil || val == "" {
		if f.NullMeans != nil && (op == field.OpEq || op == field.OpNotEq) {
			return Cond{Field: f, Op: op, Value: f.NullMeans}, nil
		}
		if op == field.OpEq || op == field.OpNotEq {
			return Cond{Field: f, Op: op, Value: nil}, nil
		}
		return nil, invalid()
	}
	v, err := parseScalar(f, val, multiple)
	if err != nil || v == nil {
		return nil, invalid()
	}
	if multiple {
		if op == field.OpEq {
			return Cond{Field: f, Op: field.OpContainsAny, Value: []any{v}}, nil
		}
		if op == field.OpNotEq {
			return Cond{Field: f, Op: field.OpContainsNone, Value: []any{v}}, nil
		}
		return nil, invalid()
	}
	return Cond{Field: f, Op: op, Value: v}, nil
}

func parseScalar(f *Field, v any, multiple bool) (any, error) {
	if _, _, isList := params.Entries(v); isList {
		return nil, errors.New("nested list")
	}
	if multiple {
		return f.Type.(field.ElementParser).ParseElement(v)
	}
	return f.Type.Parse(v)
}
