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
//
// Most objects hold a few keys (a bracket path like `a[][][]=1` makes one object per
// level with a single key each), so keys are found by a linear scan and a hash index is
// built only once an object outgrows it: a Go map costs a few hundred bytes even for
// one entry, which made small objects dominate the memory of a large request.
type Object struct {
	keys []string
	vals []any // vals[i] is the value of keys[i]
	// index maps a key to its position, once there are more than scanLimit keys.
	index map[string]int
	// next is PHP's next free index for `a[]=`: one more than the largest integer key
	// so far. Kept as keys are added, so appending stays O(1).
	next int
}

// scanLimit is the most keys an object looks up by scanning; beyond it, by index.
const scanLimit = 8

// NewObject returns an empty object.
func NewObject() *Object { return &Object{} }

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

// find returns the position of key, or -1.
func (o *Object) find(key string) int {
	if o.index != nil {
		if i, ok := o.index[key]; ok {
			return i
		}
		return -1
	}
	for i, k := range o.keys {
		if k == key {
			return i
		}
	}
	return -1
}

// Get returns the value under key.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	if i := o.find(key); i >= 0 {
		return o.vals[i], true
	}
	return nil, false
}

// Set stores a value, keeping the key's first position when it already exists.
func (o *Object) Set(key string, v any) {
	if i := o.find(key); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys = append(o.keys, key)
	o.vals = append(o.vals, v)
	switch {
	case o.index != nil:
		o.index[key] = len(o.keys) - 1
	case len(o.keys) > scanLimit:
		o.index = make(map[string]int, 2*len(o.keys))
		for i, k := range o.keys {
			o.index[k] = i
		}
	}
	if !numericKey(key) {
		return
	}
	if i, err := strconv.Atoi(key); err == nil && i >= o.next && i < 1<<31 {
		o.next = i + 1
	}
}

// numericKey tells whether a key may be a list index: checked before Atoi, whose error
// for every named key (most of them) would cost an allocation.
func numericKey(key string) bool {
	return key != "" && (key[0] >= '0' && key[0] <= '9' || key[0] == '-' || key[0] == '+')
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
		m[i] = jsonx.KV{K: k, V: o.vals[i]}
	}
	return m.MarshalJSON()
}

// Entries returns the children of an object or a list as ordered key/value pairs, so
// callers can treat PHP lists and numeric-key objects alike. ok is false for leaves.
func Entries(v any) (keys []string, vals []any, ok bool) {
	switch t := v.(type) {
	case *Object:
		// A copy: callers may reorder or change what they get without touching t.
		return t.keys, append([]any(nil), t.vals...), true
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
