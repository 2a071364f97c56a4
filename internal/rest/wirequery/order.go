package wirequery

import (
	"strings"

	"smartcrm/internal/params"
	"smartcrm/internal/query"
)

// ParseOrder validates an `order` object: `{field: "ASC"|"DESC"}` in priority order.
func ParseOrder(tree any, resolve query.Resolver) ([]query.Order, error) {
	if tree == nil || params.IsEmptyContainer(tree) {
		return nil, nil
	}
	if s, ok := tree.(string); ok && s == "" {
		return nil, nil
	}
	keys, vals, ok := params.Entries(tree)
	if !ok {
		return nil, &query.Error{Msg: "Invalid order: the order must be an object"}
	}
	var out []query.Order
	seen := map[string]bool{}
	for i, key := range keys {
		f, found := resolve(key)
		if !found || f.NoOrder {
			return nil, &query.Error{Msg: "Invalid order: field '" + key + "' is not allowed in order"}
		}
		dir, _ := params.String(vals[i])
		var desc bool
		switch strings.ToUpper(strings.TrimSpace(dir)) {
		case "ASC":
		case "DESC":
			desc = true
		default:
			return nil, &query.Error{Msg: "Invalid order: allowed sort directions are ASC, DESC. But got '" + dir + "' for field '" + key + "'"}
		}
		if seen[f.Column] {
			continue
		}
		seen[f.Column] = true
		out = append(out, query.Order{Field: f, Desc: desc})
	}
	return out, nil
}
