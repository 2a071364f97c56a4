package crm

import (
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// The classic per-entity methods (crm.deal.*, crm.contact.*, crm.company.*,
// crm.lead.*) are views of the same items: UPPER_CASE names (with a few legacy
// spellings such as DATE_CREATE), scalars as strings, UF_* custom fields, and
// multifields split by kind (PHONE, EMAIL, WEB, IM, LINK). Writes go through the same
// operation as crm.item.*; this file only translates names and values.

// LegacyEntities maps the entity word of crm.{word}.* to its entityTypeId.
var LegacyEntities = map[string]int64{"lead": 1, "deal": 2, "contact": 3, "company": 4}

// LegacyInput turns legacy fields into what AddItem and UpdateItem read. Names need no
// translation (the catalog knows UPPER and legacy names); the multifield kinds become
// entries of fm.
func (t *Type) LegacyInput(in *params.Object) *params.Object {
	out := params.NewObject()
	if in == nil {
		return out
	}
	var fm []any
	hasFM := t.fieldIndex["fm"] != nil
	for _, k := range in.Keys() {
		v, _ := in.Get(k)
		kind := strings.ToUpper(k)
		if _, isKind := field.MultifieldKinds[kind]; !isKind || !hasFM {
			out.Set(k, v)
			continue
		}
		_, entries, ok := params.Entries(v)
		if !ok {
			if v != nil && v != "" {
				out.Set("fm", v) // not a list: the fm field refuses it with the usual error
			}
			continue
		}
		for _, e := range entries {
			obj, isObj := e.(*params.Object)
			if !isObj {
				fm = append(fm, e)
				continue
			}
			c := params.NewObject()
			for _, ek := range obj.Keys() {
				ev, _ := obj.Get(ek)
				c.Set(ek, ev)
			}
			c.Set("TYPE_ID", kind)
			fm = append(fm, c)
		}
	}
	if fm != nil {
		out.Set("fm", fm)
	}
	return out
}

// LegacySelect is what a legacy list returns of each item.
type LegacySelect struct {
	fields  map[*Field]bool // nil: every system field
	custom  bool            // every custom field (UF_*)
	kinds   map[string]bool // multifield kinds to include
	allKind bool            // every multifield kind that has entries (get)
}

// LegacyAll is what crm.deal.get (…) returns: every field, custom fields and the
// multifields the item has.
var LegacyAll = &LegacySelect{custom: true, allKind: true}

// ParseLegacySelect reads the select of a legacy list: nothing or "*" for the system
// fields, "UF_*" for every custom field, PHONE/EMAIL/… for multifields, or names.
func (t *Type) ParseLegacySelect(v any) *LegacySelect {
	sel := &LegacySelect{kinds: map[string]bool{}}
	var names []string
	if s, ok := v.(string); ok && s != "" {
		names = []string{s}
	} else if _, vals, ok := params.Entries(v); ok {
		for _, e := range vals {
			if s, ok := params.String(e); ok {
				names = append(names, s)
			}
		}
	}
	star := len(names) == 0
	for _, n := range names {
		up := strings.ToUpper(strings.TrimSpace(n))
		switch {
		case up == "*":
			star = true
		case up == "UF_*":
			sel.custom = true
		case field.MultifieldKinds[up] != nil:
			sel.kinds[up] = true
		default:
			if f, ok := t.FieldByName(n); ok {
				if sel.fields == nil {
					sel.fields = map[*Field]bool{}
				}
				sel.fields[f] = true
			}
		}
	}
	if star {
		sel.fields = nil
	} else if sel.fields == nil {
		sel.fields = map[*Field]bool{}
	}
	if sel.fields != nil {
		sel.fields[t.fieldIndex["id"]] = true // clients page by ID
	}
	return sel
}

// LegacyWire is an item as the legacy methods answer it.
func (t *Type) LegacyWire(it *Item, sel *LegacySelect) jsonx.Obj {
	o := make(jsonx.Obj, 0, len(t.fields))
	for _, f := range t.fields {
		name := f.LegacyName()
		if name == "" || f.Hidden || f.Name == "fm" {
			continue
		}
		if f.user != nil {
			if !sel.custom && (sel.fields == nil || !sel.fields[f]) {
				continue
			}
		} else if sel.fields != nil && !sel.fields[f] {
			continue
		}
		var v any
		if f.Name == "id" {
			v = strconv.FormatInt(it.ID, 10)
		} else if f.Column != "" && t.Enabled(f) {
			v = legacyValue(f, it.values[f.Name])
		}
		o = append(o, jsonx.KV{K: name, V: v})
	}
	if fm, ok := it.values["fm"].([]field.MultiValue); ok {
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
func legacyValue(f *Field, v any) any {
	if f.user != nil {
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
		if f.money {
			return strconv.FormatFloat(x, 'f', 2, 64)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case time.Time:
		return x.In(time.Local).Format(field.WireTime)
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

// LegacyFieldsWire describes the fields as crm.deal.fields (…) does: by legacy name,
// with the multifield kinds as fields of their own.
func (t *Type) LegacyFieldsWire() jsonx.Map {
	out := jsonx.Map{}
	for _, f := range t.fields {
		name := f.LegacyName()
		if name == "" || f.Hidden {
			continue
		}
		if f.Name == "fm" {
			for _, kind := range field.MultifieldKindOrder {
				out = append(out, jsonx.KV{K: kind, V: jsonx.Map{
					{K: "type", V: "crm_multifield"}, {K: "isRequired", V: false}, {K: "isReadOnly", V: false},
					{K: "isImmutable", V: false}, {K: "isMultiple", V: true}, {K: "isDynamic", V: false},
					{K: "title", V: multifieldTitles[kind]},
				}})
			}
			continue
		}
		d := t.fieldDescriptor(f)
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
