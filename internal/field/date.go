package field

import (
	"time"
)

// Date is a calendar day. It comes back as a full datetime at local midnight, because
// crm.item does that for date fields (spec §11.4).
type Date struct{}

// Name implements Type.
func (Date) Name() string { return "date" }

// Storage implements Type.
func (Date) Storage() Storage { return StorageDate }

// Parse implements Type.
func (Date) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	var t time.Time
	if tt, ok := v.(time.Time); ok {
		t = tt
	} else {
		s, ok := AsString(v)
		if !ok {
			return nil, invalid("a date is expected")
		}
		if t, ok = ParseTime(s); !ok {
			return nil, invalid("%q is not a date", s)
		}
	}
	t = t.In(time.Local)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.Local), nil
}

// Format implements Type.
func (Date) Format(v any) any { return DateTime{}.Format(v) }

// Ops implements Type.
func (Date) Ops() []Op { return scalarOps }

// DateSettings are the settings of a date custom field.
type DateSettings struct {
	Default DefaultDate `setting:"DEFAULT_VALUE"`
}

// DefaultValue implements Settings.
func (s DateSettings) DefaultValue(now time.Time) any { return s.Default.value(now) }

type dateKind struct{}

func (dateKind) ID() string            { return "date" }
func (dateKind) Description() string   { return "Date" }
func (dateKind) NewSettings() Settings { return DateSettings{Default: DefaultDate{Type: "NONE"}} }
func (dateKind) Build(Settings, []EnumItem) (Type, error) {
	return Date{}, nil
}

func init() { register(dateKind{}) }
