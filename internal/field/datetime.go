package field

import (
	"strings"
	"time"
)

// WireTime is how dates and moments go out: ISO 8601 with the server's offset, which is
// how Bitrix24 writes them ("2024-07-18T14:00:14+02:00").
const WireTime = "2006-01-02T15:04:05-07:00"

// Input layouts, most specific first. Values without an offset are read in the
// server's time zone, as Bitrix24 does.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02",
	"02.01.2006 15:04:05",
	"02.01.2006",
}

// ParseTime reads a date or a moment in any accepted spelling.
func ParseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			if t.Year() < 1 || t.Year() > 9999 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

// DateTime is a moment in time, kept to the second.
type DateTime struct{}

// Name implements Type.
func (DateTime) Name() string { return "datetime" }

// Storage implements Type.
func (DateTime) Storage() Storage { return StorageTime }

// Parse implements Type.
func (DateTime) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	if t, ok := v.(time.Time); ok {
		return t.Truncate(time.Second), nil
	}
	s, ok := AsString(v)
	if !ok {
		return nil, invalid("a date and time is expected")
	}
	t, ok := ParseTime(s)
	if !ok {
		return nil, invalid("%q is not a date and time", s)
	}
	return t.Truncate(time.Second), nil
}

// Format implements Type.
func (DateTime) Format(v any) any {
	if t, ok := v.(time.Time); ok {
		return FormatWireTime(t)
	}
	return v
}

// Ops implements Type.
func (DateTime) Ops() []Op { return scalarOps }

// DateTimeSettings are the settings of a date-with-time custom field.
type DateTimeSettings struct {
	Default     DefaultDate `setting:"DEFAULT_VALUE"`
	UseSecond   YN          `setting:"USE_SECOND"`
	UseTimezone YN          `setting:"USE_TIMEZONE"`
}

// DefaultValue implements Settings.
func (s DateTimeSettings) DefaultValue(now time.Time) any { return s.Default.value(now) }

type dateTimeKind struct{}

func (dateTimeKind) ID() string          { return "datetime" }
func (dateTimeKind) Description() string { return "Date with time" }
func (dateTimeKind) NewSettings() Settings {
	return DateTimeSettings{Default: DefaultDate{Type: "NONE"}, UseSecond: "Y", UseTimezone: "N"}
}
func (dateTimeKind) Build(Settings, []EnumItem) (Type, error) { return DateTime{}, nil }

func init() { register(dateTimeKind{}) }
