// Package jsonx writes JSON objects whose key order is part of the contract. Bitrix24
// answers list fields in a fixed order (id first, entityTypeId last) and clients that
// print or diff responses rely on it; Go maps would shuffle them.
package jsonx

// KV is one member of an object.
type KV struct {
	K string
	V any
}

// Obj is an ordered JSON object. An empty Obj is written as `[]`, the way PHP writes an
// empty array; use Map when an empty object must stay `{}`.
type Obj []KV

// Add appends a member.
func (o *Obj) Add(k string, v any) { *o = append(*o, KV{k, v}) }

// Get returns the value of the first member named k.
func (o Obj) Get(k string) (any, bool) {
	for _, kv := range o {
		if kv.K == k {
			return kv.V, true
		}
	}
	return nil, false
}

// MarshalJSON implements json.Marshaler.
func (o Obj) MarshalJSON() ([]byte, error) { return Append(nil, o) }

// Map is an ordered object that stays `{}` when empty.
type Map []KV

// MarshalJSON implements json.Marshaler.
func (m Map) MarshalJSON() ([]byte, error) { return Append(nil, m) }

// Get returns the value of the first member named k.
func (m Map) Get(k string) (any, bool) { return Obj(m).Get(k) }
