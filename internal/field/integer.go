package field

import "time"

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
	i, ok := AsInt(v)
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

// Refs implements Referrer: user and employee ids name active users.
func (t Integer) Refs(v any) []Ref {
	id, ok := v.(int64)
	if !ok || (t.TypeName != "user" && t.TypeName != "employee") {
		return nil
	}
	return []Ref{{Kind: RefUser, ID: id}}
}

// IntegerSettings are the settings of an integer custom field.
type IntegerSettings struct {
	Size     int `setting:"SIZE"`
	MinValue int `setting:"MIN_VALUE"`
	MaxValue int `setting:"MAX_VALUE"`
	Default  any `setting:"DEFAULT_VALUE" wire:"int"`
}

// DefaultValue implements Settings.
func (s IntegerSettings) DefaultValue(time.Time) any { return s.Default }

type integerKind struct{}

func (integerKind) ID() string            { return "integer" }
func (integerKind) Description() string   { return "Integer" }
func (integerKind) NewSettings() Settings { return IntegerSettings{Size: 20} }
func (integerKind) Build(Settings, []EnumItem) (Type, error) {
	return Integer{}, nil
}

// EmployeeSettings are the (no) settings of a link to an employee.
type EmployeeSettings struct{}

// DefaultValue implements Settings.
func (EmployeeSettings) DefaultValue(time.Time) any { return nil }

type employeeKind struct{}

func (employeeKind) ID() string            { return "employee" }
func (employeeKind) Description() string   { return "Link to employee" }
func (employeeKind) NewSettings() Settings { return EmployeeSettings{} }
func (employeeKind) Build(Settings, []EnumItem) (Type, error) {
	return Integer{TypeName: "employee", Positive: true}, nil
}

func init() {
	register(integerKind{})
	register(employeeKind{})
}
