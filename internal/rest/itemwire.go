package rest

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
)

// Items as crm.item.* answers them (spec §4) and the field descriptions of
// crm.item.fields (spec §5).

// itemShape is what an item answer (crm.item.get, each item of crm.item.list) writes:
// the fields in the type's order with their wire names, worked out once per request
// rather than once per item (a page of 50 items of a type with 60 fields would
// otherwise walk 3,000 fields to write the handful selected).
type itemShape struct {
	t       *crm.Type
	fields  []shapeField
	version bool
}

type shapeField struct {
	f    *crm.Field
	name string
	// null: switched off or not stored, written as null (spec §11.10).
	null bool
}

// newItemShape is the shape of crm.item.get's answer, with only the selected fields when
// sel is not nil, and the item's version when asked. originalUF names custom fields
// UF_CRM_… instead of ufCrm… (useOriginalUfNames=Y).
func newItemShape(t *crm.Type, sel map[*crm.Field]bool, originalUF, version bool) *itemShape {
	if sel == nil {
		// Every field: the same shape for every answer about the type, kept with it.
		return t.Memo(fullShapeKey{originalUF, version}, func() any {
			return buildItemShape(t, nil, originalUF, version)
		}).(*itemShape)
	}
	return buildItemShape(t, sel, originalUF, version)
}

type fullShapeKey struct{ originalUF, version bool }

func buildItemShape(t *crm.Type, sel map[*crm.Field]bool, originalUF, version bool) *itemShape {
	names := namesOf(t)
	sh := &itemShape{t: t, version: version}
	for _, f := range t.Fields() {
		if (sel != nil && !sel[f]) || f.Hidden {
			continue
		}
		name := string(f.Name)
		if originalUF && f.UserField() != nil {
			name = names.upper[f]
		}
		sh.fields = append(sh.fields, shapeField{f: f, name: name, null: !t.Enabled(f) || !f.Stored()})
	}
	return sh
}

// wire is one item in the shape.
func (sh *itemShape) wire(it *crm.Item) jsonx.Obj { return sh.appendWire(nil, it) }

// wirePage is a page of items in the shape, their members cut from one allocation
// rather than one per item.
func (sh *itemShape) wirePage(items []*crm.Item) []jsonx.Obj {
	rows := make([]jsonx.Obj, len(items))
	slab := make(jsonx.Obj, 0, len(items)*sh.width())
	for i, it := range items {
		start := len(slab)
		slab = sh.appendWire(slab, it)
		rows[i] = slab[start:len(slab):len(slab)]
	}
	return rows
}

// width is how many members an item has in the shape (+1: the version).
func (sh *itemShape) width() int { return len(sh.fields) + 1 }

// appendWire appends the members of one item in the shape to o.
func (sh *itemShape) appendWire(o jsonx.Obj, it *crm.Item) jsonx.Obj {
	if o == nil {
		o = make(jsonx.Obj, 0, sh.width())
	}
	for _, sf := range sh.fields {
		var v any
		switch f := sf.f; {
		case f.Name == crm.FieldID:
			v = it.ID
		case f.Name == crm.FieldEntityTypeID:
			v = sh.t.EntityTypeID
		case sf.null:
		default:
			v = it.Get(f.Name)
			if v != nil || f.Multiple {
				v = f.Type.Format(v)
			}
		}
		o = append(o, jsonx.KV{K: sf.name, V: v})
	}
	// Ours, beside Bitrix24's fields: the version to send back with an update, so a
	// read-modify-write cannot overwrite a change made in between.
	if sh.version {
		o = append(o, jsonx.KV{K: "version", V: it.Version})
	}
	return o
}

// fieldsWire describes a type's fields as crm.item.fields does (spec §5): the fields a
// client can use. Those a type's settings switch off (opportunity without
// isLinkWithProductsEnabled…) are left out: a client that writes them would see its
// values dropped. originalUF names custom fields UF_CRM_… (useOriginalUfNames=Y).
func fieldsWire(t *crm.Type, originalUF bool) jsonx.Map {
	names := namesOf(t)
	out := jsonx.Map{}
	for _, f := range t.Fields() {
		if f.Hidden || !t.Enabled(f) {
			continue
		}
		name := string(f.Name)
		if originalUF && f.UserField() != nil {
			name = names.upper[f]
		}
		out = append(out, jsonx.KV{K: name, V: fieldDescriptor(t, f)})
	}
	return out
}

// fieldDescriptor is one field's description (spec §5).
func fieldDescriptor(t *crm.Type, f *crm.Field) jsonx.Map {
	uf := f.UserField()
	d := jsonx.Map{
		{K: "type", V: f.Type.Name()},
		{K: "isRequired", V: f.Required},
		{K: "isReadOnly", V: f.ReadOnly},
		{K: "isImmutable", V: f.Immutable},
		{K: "isMultiple", V: f.Multiple},
		{K: "isDynamic", V: uf != nil},
	}
	if f.Deprecated {
		d = append(d, jsonx.KV{K: "isDeprecated", V: true})
	}
	d = append(d, jsonx.KV{K: "title", V: f.Title}, jsonx.KV{K: "upperName", V: namesOf(t).upper[f]})
	if s := fieldSettings(f); s != nil {
		d = append(d, jsonx.KV{K: "settings", V: s})
	}
	if f.Directory != "" && f.UserField() == nil {
		d = append(d, jsonx.KV{K: "statusType", V: f.Directory})
	}
	if uf != nil {
		if uf.Kind == "enumeration" {
			items := []jsonx.Map{}
			for _, e := range uf.Enums {
				items = append(items, jsonx.Map{{K: "ID", V: strconv.FormatInt(e.ID, 10)}, {K: "VALUE", V: e.Value}})
			}
			d = append(d, jsonx.KV{K: "items", V: items})
		}
		d = append(d, jsonx.KV{K: "listLabel", V: labelOr(uf.Labels.ListColumn, f.Title)},
			jsonx.KV{K: "formLabel", V: labelOr(uf.Labels.EditForm, f.Title)},
			jsonx.KV{K: "filterLabel", V: labelOr(uf.Labels.ListFilter, f.Title)})
	}
	return d
}

// fieldSettings is the settings member of a field's description: a custom field's
// settings, or which type a link points at.
func fieldSettings(f *crm.Field) jsonx.Map {
	if uf := f.UserField(); uf != nil {
		plain := field.PlainSettings(uf.Settings)
		out := jsonx.Map{}
		for _, k := range field.SettingKeys(plain) {
			out = append(out, jsonx.KV{K: k, V: plain[k]})
		}
		return out
	}
	switch {
	case f.Name == crm.FieldMycompanyID:
		return jsonx.Map{{K: "isMyCompany", V: true}, {K: "parentEntityTypeId", V: 4}, {K: "isEmbeddedEditorEnabled", V: true}}
	case f.ParentType != 0:
		return jsonx.Map{{K: "parentEntityTypeId", V: f.ParentType}}
	case f.Name == crm.FieldCompanyID || f.Name == crm.FieldLeadID:
		return jsonx.Map{{K: "parentEntityTypeId", V: f.LinkType}}
	}
	return nil
}

func labelOr(m map[string]string, fallback string) string {
	if s := m["en"]; s != "" {
		return s
	}
	return fallback
}

// The legacy methods crm.deal/contact/company/lead.* are views of the same items:
// UPPER_CASE names (with a few legacy spellings such as DATE_CREATE), scalars as
// strings, UF_* custom fields, and multifields split by kind (PHONE, EMAIL, WEB, IM,
// LINK).

// legacyEntities maps the entity word of crm.{word}.* to its entityTypeId.
var legacyEntities = map[string]int64{"lead": 1, "deal": 2, "contact": 3, "company": 4}

// legacySelect is what a legacy list returns of each item.
type legacySelect struct {
	fields  map[*crm.Field]bool // nil: every system field
	custom  bool                // every custom field (UF_*)
	kinds   map[string]bool     // multifield kinds to include
	allKind bool                // every multifield kind that has entries (get)
}

// legacyAll is what crm.deal.get (…) returns: every field, custom fields and the
// multifields the item has.
var legacyAll = &legacySelect{custom: true, allKind: true}

// parseLegacySelect reads the select of a legacy list: nothing or "*" for the system
// fields, "UF_*" for every custom field, PHONE/EMAIL/… for multifields, or names.
func parseLegacySelect(t *crm.Type, names []string) *legacySelect {
	sel := &legacySelect{kinds: map[string]bool{}}
	star := len(names) == 0
	wn := namesOf(t)
	for _, n := range names {
		up := upperTrim(n)
		switch {
		case up == "*":
			star = true
		case up == "UF_*":
			sel.custom = true
		case field.MultifieldKinds[up] != nil:
			sel.kinds[up] = true
		default:
			if f, ok := wn.field(n); ok {
				if sel.fields == nil {
					sel.fields = map[*crm.Field]bool{}
				}
				sel.fields[f] = true
			}
		}
	}
	if star {
		sel.fields = nil
	} else if sel.fields == nil {
		sel.fields = map[*crm.Field]bool{}
	}
	if sel.fields != nil {
		f, _ := t.FieldByName(string(crm.FieldID))
		sel.fields[f] = true // clients page by ID
	}
	return sel
}

// legacyWire is an item as the legacy methods answer it.
func legacyWire(t *crm.Type, it *crm.Item, sel *legacySelect) jsonx.Obj {
	names := namesOf(t)
	o := make(jsonx.Obj, 0, len(t.Fields())+1) // +1: the version
	for _, f := range t.Fields() {
		name := names.legacy[f]
		if name == "" || f.Hidden || f.Name == crm.FieldFM {
			continue
		}
		if f.UserField() != nil {
			if !sel.custom && (sel.fields == nil || !sel.fields[f]) {
				continue
			}
		} else if sel.fields != nil && !sel.fields[f] {
			continue
		}
		var v any
		if f.Name == crm.FieldID {
			v = strconv.FormatInt(it.ID, 10)
		} else if f.Stored() && t.Enabled(f) {
			v = legacyValue(f, it.Get(f.Name))
		}
		o = append(o, jsonx.KV{K: name, V: v})
	}
	if sel.fields == nil || sel.fields[t.Fields()[0]] {
		o = append(o, jsonx.KV{K: "VERSION", V: strconv.FormatInt(it.Version, 10)})
	}
	if fm, ok := it.Get(crm.FieldFM).([]field.MultiValue); ok {
		for _, kind := range field.MultifieldKindOrder {
			if !sel.allKind && !sel.kinds[kind] {
				continue
			}
			var entries []jsonx.Map
			for _, e := range fm {
				if e.TypeID == kind {
					entries = append(entries, jsonx.Map{
						{K: "ID", V: strconv.FormatInt(e.ID, 10)}, {K: "VALUE_TYPE", V: e.ValueType},
						{K: "VALUE", V: e.Value}, {K: "TYPE_ID", V: e.TypeID},
					})
				}
			}
			if len(entries) > 0 {
				o = append(o, jsonx.KV{K: kind, V: entries})
			}
		}
	}
	return o
}

// legacyValue spells a value the legacy way: numbers and ids as strings, amounts with
// two decimals, dates as midnight datetimes, lists of ids as lists of strings.
func legacyValue(f *crm.Field, v any) any {
	if _, yesNo := f.Type.(field.Boolean); yesNo {
		return legacyScalars(v) // the legacy methods answer a yes/no custom field as "1"/"0"
	}
	if f.UserField() != nil {
		return legacyScalars(f.Type.Format(v))
	}
	switch x := v.(type) {
	case nil:
		if f.Multiple {
			return []string{}
		}
		return nil
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if f.Money {
			return strconv.FormatFloat(x, 'f', 2, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return field.FormatWireTime(x)
	case []int64:
		out := make([]string, len(x))
		for i, id := range x {
			out[i] = strconv.FormatInt(id, 10)
		}
		return out
	}
	return f.Type.Format(v)
}

// legacyScalars turns the numbers of a custom field's wire value into strings, as the
// legacy methods return them.
func legacyScalars(v any) any {
	switch x := v.(type) {
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = legacyScalars(e)
		}
		return out
	}
	return v
}

// legacyFieldsWire describes the fields as crm.deal.fields (…) does: by legacy name,
// with the multifield kinds as fields of their own.
func legacyFieldsWire(t *crm.Type) jsonx.Map {
	names := namesOf(t)
	out := jsonx.Map{}
	for _, f := range t.Fields() {
		name := names.legacy[f]
		if name == "" || f.Hidden {
			continue
		}
		if f.Name == crm.FieldFM {
			for _, kind := range field.MultifieldKindOrder {
				out = append(out, jsonx.KV{K: kind, V: jsonx.Map{
					{K: "type", V: "crm_multifield"}, {K: "isRequired", V: false}, {K: "isReadOnly", V: false},
					{K: "isImmutable", V: false}, {K: "isMultiple", V: true}, {K: "isDynamic", V: false},
					{K: "title", V: multifieldTitles[kind]},
				}})
			}
			continue
		}
		d := fieldDescriptor(t, f)
		// Legacy descriptions have no upperName: the key is the name.
		kept := d[:0:0]
		for _, kv := range d {
			if kv.K != "upperName" {
				kept = append(kept, kv)
			}
		}
		out = append(out, jsonx.KV{K: name, V: kept})
	}
	return out
}

var multifieldTitles = map[string]string{"PHONE": "Phone", "EMAIL": "E-mail", "WEB": "Website", "IM": "Messenger", "LINK": "Link"}

// itemPatch turns the `fields` of an item call into a patch: names resolved to fields
// (any wire spelling), values made plain. Unknown names are left out, as Bitrix24
// ignores them — except parent links, which the domain refuses with a clear message.
func itemPatch(t *crm.Type, fields map[string]any) crm.Patch {
	names := namesOf(t)
	patch := crm.Patch{}
	for k, v := range fields {
		if f, ok := names.field(k); ok {
			patch[f.Name] = v
		} else if isParentKey(k) {
			patch[crm.FieldName(k)] = v
		}
	}
	return patch
}

// parentKey matches parent link names (parentId2, PARENT_ID_1032).
var parentKey = regexp.MustCompile(`^(?i:parentId|PARENT_ID_)[0-9]+$`)

func isParentKey(k string) bool { return parentKey.MatchString(k) }

// upperTrim is a name in upper case without surrounding spaces.
func upperTrim(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
