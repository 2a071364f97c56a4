package crm

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// Custom fields (userfieldconfig.*). Each is a row of the registry and a real column of
// its type's items table; in the item catalog it is one more Field, so parsing,
// validation, storage, filters and output work as for system fields.

// ufKind describes a custom field type: its description and how to build the value
// type from the field's settings and items.
type ufKind struct {
	description string
	build       func(rec *store.UserFieldRecord, settings map[string]any) (field.Type, error)
	// defaults are the settings a field of this kind starts with.
	defaults func() map[string]any
}

// ufKinds are the custom field types this server supports, by userTypeId.
var ufKinds = map[string]ufKind{
	"string": {"String", func(_ *store.UserFieldRecord, s map[string]any) (field.Type, error) {
		t := field.Text{MaxLen: 65535, MinLen: intSetting(s, "MIN_LENGTH")}
		if n := intSetting(s, "MAX_LENGTH"); n > 0 {
			t.MaxLen = n
		}
		if re, _ := s["REGEXP"].(string); re != "" {
			p, err := regexp.Compile(strings.Trim(re, "/"))
			if err != nil {
				return nil, fmt.Errorf("REGEXP does not compile: %v", err)
			}
			t.Pattern = p
		}
		return t, nil
	}, func() map[string]any {
		return map[string]any{"SIZE": 20, "ROWS": 1, "REGEXP": "", "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": ""}
	}},
	"integer": {"Integer", func(*store.UserFieldRecord, map[string]any) (field.Type, error) { return field.Integer{}, nil },
		func() map[string]any {
			return map[string]any{"SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": nil}
		}},
	"double": {"Number", func(_ *store.UserFieldRecord, s map[string]any) (field.Type, error) {
		p := 2
		if _, set := s["PRECISION"]; set {
			p = min(max(intSetting(s, "PRECISION"), 0), 12)
		}
		return field.Double{Precision: p}, nil
	}, func() map[string]any {
		return map[string]any{"PRECISION": 2, "SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": nil}
	}},
	"boolean": {"Yes/No", func(*store.UserFieldRecord, map[string]any) (field.Type, error) { return field.Boolean{}, nil },
		func() map[string]any {
			return map[string]any{"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX", "LABEL": []any{"", ""}, "LABEL_CHECKBOX": ""}
		}},
	"date": {"Date", func(*store.UserFieldRecord, map[string]any) (field.Type, error) { return field.Date{}, nil },
		func() map[string]any {
			return map[string]any{"DEFAULT_VALUE": map[string]any{"TYPE": "NONE", "VALUE": ""}}
		}},
	"datetime": {"Date with time", func(*store.UserFieldRecord, map[string]any) (field.Type, error) { return field.DateTime{}, nil },
		func() map[string]any {
			return map[string]any{"DEFAULT_VALUE": map[string]any{"TYPE": "NONE", "VALUE": ""}, "USE_SECOND": "Y", "USE_TIMEZONE": "N"}
		}},
	"enumeration": {"List", func(rec *store.UserFieldRecord, _ map[string]any) (field.Type, error) {
		items := map[int64]bool{}
		for _, e := range rec.Enums {
			items[e.ID] = true
		}
		return field.Enumeration{Items: items}, nil
	}, func() map[string]any {
		return map[string]any{"DISPLAY": "LIST", "LIST_HEIGHT": 1, "CAPTION_NO_VALUE": "", "SHOW_NO_VALUE": "Y"}
	}},
	"money": {"Money", func(*store.UserFieldRecord, map[string]any) (field.Type, error) { return field.Money{}, nil },
		func() map[string]any { return map[string]any{"DEFAULT_VALUE": ""} }},
	"url": {"Link", func(*store.UserFieldRecord, map[string]any) (field.Type, error) {
		return field.URL{Text: field.Text{MaxLen: 2048}}, nil
	}, func() map[string]any {
		return map[string]any{"POPUP": "Y", "SIZE": 20, "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": "", "ROWS": 1}
	}},
	"crm": {"Link to CRM items", func(_ *store.UserFieldRecord, s map[string]any) (field.Type, error) {
		allowed := map[string]int64{}
		for key, v := range s {
			if on, _ := v.(string); on != "Y" {
				continue
			}
			switch {
			case key == "LEAD":
				allowed["L"] = 1
			case key == "DEAL":
				allowed["D"] = 2
			case key == "CONTACT":
				allowed["C"] = 3
			case key == "COMPANY":
				allowed["CO"] = 4
			case strings.HasPrefix(key, "DYNAMIC_"):
				etid, err := strconv.ParseInt(strings.TrimPrefix(key, "DYNAMIC_"), 10, 64)
				if err != nil || !ValidEntityTypeID(etid) {
					return nil, fmt.Errorf("%s names no smart process", key)
				}
				allowed[field.BindingPrefix(etid)] = etid
			}
		}
		if len(allowed) == 0 {
			return nil, fmt.Errorf("a CRM link field must allow at least one type (LEAD, DEAL, CONTACT, COMPANY, DYNAMIC_{entityTypeId}: Y)")
		}
		return field.CRMBinding{Allowed: allowed}, nil
	}, func() map[string]any { return map[string]any{} }},
	"crm_status": {"Link to CRM directory", func(_ *store.UserFieldRecord, s map[string]any) (field.Type, error) {
		dir, _ := s["ENTITY_TYPE"].(string)
		if dir == "" {
			return nil, fmt.Errorf("ENTITY_TYPE names the directory the values come from")
		}
		return field.Text{TypeName: "crm_status", MaxLen: 50}, nil
	}, func() map[string]any { return map[string]any{"ENTITY_TYPE": ""} }},
	"address": {"Address", func(*store.UserFieldRecord, map[string]any) (field.Type, error) {
		return field.Address{}, nil
	}, func() map[string]any { return map[string]any{"SHOW_MAP": "Y"} }},
	"file": {"File", func(_ *store.UserFieldRecord, s map[string]any) (field.Type, error) {
		t := field.File{MaxSize: int64(intSetting(s, "MAX_ALLOWED_SIZE")), Extensions: map[string]bool{}}
		exts, _ := s["EXTENSIONS"].([]any)
		if m, ok := s["EXTENSIONS"].(map[string]any); ok { // {"pdf": "pdf"} as PHP clients send it
			for _, v := range m {
				exts = append(exts, v)
			}
		}
		for _, e := range exts {
			if str, ok := e.(string); ok && str != "" {
				t.Extensions[strings.ToLower(strings.TrimPrefix(str, "."))] = true
			}
		}
		return t, nil
	}, func() map[string]any {
		return map[string]any{"SIZE": 20, "LIST_WIDTH": 0, "LIST_HEIGHT": 0, "MAX_SHOW_SIZE": 0, "MAX_ALLOWED_SIZE": 0, "EXTENSIONS": []any{}, "TARGET_BLANK": "Y"}
	}},
	"employee": {"Link to employee", func(*store.UserFieldRecord, map[string]any) (field.Type, error) {
		return field.Integer{TypeName: "employee", Positive: true}, nil
	}, func() map[string]any { return map[string]any{} }},
}

// UFTypeIDs lists the supported custom field types in a stable order.
var UFTypeIDs = []string{"string", "integer", "double", "boolean", "date", "datetime", "enumeration", "money", "url", "file", "address", "employee", "crm", "crm_status"}

// UFDescription is a type's human name.
func UFDescription(userTypeID string) string { return ufKinds[userTypeID].description }

func intSetting(s map[string]any, key string) int {
	switch v := s[key].(type) {
	case float64:
		return int(v)
	case int:
		return v
	case string:
		var n int
		fmt.Sscan(v, &n)
		return n
	}
	return 0
}

// ufLabels are the label maps of a custom field, per language.
type ufLabels struct {
	EditFormLabel   map[string]string `json:"editFormLabel,omitempty"`
	ListColumnLabel map[string]string `json:"listColumnLabel,omitempty"`
	ListFilterLabel map[string]string `json:"listFilterLabel,omitempty"`
	ErrorMessage    map[string]string `json:"errorMessage,omitempty"`
	HelpMessage     map[string]string `json:"helpMessage,omitempty"`
}

// title picks a label to show: English, else any, else the field name.
func (l ufLabels) title(fallback string) string {
	for _, m := range []map[string]string{l.EditFormLabel, l.ListColumnLabel} {
		if s := m["en"]; s != "" {
			return s
		}
		for _, s := range m {
			if s != "" {
				return s
			}
		}
	}
	return fallback
}

// CamelUFName maps UF_CRM_{n}_{SUFFIX} to its camelCase key (spec §4.4): the regular
// form (ufCrm7NewRestList, ufCrm3_1747309727) when the suffix is all letter words or all
// numbers, the simplified one (ufCrm_3_DIGIT10) otherwise, so the mapping stays
// reversible.
func CamelUFName(upper string) string {
	rest, ok := strings.CutPrefix(upper, "UF_CRM_")
	if !ok {
		return upper
	}
	parts := strings.Split(rest, "_")
	isDigits := func(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }
	isLetters := func(s string) bool {
		return s != "" && strings.IndexFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) < 0
	}
	if len(parts) < 2 || !isDigits(parts[0]) {
		return "ufCrm_" + rest
	}
	letters, digits := true, true
	for _, p := range parts[1:] {
		letters = letters && isLetters(p)
		digits = digits && isDigits(p)
	}
	if !letters && !digits {
		return "ufCrm_" + rest
	}
	var b strings.Builder
	b.WriteString("ufCrm")
	b.WriteString(parts[0])
	for _, p := range parts[1:] {
		if digits {
			b.WriteString("_" + p)
			continue
		}
		lower := strings.ToLower(p)
		b.WriteString(strings.ToUpper(lower[:1]) + lower[1:])
	}
	return b.String()
}

// userField builds the catalog field of a registry row.
func userField(rec *store.UserFieldRecord) (*Field, error) {
	kind, ok := ufKinds[rec.UserTypeID]
	if !ok {
		return nil, fmt.Errorf("custom field %s has unknown type %q", rec.FieldName, rec.UserTypeID)
	}
	settings := map[string]any{}
	if rec.Settings != "" {
		_ = json.Unmarshal([]byte(rec.Settings), &settings)
	}
	typ, err := kind.build(rec, settings)
	if err != nil {
		return nil, err
	}
	var labels ufLabels
	if rec.Labels != "" {
		_ = json.Unmarshal([]byte(rec.Labels), &labels)
	}
	if rec.Multiple {
		typ = field.Multiple{Elem: typ}
	}
	f := &Field{
		Name: CamelUFName(rec.FieldName), Upper: rec.FieldName, Column: rec.Column, Type: typ,
		Title: labels.title(rec.FieldName), Required: rec.Mandatory, Multiple: rec.Multiple, user: rec, labels: labels,
	}
	settingsWire := jsonx.Map{}
	for _, k := range sortedKeys(settings) {
		settingsWire = append(settingsWire, jsonx.KV{K: k, V: settings[k]})
	}
	f.Settings = settingsWire
	f.defaultValue = ufDefault(rec, settings, typ)
	return f, nil
}

// ufDefault reads a field's default: the default list items of an enumeration,
// DEFAULT_VALUE {TYPE: NOW|FIXED, VALUE} of dates, DEFAULT_VALUE of the rest. A default
// that does not parse as the field's type is ignored rather than failing every add.
func ufDefault(rec *store.UserFieldRecord, settings map[string]any, typ field.Type) func(time.Time) any {
	if rec.UserTypeID == "enumeration" {
		var defs []any
		for _, e := range rec.Enums {
			if e.Def {
				defs = append(defs, e.ID)
			}
		}
		if len(defs) == 0 {
			return nil
		}
		if rec.Multiple {
			return func(time.Time) any { return defs }
		}
		return func(time.Time) any { return defs[0] }
	}
	raw, ok := settings["DEFAULT_VALUE"]
	if !ok || raw == nil || raw == "" {
		return nil
	}
	if rec.UserTypeID == "date" || rec.UserTypeID == "datetime" {
		m, _ := raw.(map[string]any)
		kind, _ := m["TYPE"].(string)
		switch kind {
		case "NOW":
			return func(now time.Time) any {
				v, err := typ.Parse(now)
				if err != nil || rec.Multiple {
					return nil
				}
				return v
			}
		case "FIXED":
			raw = m["VALUE"]
		default:
			return nil
		}
	}
	if rec.UserTypeID == "boolean" {
		raw = intSetting(settings, "DEFAULT_VALUE") >= 1
	}
	if rec.Multiple {
		raw = []any{raw}
	}
	v, err := typ.Parse(wireScalar(raw))
	if err != nil || v == nil {
		return nil
	}
	return func(time.Time) any { return v }
}

// wireScalar turns a decoded JSON setting into what Parse reads from the wire.
func wireScalar(v any) any {
	switch t := v.(type) {
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = wireScalar(e)
		}
		return out
	}
	return v
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
