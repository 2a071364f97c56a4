package field

import "time"

// Boolean is a yes/no custom field. It is stored as 1/0, which is how clients filter on
// it (spec §4.5: boolean filters take 1 and 0; Y/N work too), and formatted as "Y"/"N",
// as Bitrix24's REST converter answers crm.item.*; writes take every boolean spelling.
type Boolean struct{}

// Name implements Type.
func (Boolean) Name() string { return "boolean" }

// Storage implements Type.
func (Boolean) Storage() Storage { return StorageInt }

// Parse implements Type.
func (Boolean) Parse(v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	b, ok := AsBool(v)
	if !ok {
		return nil, invalid("%v is not a yes/no value", v)
	}
	if b {
		return int64(1), nil
	}
	return int64(0), nil
}

// Format implements Type.
func (Boolean) Format(v any) any {
	switch v {
	case int64(1):
		return "Y"
	case int64(0):
		return "N"
	}
	return v
}

// Ops implements Type.
func (Boolean) Ops() []Op { return []Op{OpEq, OpNotEq, OpIn, OpNotIn} }

// BooleanSettings are the settings of a yes/no custom field.
type BooleanSettings struct {
	Default       int      `setting:"DEFAULT_VALUE"`
	Display       string   `setting:"DISPLAY"`
	Label         []string `setting:"LABEL" wire:"string"`
	LabelCheckbox string   `setting:"LABEL_CHECKBOX"`
}

// DefaultValue implements Settings: a yes/no field always has a value, "no" unless the
// default says yes.
func (s BooleanSettings) DefaultValue(time.Time) any { return s.Default >= 1 }

type booleanKind struct{}

func (booleanKind) ID() string          { return "boolean" }
func (booleanKind) Description() string { return "Yes/No" }
func (booleanKind) NewSettings() Settings {
	return BooleanSettings{Display: "CHECKBOX", Label: []string{"", ""}}
}
func (booleanKind) Build(Settings, []EnumItem) (Type, error) { return Boolean{}, nil }

func init() { register(booleanKind{}) }
