package field

import "smartcrm/internal/params"

// Integer is a whole number. The same storage serves user ids, category ids and links
// to items of other types; only the name in field descriptions differs.
type Integer struct {
	TypeName string // "integer" when empty
	// Positive refuses zero and negatives: ids of users and items start at 1.
	Positive bool
}

// Name implements Type.
func (t Integer) Name() string {
	if t.TypeName == "" {
		return "integer"
	}
	return t.TypeName
}

// Storage implements Type.
func (Integer) Storage() Storage { return StorageInt }

// Parse implements Type.
func (t Integer) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	i, ok := params.Int(v)
	if !ok {
		return nil, invalid("%v is not an integer", v)
	}
	if t.Positive && i <= 0 {
		if i == 0 {
			return nil, nil // clients send 0 for "no link"
		}
		return nil, invalid("%d is not a valid id", i)
	}
	return i, nil
}

// Format implements Type.
func (Integer) Format(v any) any { return v }

// Ops implements Type.
func (Integer) Ops() []Op { return scalarOps }
