package field

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"
)

// Kind is a type of custom field an administrator can create (userfieldconfig's
// userTypeId): string, integer, enumeration, file… Each kind lives in the file of its
// value type, with its settings struct, its defaults and how it builds the value type.
type Kind interface {
	// ID is the kind as userTypeId spells it.
	ID() string
	// Description is its human name.
	Description() string
	// NewSettings returns the settings a new field of this kind starts with.
	NewSettings() Settings
	// Build makes the value type of a field with these settings and list items. It
	// fails for settings the field cannot work with (a REGEXP that does not compile).
	Build(s Settings, items []EnumItem) (Type, error)
}

// Settings are a custom field's settings, a struct per kind. Their stored and wire form
// is a flat object keyed as Bitrix24 spells the settings (MAX_LENGTH, DEFAULT_VALUE…),
// which the struct tags name; ReadSettings and PlainSettings convert.
type Settings interface {
	// DefaultValue is the value an add gives the field when the caller sends none, as a
	// plain value for the field's Parse; nil when there is none.
	DefaultValue(now time.Time) any
}

// EnumItem is an item of a list (enumeration) field.
type EnumItem struct {
	ID    int64
	Value string
	Def   bool // selected by default on add
	Sort  int64
	XMLID string
}

var kinds = map[string]Kind{}

// kindOrder lists the kinds in the order userfieldconfig.getTypes shows them.
var kindOrder = []string{"string", "integer", "double", "boolean", "date", "datetime", "enumeration", "money", "url", "file", "address", "employee", "crm", "crm_status"}

func register(k Kind) { kinds[k.ID()] = k }

// KindByID finds a kind by its userTypeId.
func KindByID(id string) (Kind, bool) {
	k, ok := kinds[id]
	return k, ok
}

// Kinds lists every kind in a stable order.
func Kinds() []Kind {
	out := make([]Kind, 0, len(kindOrder))
	for _, id := range kindOrder {
		out = append(out, kinds[id])
	}
	return out
}

// ReadSettings applies a plain settings object onto base (a kind's NewSettings or a
// field's current settings) and returns the result. Keys are matched without regard to
// letter case; unknown keys are ignored. Values take every spelling a client uses: "10"
// for 10, "Y"/"N" for flags.
func ReadSettings(base Settings, raw map[string]any) (Settings, error) {
	if r, ok := base.(settingsReader); ok {
		return r.readSettings(raw)
	}
	ptr := reflect.New(reflect.TypeOf(base))
	ptr.Elem().Set(reflect.ValueOf(base))
	st := ptr.Elem()
	for i := 0; i < st.NumField(); i++ {
		key := st.Type().Field(i).Tag.Get("setting")
		if key == "" {
			continue
		}
		v, given := Lookup(raw, key)
		if !given {
			continue
		}
		if err := setSetting(st.Field(i), key, v); err != nil {
			return nil, err
		}
	}
	return ptr.Elem().Interface().(Settings), nil
}

// settingsReader is implemented by settings whose keys are not fixed (a CRM link's
// allowed types).
type settingsReader interface {
	readSettings(raw map[string]any) (Settings, error)
}

// settingsWriter is implemented by settings with a plain form of their own.
type settingsWriter interface {
	plainSettings() map[string]any
}

func setSetting(dst reflect.Value, key string, v any) error {
	bad := func(want string) error { return fmt.Errorf("setting %s must be %s", key, want) }
	switch dst.Type() {
	case reflect.TypeFor[int]():
		if v == nil || v == "" {
			dst.SetInt(0)
			return nil
		}
		n, ok := AsInt(v)
		if !ok {
			if f, isNum := AsFloat(v); isNum {
				n, ok = int64(f), true
			}
		}
		if !ok {
			return bad("a whole number")
		}
		dst.SetInt(n)
	case reflect.TypeFor[float64]():
		if v == nil || v == "" {
			dst.SetFloat(0)
			return nil
		}
		f, ok := AsFloat(v)
		if !ok {
			return bad("a number")
		}
		dst.SetFloat(f)
	case reflect.TypeFor[string]():
		s, ok := AsString(v)
		if !ok {
			return bad("a text")
		}
		dst.SetString(s)
	case reflect.TypeFor[YN]():
		b, ok := AsBool(v)
		if !ok {
			return bad("Y or N")
		}
		dst.Set(reflect.ValueOf(YesNo(b)))
	case reflect.TypeFor[[]string]():
		list, ok := Elements(v)
		if !ok {
			if v == nil || v == "" {
				list = nil
			} else {
				list = []any{v}
			}
		}
		out := []string{}
		for _, e := range list {
			s, ok := AsString(e)
			if !ok {
				return bad("a list of texts")
			}
			out = append(out, s)
		}
		dst.Set(reflect.ValueOf(out))
	case reflect.TypeFor[DefaultDate]():
		m, ok := v.(map[string]any)
		if !ok {
			return bad("an object {TYPE: NONE|NOW|FIXED, VALUE}")
		}
		var d DefaultDate
		t, _ := Lookup(m, "TYPE")
		d.Type, _ = AsString(t)
		val, _ := Lookup(m, "VALUE")
		d.Value, _ = AsString(val)
		dst.Set(reflect.ValueOf(d))
	case reflect.TypeFor[any]():
		if v != nil {
			dst.Set(reflect.ValueOf(v))
		} else {
			dst.SetZero()
		}
	default:
		return fmt.Errorf("setting %s has no reader", key)
	}
	return nil
}

// PlainSettings is the stored and wire form of settings: an object keyed by setting.
func PlainSettings(s Settings) map[string]any {
	if w, ok := s.(settingsWriter); ok {
		return w.plainSettings()
	}
	out := map[string]any{}
	st := reflect.ValueOf(s)
	for i := 0; i < st.NumField(); i++ {
		key := st.Type().Field(i).Tag.Get("setting")
		if key == "" {
			continue
		}
		switch v := st.Field(i).Interface().(type) {
		case DefaultDate:
			out[key] = map[string]any{"TYPE": v.Type, "VALUE": v.Value}
		case YN:
			out[key] = string(v)
		default:
			out[key] = v
		}
	}
	return out
}

// SettingKeys lists the plain form's keys in order, for answers that list them.
func SettingKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SettingTypes describes a kind's settings for crm.userfield.settings.fields: each
// setting's key and its wire type (int, double, string, char, object).
func SettingTypes(k Kind) [][2]string {
	s := k.NewSettings()
	if d, ok := s.(interface{ settingTypes() [][2]string }); ok {
		return d.settingTypes()
	}
	var out [][2]string
	st := reflect.ValueOf(s)
	for i := 0; i < st.NumField(); i++ {
		f := st.Type().Field(i)
		key := f.Tag.Get("setting")
		if key == "" {
			continue
		}
		typ := f.Tag.Get("wire")
		if typ == "" {
			switch st.Field(i).Interface().(type) {
			case int:
				typ = "int"
			case float64:
				typ = "double"
			case YN:
				typ = "char"
			case DefaultDate:
				typ = "object"
			default:
				typ = "string"
			}
		}
		out = append(out, [2]string{key, typ})
	}
	return out
}

// YN is a yes/no setting as Bitrix24 spells it: "Y" or "N".
type YN string

// YesNo spells a boolean as Y or N.
func YesNo(b bool) YN {
	if b {
		return "Y"
	}
	return "N"
}

// DefaultDate is the default of a date field: none, the moment of the add, or a fixed
// date.
type DefaultDate struct {
	Type  string // NONE, NOW or FIXED
	Value string // the date when FIXED
}

// dateDefault reads a date default for a value type.
func (d DefaultDate) value(now time.Time) any {
	switch strings.ToUpper(d.Type) {
	case "NOW":
		return now
	case "FIXED":
		if d.Value == "" {
			return nil
		}
		return d.Value
	}
	return nil
}

// BuildField is what a custom field's registry row turns into: its value type (a
// Multiple of it when the field holds several values) and its default.
func BuildField(kindID string, s Settings, items []EnumItem, multiple bool) (Type, func(now time.Time) any, error) {
	k, ok := kinds[kindID]
	if !ok {
		return nil, nil, fmt.Errorf("unknown custom field type %q", kindID)
	}
	typ, err := k.Build(s, items)
	if err != nil {
		return nil, nil, err
	}
	def := defaultOf(kindID, s, items, typ, multiple)
	if multiple {
		typ = Multiple{Elem: typ}
	}
	return typ, def, nil
}

// defaultOf reads a field's default: the default list items of an enumeration, the
// settings' DEFAULT_VALUE of the rest. A default that does not parse as the field's
// type is ignored rather than failing every add.
func defaultOf(kindID string, s Settings, items []EnumItem, typ Type, multiple bool) func(time.Time) any {
	if kindID == "enumeration" {
		var defs []any
		for _, e := range items {
			if e.Def {
				defs = append(defs, e.ID)
			}
		}
		switch {
		case len(defs) == 0:
			return nil
		case multiple:
			return func(time.Time) any { return defs }
		}
		return func(time.Time) any { return defs[0] }
	}
	probe := s.DefaultValue(time.Now())
	if probe == nil || probe == "" {
		return nil
	}
	if _, isTime := probe.(time.Time); isTime {
		// A moment: computed at each add, never for multiple fields.
		if multiple {
			return nil
		}
		return func(now time.Time) any {
			v, err := typ.Parse(s.DefaultValue(now))
			if err != nil {
				return nil
			}
			return v
		}
	}
	raw := probe
	if multiple {
		raw = []any{raw}
		typ = Multiple{Elem: typ}
	}
	v, err := typ.Parse(raw)
	if err != nil || v == nil {
		return nil
	}
	return func(time.Time) any { return v }
}
