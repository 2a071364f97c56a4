package rest

import (
	"fmt"
	"slices"
	"strings"

	"smartcrm/internal/crm"

	"smartcrm/internal/params"
)

// Parameter readers shared by the method families. Their errors carry code 100 and
// Bitrix24's wording for controller parameters.

func missingParam(name string) *APIError {
	return apiErr(400, 100, fmt.Sprintf("Could not find value for parameter {%s}", name))
}

func wrongParamType(name, want string) *APIError {
	return apiErr(400, 100, fmt.Sprintf("Invalid value to match with parameter {%s}. Should be value of type %s.", name, want))
}

// intParam reads a required integer parameter.
func intParam(p *params.Object, name string) (int64, error) {
	v, ok := params.Lookup(p, name)
	if !ok || v == nil || v == "" {
		return 0, missingParam(name)
	}
	i, ok := params.Int(v)
	if !ok {
		return 0, wrongParamType(name, "int")
	}
	return i, nil
}

// stringParam reads a required, non-empty text parameter.
func stringParam(p *params.Object, name string) (string, error) {
	v, ok := params.Lookup(p, name)
	str, isText := v.(string)
	if !ok || v == nil || str == "" {
		if ok && v != nil && !isText {
			return "", wrongParamType(name, "string")
		}
		return "", missingParam(name)
	}
	return str, nil
}

// objectParam reads a required object parameter; an empty list counts as an empty object.
func objectParam(p *params.Object, name string) (*params.Object, error) {
	v, ok := params.Lookup(p, name)
	if !ok || v == nil {
		return nil, missingParam(name)
	}
	if params.IsEmptyContainer(v) {
		return params.NewObject(), nil
	}
	o, isObj := v.(*params.Object)
	if !isObj {
		return nil, wrongParamType(name, "array")
	}
	return o, nil
}

// startParam reads `start`: -1 means no counting; anything else unusable means 0.
func startParam(p *params.Object) int64 {
	v, ok := params.Lookup(p, "start")
	if !ok {
		return 0
	}
	i, ok := params.Int(v)
	if !ok || i < -1 {
		return 0
	}
	return i
}

// pageInfo returns total and next for a list answer.
func pageInfo(start int64, rows, total int) (*int, *int) {
	if total < 0 {
		zero := 0
		return &zero, nil
	}
	t := total
	if start < 0 {
		start = 0
	}
	if int(start)+rows < total {
		n := int(start) + crm.PageSize
		return &t, &n
	}
	return &t, nil
}

// selectNames reads `select` as a set of names (upper-cased for the UPPER_CASE
// families), nil when it is absent or empty: every field.
func selectNames(p *params.Object, upper bool) map[string]bool {
	v, ok := params.Lookup(p, "select")
	if !ok || params.IsEmptyContainer(v) {
		return nil
	}
	_, names, isList := params.Entries(v)
	if !isList {
		return nil
	}
	sel := map[string]bool{}
	for _, n := range names {
		if name, ok := params.String(n); ok {
			if upper {
				name = strings.ToUpper(name)
			}
			sel[name] = true
		}
	}
	return sel
}

// lookup reads a parameter of a call by name, in any letter case.
func lookup(c *Call, name string) (any, bool) { return params.Lookup(c.Params, name) }

// plainObject reads an object parameter as plain values (see plain).
func plainObject(o *params.Object) map[string]any {
	out := make(map[string]any, o.Len())
	for _, k := range o.Keys() {
		v, _ := o.Get(k)
		out[k] = plain(v)
	}
	return out
}

// names reads a list of names (`select`); nil when absent or not a list.
func names(v any) []string {
	if s, ok := v.(string); ok && s != "" {
		return []string{s}
	}
	_, vals, ok := params.Entries(v)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(vals))
	for _, e := range vals {
		if s, ok := params.String(e); ok {
			out = append(out, s)
		}
	}
	return out
}

// orderKey is one key of an `order` parameter read by readOrderKeys.
type orderKey struct {
	name string // upper case
	desc bool
}

// readOrderKeys reads an `order` object of families that sort a fixed catalog in
// memory: each key one of allowed (any letter case), each direction ASC or DESC. Without
// an order the answer is def.
func readOrderKeys(c *Call, allowed []string, def []orderKey) ([]orderKey, error) {
	v, ok := lookup(c, "order")
	if !ok || v == nil || v == "" || params.IsEmptyContainer(v) {
		return def, nil
	}
	o, isObj := v.(*params.Object)
	if !isObj {
		return nil, apiErr(400, "", "Parameter 'order' must be array.")
	}
	var keys []orderKey
	for _, k := range o.Keys() {
		val, _ := o.Get(k)
		dir, _ := params.String(val)
		name := strings.ToUpper(strings.TrimSpace(k))
		if !slices.Contains(allowed, name) {
			return nil, crm.NewError(crm.ErrInvalidArg, "Invalid order: field '%s' is not allowed in order", k)
		}
		switch strings.ToUpper(strings.TrimSpace(dir)) {
		case "ASC":
			keys = append(keys, orderKey{name, false})
		case "DESC":
			keys = append(keys, orderKey{name, true})
		default:
			return nil, crm.NewError(crm.ErrInvalidArg, "Invalid order: the direction of %s must be ASC or DESC", k)
		}
	}
	return keys, nil
}

// orderBy makes a less function from order keys and a comparison of two values by key.
func orderBy[T any](keys []orderKey, cmp func(key string, a, b T) int) func(a, b T) bool {
	return func(a, b T) bool {
		for _, k := range keys {
			if d := cmp(k.name, a, b); d != 0 {
				return d < 0 != k.desc
			}
		}
		return false
	}
}
