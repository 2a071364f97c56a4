// Package wirequery reads the `filter` and `order` parameters of Bitrix24 list methods
// (PHP parameter trees) into the typed query the domain and the store work with. Field
// names are resolved against the caller's catalog here, so nothing a client typed ever
// reaches SQL.
package wirequery

import (
	"errors"
	"fmt"
	"strings"

	"smartcrm/internal/field"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
)

func filterErr(format string, a ...any) error {
	return &query.Error{Msg: "Invalid filter: " + fmt.Sprintf(format, a...)}
}

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
func ParseFilter(tree any, resolve query.Resolver) (query.Group, error) {
	if tree == nil || params.IsEmptyContainer(tree) {
		return query.Group{}, nil
	}
	if s, ok := tree.(string); ok && s == "" {
		return query.Group{}, nil
	}
	count := 0
	g, err := parseGroup(tree, resolve, 0, &count)
	if err != nil {
		return query.Group{}, err
	}
	return g, nil
}

func parseGroup(tree any, resolve query.Resolver, depth int, count *int) (query.Group, error) {
	keys, vals, ok := params.Entries(tree)
	if !ok {
		return query.Group{}, &query.Error{Msg: "Invalid filter: the filter must be an object"}
	}
	if depth > params.MaxDepth {
		return query.Group{}, filterErr("nesting is too deep")
	}
	var g query.Group
	for i, key := range keys {
		val := vals[i]
		if strings.EqualFold(key, "logic") {
			s, _ := params.String(val)
			switch strings.ToUpper(s) {
			case "OR":
				g.Or = true
			case "AND", "":
			default:
				return query.Group{}, filterErr("logic must be AND or OR, got '%s'", s)
			}
			continue
		}
		*count++
		if *count > query.MaxConditions {
			return query.Group{}, filterErr("more than %d conditions", query.MaxConditions)
		}
		op, name := SplitOp(key)
		f, found := resolve(name)
		if !found {
			if _, _, isContainer := params.Entries(val); isContainer && isGroupKey(key, val) {
				sub, err := parseGroup(val, resolve, depth+1, count)
				if err != nil {
					return query.Group{}, err
				}
				g.Items = append(g.Items, sub)
				continue
			}
			return query.Group{}, filterErr("field '%s' is not allowed in filter", name)
		}
		if f.NoFilter {
			return query.Group{}, filterErr("field '%s' is not allowed in filter", name)
		}
		c, err := parseCond(f, op, val)
		if err != nil {
			return query.Group{}, err
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

func parseCond(f *query.Field, op field.Op, val any) (query.Expr, error) {
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
		if len(list) > query.MaxConditions*10 {
			return nil, filterErr("field '%s' has too many values", f.Name)
		}
		if multiple {
			if op == field.OpIn {
				op = field.OpContainsAny
			} else {
				op = field.OpContainsNone
			}
		}
		return query.Cond{Field: f, Op: op, Value: list}, nil
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
		return query.Cond{Field: f, Op: op, Value: []any{v}}, nil
	case field.OpContains, field.OpLike, field.OpNotContains, field.OpNotLike:
		s, ok := params.String(val)
		if !ok {
			return nil, invalid()
		}
		return query.Cond{Field: f, Op: op, Value: s}, nil
	}

	if val == nil || val == "" {
		if f.NullMeans != nil && (op == field.OpEq || op == field.OpNotEq) {
			return query.Cond{Field: f, Op: op, Value: f.NullMeans}, nil
		}
		if op == field.OpEq || op == field.OpNotEq {
			return query.Cond{Field: f, Op: op, Value: nil}, nil
		}
		return nil, invalid()
	}
	v, err := parseScalar(f, val, multiple)
	if err != nil || v == nil {
		return nil, invalid()
	}
	if multiple {
		if op == field.OpEq {
			return query.Cond{Field: f, Op: field.OpContainsAny, Value: []any{v}}, nil
		}
		if op == field.OpNotEq {
			return query.Cond{Field: f, Op: field.OpContainsNone, Value: []any{v}}, nil
		}
		return nil, invalid()
	}
	return query.Cond{Field: f, Op: op, Value: v}, nil
}

func parseScalar(f *query.Field, v any, multiple bool) (any, error) {
	if _, _, isList := params.Entries(v); isList {
		return nil, errors.New("nested list")
	}
	if multiple {
		return f.Type.(field.ElementParser).ParseElement(v)
	}
	return f.Type.Parse(v)
}
