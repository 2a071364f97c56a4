package field

// Flag is a CRM boolean, spelled "Y"/"N" on the wire and stored as that letter.
// Input accepts every boolean spelling clients use.
type Flag struct{}

// Name implements Type.
func (Flag) Name() string { return "char" }

// Storage implements Type.
func (Flag) Storage() Storage { return StorageText }

// Parse implements Type.
func (Flag) Parse(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, ok := AsBool(v)
	if !ok {
		return nil, invalid("%v is not Y or N", v)
	}
	if b {
		return "Y", nil
	}
	return "N", nil
}

// Format implements Type.
func (Flag) Format(v any) any { return v }

// Ops implements Type.
func (Flag) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn} }
