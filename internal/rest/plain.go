package rest

import (
	"strconv"

	"smartcrm/internal/params"
)

// plain turns a parameter tree into the plain values the domain reads (see the field
// package): an object becomes a map, or a list when its keys are the positions 0, 1, …
// (how PHP clients send lists); leaves stay as they are.
func plain(v any) any {
	switch t := v.(type) {
	case *params.Object:
		keys, vals, _ := params.Entries(t)
		if isPositional(keys) {
			out := make([]any, len(vals))
			for i, e := range vals {
				out[i] = plain(e)
			}
			return out
		}
		out := make(map[string]any, len(keys))
		for i, k := range keys {
			out[k] = plain(vals[i])
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// isPositional reports whether object keys are 0, 1, 2… in order.
func isPositional(keys []string) bool {
	if len(keys) == 0 {
		return false
	}
	for i, k := range keys {
		if k != strconv.Itoa(i) {
			return false
		}
	}
	return true
}
