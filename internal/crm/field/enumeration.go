package field

// Enumeration is a choice from a list of items kept by id; only ids of the field's own
// items are taken.
type Enumeration struct {
	Items map[int64]bool
}

// Name implements Type.
func (Enumeration) Name() string { return "enumeration" }

// Storage implements Type.
func (Enumeration) Storage() Storage { return StorageInt }

// Parse implements Type.
func (t Enumeration) Parse(v any) (any, error) {
	id, err := Integer{Positive: true}.Parse(v)
	if id == nil || err != nil {
		return id, err
	}
	if !t.Items[id.(int64)] {
		return nil, invalid("%d is not an item of this list", id)
	}
	return id, nil
}

// Format implements Type.
func (Enumeration) Format(v any) any { return v }

// Ops implements Type.
func (Enumeration) Ops() []Op { return scalarOps }
