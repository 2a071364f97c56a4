// Package params decodes Bitrix24 REST call parameters into one tree, whatever the
// transport: a GET query, an urlencoded or multipart form, or a JSON body.
//
// The tree mirrors a PHP array, because that is what Bitrix24 builds on its side and
// what clients are written against: an *Object is an ordered map (key order matters for
// `order` and for positional parameters), []any is a JSON list, and leaves are string,
// json.Number, bool or nil. Bracket syntax (`filter[>=id]=5`, `select[]=id`) produces
// nested objects; a JSON body produces the same shapes.
package params

import (
	"strconv"

	"smartcrm/internal/jsonx"
)

// Object is an ordered string-keyed map, the tree's only map type.
type Object struct {
	keys []string
	vals map[string]any
	// next is PHP's next free index for `a[]=`: one more than the largest integer key
	// so far. Kept as keys are added, so appending stays O(1).
	next int
}

// NewObject returns an empty object.
func NewObject() *Object { return &Object{vals: map[string]any{}} }

// Len is the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Keys returns the keys in insertion order. The slice must not be modified.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return o.keys
}

// Get returns the value under key.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.vals[key]
	return v, ok
}

// Set stores a value, keeping the key's first position when it already exists.
func (o *Object) Set(key string, v any) {
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
		if i, err := strconv.Atoi(key); err == nil && i >= o.next && i < 1<<31 {
			o.next = i + 1
		}
	}
	o.vals[key] = v
}

// nextIndex is PHP's rule for `a[]=`.
func (o *Object) nextIndex() string { return strconv.Itoa(o.next) }

// MarshalJSON writes the object with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	if o == nil {
		return []byte("null"), nil
	}
	m := make(jsonx.Map, len(o.keys))
	for i, k := range o.keys {
		m[i] = jsonx.KV{K: k, V: o.vals[k]}
	}
	return m.MarshalJSON()
}

// Entries returns the children of an object or a list as ordered key/value pairs, so
// callers can treat PHP lists and numeric-key objects alike. ok is false for leaves.
func Entries(v any) (keys []string, vals []any, ok bool) {
	switch t := v.(type) {
	case *Object:
		vals = make([]any, len(t.keys))
		for i, k := range t.keys {
			vals[i] = t.vals[k]
		}
		return t.keys, vals, true
	case []any:
		keys = make([]string, len(t))
		for i := range t {
			keys[i] = strconv.Itoa(i)
		}
		return keys, t, true
	}
	return nil, nil, false
}

// IsEmptyContainer reports whether v is an empty list or object. PHP clients send `[]`
// for an empty map, so an empty list must be accepted wherever an object is expected.
func IsEmptyContainer(v any) bool {
	switch t := v.(type) {
	case *Object:
		return t.Len() == 0
	case []any:
		return len(t) == 0
	}
	return false
}

// AsObject returns v as an object: an object as is, a list as an object keyed by index,
// nil for a leaf.
func AsObject(v any) *Object {
	switch t := v.(type) {
	case *Object:
		return t
	case []any:
		o := NewObject()
		for i, e := range t {
			o.Set(strconv.Itoa(i), e)
		}
		return o
	}
	return nil
}
