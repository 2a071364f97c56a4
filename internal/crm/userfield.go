package crm

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"

	"smartcrm/internal/field"
	"smartcrm/internal/store"
)

// Custom fields. Each is a row of the registry and a real column of its type's items
// table; in the item catalog it is one more Field, so parsing, validation, storage,
// filters and output work as for system fields. What each kind of field does (its
// settings, defaults, values) lives in the field package.

// UserField is a custom field of a type.
type UserField struct {
	ID           int64
	EntityTypeID int64
	Name         string // UF_CRM_5_AMOUNT, UF_CRM_AMOUNT on the built-in types
	Column       string
	Kind         string // the field.Kind's id: string, integer, enumeration…
	XMLID        *string
	Sort         int64
	Multiple     bool
	Mandatory    bool
	ShowFilter   ShowFilter
	ShowInList   bool
	EditInList   bool
	IsSearchable bool
	Settings     field.Settings
	Labels       Labels
	Enums        []field.EnumItem
}

// ShowFilter says whether and how a field is offered in list filters: N (not), I
// (by default), E (extra), S (in the search). A field in the filter gets an index.
type ShowFilter string

// Labels are a custom field's texts, per language.
type Labels struct {
	EditForm     map[string]string `json:"editFormLabel,omitempty"`
	ListColumn   map[string]string `json:"listColumnLabel,omitempty"`
	ListFilter   map[string]string `json:"listFilterLabel,omitempty"`
	ErrorMessage map[string]string `json:"errorMessage,omitempty"`
	HelpMessage  map[string]string `json:"helpMessage,omitempty"`
}

// Title picks a label to show: English, else any, else the fallback.
func (l Labels) Title(fallback string) string {
	for _, m := range []map[string]string{l.EditForm, l.ListColumn} {
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

// Languages lists the languages any label is given in, sorted.
func (l Labels) Languages() []string {
	seen := map[string]bool{}
	for _, m := range []map[string]string{l.EditForm, l.ListColumn, l.ListFilter, l.ErrorMessage, l.HelpMessage} {
		for lang := range m {
			seen[lang] = true
		}
	}
	out := make([]string, 0, len(seen))
	for lang := range seen {
		out = append(out, lang)
	}
	sort.Strings(out)
	return out
}

// UserFieldFromRecord reads a custom field from its registry row.
func UserFieldFromRecord(rec *store.UserFieldRecord) (*UserField, error) {
	kind, ok := field.KindByID(rec.UserTypeID)
	if !ok {
		return nil, fmt.Errorf("custom field %s has unknown type %q", rec.FieldName, rec.UserTypeID)
	}
	uf := &UserField{
		ID: rec.ID, EntityTypeID: rec.EntityTypeID, Name: rec.FieldName, Column: rec.Column, Kind: rec.UserTypeID,
		XMLID: rec.XMLID, Sort: rec.Sort, Multiple: rec.Multiple, Mandatory: rec.Mandatory, ShowFilter: ShowFilter(rec.ShowFilter),
		ShowInList: rec.ShowInList, EditInList: rec.EditInList, IsSearchable: rec.IsSearchable,
	}
	raw := map[string]any{}
	if rec.Settings != "" {
		_ = json.Unmarshal([]byte(rec.Settings), &raw)
	}
	var err error
	if uf.Settings, err = field.ReadSettings(kind.NewSettings(), raw); err != nil {
		// Stored settings that no longer read (an older spelling) fall back to defaults
		// rather than hiding the field and its data.
		uf.Settings = kind.NewSettings()
	}
	if rec.Labels != "" {
		_ = json.Unmarshal([]byte(rec.Labels), &uf.Labels)
	}
	for _, e := range rec.Enums {
		uf.Enums = append(uf.Enums, field.EnumItem{ID: e.ID, Value: e.Value, Def: e.Def, Sort: e.Sort, XMLID: e.XMLID})
	}
	return uf, nil
}

// Record is the registry row of a custom field.
func (uf *UserField) Record() *store.UserFieldRecord {
	settings, _ := json.Marshal(field.PlainSettings(uf.Settings))
	labels, _ := json.Marshal(uf.Labels)
	rec := &store.UserFieldRecord{
		ID: uf.ID, EntityTypeID: uf.EntityTypeID, FieldName: uf.Name, Column: uf.Column, UserTypeID: uf.Kind,
		XMLID: uf.XMLID, Sort: uf.Sort, Multiple: uf.Multiple, Mandatory: uf.Mandatory, ShowFilter: string(uf.ShowFilter),
		ShowInList: uf.ShowInList, EditInList: uf.EditInList, IsSearchable: uf.IsSearchable,
		Settings: string(settings), Labels: string(labels),
	}
	for _, e := range uf.Enums {
		rec.Enums = append(rec.Enums, store.EnumRecord{ID: e.ID, Value: e.Value, Def: e.Def, Sort: e.Sort, XMLID: e.XMLID})
	}
	return rec
}

// catalogField is the item field of a custom field. A field whose settings cannot
// build a type (which the registry refuses to store) keeps its data readable as text.
func (uf *UserField) catalogField() *Field {
	typ, def, err := field.BuildField(uf.Kind, uf.Settings, uf.Enums, uf.Multiple)
	if err != nil {
		typ, def = field.Text{}, nil
	}
	return &Field{
		Name: FieldName(CamelUFName(uf.Name)), Column: uf.Column, Type: typ,
		Title: uf.Labels.Title(uf.Name), Required: uf.Mandatory, Multiple: uf.Multiple, user: uf, defaultValue: def,
	}
}

// CamelUFName maps UF_CRM_{n}_{SUFFIX} to its camelCase name (spec §4.4): the regular
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
