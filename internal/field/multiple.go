package field

import (
	"time"
)

// Multiple holds several values of one element type, stored as a JSON array. A client
// sends a list (a scalar is refused: spec §4.5, error 100) and gets a list back, `[]`
// when empty. Filters ask whether the list holds a value.
type Multiple struct{ Elem Type }

// Name implements Type: a multiple field is described by its element type.
func (t Multiple) Name() string { return t.Elem.Name() }

// Storage implements Type.
func (Multiple) Storage() Storage { return StorageJSON }

// Parse implements Type. Empty elements are dropped, so [""] clears the field.
func (t Multiple) Parse(v any) (any, error) {
	if isEmpty(v) {
		return []any{}, nil
	}
	vals, ok := Elements(v)
	if !ok {
		return nil, ErrNotIterable
	}
	out := make([]any, 0, len(vals))
	_, listElems := t.Elem.(interface{ AcceptsList() bool })
	for _, e := range vals {
		if IsList(e) && !listElems {
			return nil, invalid("a list of values is expected, not a list of lists")
		}
		p, err := t.Elem.Parse(e)
		if err != nil {
			return nil, err
		}
		if p != nil {
			out = append(out, p)
		}
	}
	return out, nil
}

// FromStorage implements FromStorage: stored elements are parsed back into canonical
// values (times were stored as ISO text).
func (t Multiple) FromStorage(v any) (any, error) { return t.Parse(v) }

// ParseElement implements ElementParser, for filters.
func (t Multiple) ParseElement(v any) (any, error) {
	p, err := t.Elem.Parse(v)
	if tm, ok := p.(time.Time); ok {
		return tm.Format(time.RFC3339), err
	}
	return p, err
}

// Format implements Type.
func (t Multiple) Format(v any) any {
	list, _ := v.([]any)
	out := make([]any, len(list))
	for i, e := range list {
		out[i] = t.Elem.Format(e)
	}
	return out
}

// Ops implements Type.
func (Multiple) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn} }
