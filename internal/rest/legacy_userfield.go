package rest

import (
	"cmp"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.deal.userfield.*, crm.contact.userfield.*, crm.company.userfield.*,
// crm.lead.userfield.* — the classic custom-field methods of the built-in types, which
// integrations written before userfieldconfig.* still call: UPPER_CASE keys, names
// auto-prefixed with UF_CRM_, labels as one language's text, list items as LIST. They
// run the same custom-field operations as userfieldconfig.*; every error has the legacy
// family's empty code.

func (s *Server) registerLegacyUserFields() {
	for word, etid := range legacyEntities {
		prefix := "crm." + word + ".userfield."
		s.registerFamily(familyLegacy, map[string]handlerFunc{
			prefix + "add":    legacyUserFieldAdd(etid),
			prefix + "get":    legacyUserFieldGet(etid),
			prefix + "list":   legacyUserFieldList(etid),
			prefix + "update": legacyUserFieldUpdate(etid),
			prefix + "delete": legacyUserFieldDelete(etid),
		})
	}
}

// legacyUFPrefix starts every custom field name of the built-in types; the legacy add
// puts it before a name that lacks it (FIELD_NAME "REGION" makes UF_CRM_REGION).
const legacyUFPrefix = "UF_CRM_"

func legacyUserFieldAdd(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		in, err := legacyUserFieldInput(c, false)
		if err != nil {
			return nil, err
		}
		spec, err := legacyUserFieldSpec(in, nil)
		if err != nil {
			return nil, err
		}
		uf, err := s.customField.Add(c.Ctx, c.Actor, etid, spec)
		if err != nil {
			return nil, err
		}
		return &Result{Result: uf.ID}, nil
	}
}

func legacyUserFieldGet(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		id, err := legacyID(c)
		if err != nil {
			return nil, err
		}
		t, uf, err := s.legacyUserField(c, etid, id)
		if err != nil {
			return nil, err
		}
		// A single field shows its labels in one language: LANG, else English.
		lang := "en"
		if v, ok := lookup(c, "LANG"); ok {
			if l, _ := params.String(v); strings.TrimSpace(l) != "" {
				lang = strings.TrimSpace(l)
			}
		}
		return &Result{Result: legacyUserFieldWire(t, uf, lang)}, nil
	}
}

func legacyUserFieldUpdate(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		id, err := legacyID(c)
		if err != nil {
			return nil, err
		}
		in, err := legacyUserFieldInput(c, true)
		if err != nil {
			return nil, err
		}
		_, cur, err := s.legacyUserField(c, etid, id)
		if err != nil {
			return nil, err
		}
		spec, err := legacyUserFieldSpec(in, cur)
		if err != nil {
			return nil, err
		}
		if _, err := s.customField.Update(c.Ctx, c.Actor, id, spec); err != nil {
			return nil, err
		}
		return &Result{Result: true}, nil
	}
}

func legacyUserFieldDelete(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		id, err := legacyID(c)
		if err != nil {
			return nil, err
		}
		if _, _, err := s.legacyUserField(c, etid, id); err != nil {
			return nil, err
		}
		if err := s.customField.Delete(c.Ctx, c.Actor, id); err != nil {
			return nil, err
		}
		return &Result{Result: true}, nil
	}
}

func legacyUserFieldList(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
		if err != nil {
			return nil, err
		}
		filter, lang, err := legacyUserFieldFilter(c, t)
		if err != nil {
			return nil, err
		}
		less, err := legacyUserFieldOrder(c)
		if err != nil {
			return nil, err
		}
		list, err := s.customField.List(c.Ctx, c.Actor, filter)
		if err != nil {
			return nil, err
		}
		sort.SliceStable(list, func(i, j int) bool { return less(list[i], list[j]) })
		start := max(startParam(c.Params), 0)
		rows := []jsonx.Map{}
		for i := int(start); i < len(list) && i < int(start)+crm.PageSize; i++ {
			row := legacyUserFieldWire(t, list[i], lang)
			if lang == "" {
				row = withoutLabels(row)
			}
			rows = append(rows, row)
		}
		total, next := pageInfo(start, len(rows), len(list))
		return &Result{Result: rows, Total: total, Next: next}, nil
	}
}

// legacyUserField reads a custom field of type etid. A field of another type is not
// found here: crm.deal.userfield.get must not reveal or change a contact's field.
func (s *Server) legacyUserField(c *Call, etid, id int64) (*crm.Type, *crm.UserField, error) {
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, nil, err
	}
	list, err := s.customField.List(c.Ctx, c.Actor, customfield.Filter{ID: id, EntityTypeID: etid})
	if err != nil {
		return nil, nil, err
	}
	if len(list) == 0 {
		return nil, nil, crm.NewError(crm.ErrInvalidArg, "The entity with ID '%d' is not found.", id)
	}
	return t, list[0], nil
}

// legacyUserFieldInput reads `fields`; update requires it.
func legacyUserFieldInput(c *Call, required bool) (*params.Object, error) {
	v, ok := lookup(c, "fields")
	if (!ok || v == nil) && !required || params.IsEmptyContainer(v) {
		return params.NewObject(), nil
	}
	o, isObj := v.(*params.Object)
	if !isObj {
		return nil, apiErr(http.StatusBadRequest, "", "Parameter 'fields' must be array.")
	}
	return o, nil
}

// legacyLabelKeys are the five texts of a custom field, each a text or a {lang: text} map.
var legacyLabelKeys = []string{"EDIT_FORM_LABEL", "LIST_COLUMN_LABEL", "LIST_FILTER_LABEL", "ERROR_MESSAGE", "HELP_MESSAGE"}

// labelSlot is where a label key goes in the domain's labels.
func labelSlot(l *crm.Labels, key string) *map[string]string {
	switch key {
	case "EDIT_FORM_LABEL":
		return &l.EditForm
	case "LIST_COLUMN_LABEL":
		return &l.ListColumn
	case "LIST_FILTER_LABEL":
		return &l.ListFilter
	case "ERROR_MESSAGE":
		return &l.ErrorMessage
	}
	return &l.HelpMessage
}

// legacyUserFieldSpec reads the UPPER_CASE fields of a legacy custom-field call. On
// update (cur is the field) FIELD_NAME, USER_TYPE_ID and MULTIPLE are fixed and ignored,
// and SETTINGS change only the settings they name, as Bitrix24's update does.
func legacyUserFieldSpec(in *params.Object, cur *crm.UserField) (customfield.Spec, error) {
	var spec customfield.Spec
	bad := func(format string, a ...any) error { return crm.NewError(crm.ErrInvalidArg, format, a...) }
	get := func(name string) (any, bool) {
		v, ok := params.Lookup(in, name)
		return v, ok && v != nil
	}
	text := func(name string) string {
		v, _ := get(name)
		str, _ := params.String(v)
		return strings.TrimSpace(str)
	}
	flag := func(name string) (*bool, error) {
		v, ok := get(name)
		if !ok {
			return nil, nil
		}
		b, valid := params.Bool(v)
		if !valid {
			return nil, bad("%s must be Y or N", name)
		}
		return &b, nil
	}
	kindID := text("USER_TYPE_ID")
	if cur == nil {
		spec.Kind, spec.Name = kindID, text("FIELD_NAME")
		if spec.Name != "" && !strings.HasPrefix(spec.Name, legacyUFPrefix) {
			spec.Name = legacyUFPrefix + spec.Name
		}
		multiple, err := flag("MULTIPLE")
		if err != nil {
			return spec, err
		}
		spec.Multiple = multiple != nil && *multiple
	} else {
		kindID = cur.Kind
	}
	var err error
	for _, f := range []struct {
		name string
		dst  **bool
	}{{"MANDATORY", &spec.Mandatory}, {"SHOW_IN_LIST", &spec.ShowInList}, {"EDIT_IN_LIST", &spec.EditInList}, {"IS_SEARCHABLE", &spec.IsSearchable}} {
		if *f.dst, err = flag(f.name); err != nil {
			return spec, err
		}
	}
	if v, ok := get("SORT"); ok {
		n, valid := params.Int(v)
		if !valid {
			return spec, bad("SORT must be an integer")
		}
		spec.Sort = &n
	}
	if v, ok := get("XML_ID"); ok {
		x, _ := params.String(v)
		spec.XMLID = &x
	}
	if v, ok := get("SHOW_FILTER"); ok {
		sf, _ := params.String(v)
		// The legacy methods take Y/N; Y puts the field in the filter the way the UI
		// does, by mask (E). I, E and S pass as they are; the domain refuses the rest.
		show := crm.ShowFilter(strings.ToUpper(strings.TrimSpace(sf)))
		switch show {
		case "Y":
			show = "E"
		case "":
			show = "N"
		}
		spec.ShowFilter = &show
	}
	if v, ok := get("SETTINGS"); ok {
		obj, isObj := v.(*params.Object)
		if !isObj && !params.IsEmptyContainer(v) {
			return spec, bad("SETTINGS must be an object")
		}
		if kind, known := field.KindByID(kindID); known {
			base := kind.NewSettings()
			if cur != nil {
				base = cur.Settings
			}
			raw := map[string]any{}
			if obj != nil {
				raw = plainObject(obj)
			}
			if spec.Settings, err = field.ReadSettings(base, raw); err != nil {
				return spec, bad("Invalid settings: %v", err)
			}
		}
	}
	given := map[string]bool{}
	for _, key := range legacyLabelKeys {
		v, ok := get(key)
		if !ok {
			continue
		}
		m, err := langMap(v, key)
		if err != nil {
			return spec, err
		}
		*labelSlot(&spec.Labels, key), given[key] = m, true
	}
	// LABEL names the field everywhere a label is not given (on add, as documented).
	if v, ok := get("LABEL"); ok && cur == nil {
		m, err := langMap(v, "LABEL")
		if err != nil {
			return spec, err
		}
		for _, key := range legacyLabelKeys {
			if !given[key] {
				*labelSlot(&spec.Labels, key) = m
			}
		}
	}
	if kindID == "enumeration" {
		spec.Enums, err = legacyEnumChanges(in, cur != nil)
	}
	return spec, err
}

// legacyEnumChanges reads LIST: items with an ID change that item (DEL=Y deletes it,
// on update); items without one are added, unless their VALUE is empty, which
// Bitrix24 ignores.
func legacyEnumChanges(in *params.Object, updating bool) ([]customfield.EnumChange, error) {
	raw, ok := params.Lookup(in, "LIST")
	if !ok || raw == nil || raw == "" || params.IsEmptyContainer(raw) {
		return nil, nil
	}
	_, items, isList := params.Entries(raw)
	if !isList {
		return nil, crm.NewError(crm.ErrInvalidArg, "LIST must be a list of items")
	}
	var out []customfield.EnumChange
	for i, it := range items {
		obj, isObj := it.(*params.Object)
		if !isObj {
			return nil, crm.NewError(crm.ErrInvalidArg, "LIST[%d] must be an object {VALUE, DEF, SORT, XML_ID}", i)
		}
		get := func(k string) (any, bool) {
			v, ok := params.Lookup(obj, k)
			return v, ok && v != nil
		}
		var ch customfield.EnumChange
		if idv, ok := get("ID"); ok && idv != "" && updating {
			id, valid := params.Int(idv)
			if !valid || id <= 0 {
				return nil, crm.NewError(crm.ErrInvalidArg, "LIST[%d]: ID %v is not a list item of this field", i, idv)
			}
			ch.ID = id
			if del, given := get("DEL"); given {
				ch.Delete, _ = params.Bool(del)
			}
		}
		if v, ok := get("VALUE"); ok {
			str, _ := params.String(v)
			ch.Value = &str
		}
		if ch.ID == 0 && (ch.Value == nil || strings.TrimSpace(*ch.Value) == "") {
			continue
		}
		if v, ok := get("DEF"); ok {
			b, valid := params.Bool(v)
			if !valid {
				return nil, crm.NewError(crm.ErrInvalidArg, "LIST[%d]: DEF must be Y or N", i)
			}
			ch.Def = &b
		}
		if v, ok := get("SORT"); ok {
			n, valid := params.Int(v)
			if !valid {
				return nil, crm.NewError(crm.ErrInvalidArg, "LIST[%d]: SORT must be an integer", i)
			}
			ch.Sort = &n
		}
		if v, ok := get("XML_ID"); ok {
			str, _ := params.String(v)
			ch.XMLID = &str
		}
		out = append(out, ch)
	}
	return out, nil
}

// legacyUserFieldFilter reads the filter of a legacy custom-field list: equality on the
// field's properties, and >, >=, <, <= on ID for clients that page by id. LANG is not a
// condition: it asks for the labels in that language.
func legacyUserFieldFilter(c *Call, t *crm.Type) (customfield.Filter, string, error) {
	f := customfield.Filter{EntityTypeID: t.EntityTypeID}
	lang := ""
	if v, ok := lookup(c, "LANG"); ok {
		lang, _ = params.String(v)
	}
	v, ok := lookup(c, "filter")
	if !ok || v == nil || v == "" || params.IsEmptyContainer(v) {
		return f, strings.TrimSpace(lang), nil
	}
	o, isObj := v.(*params.Object)
	if !isObj {
		return f, "", apiErr(http.StatusBadRequest, "", "Parameter 'filter' must be array.")
	}
	bad := func(format string, a ...any) error {
		return crm.NewError(crm.ErrInvalidArg, "Invalid filter: "+format, a...)
	}
	nothing := func() { f.ID = -1 } // no field has that id: the filter matches none
	for _, key := range o.Keys() {
		val, _ := o.Get(key)
		op, name := splitFilterOp(key)
		name = strings.ToUpper(name)
		if op != "" && op != "=" && name != "ID" {
			return f, "", bad("operator %q is not supported for %s", op, name)
		}
		str, _ := params.String(val)
		yes := func() (*bool, error) {
			b, valid := params.Bool(val)
			if !valid {
				return nil, bad("%s must be Y or N", name)
			}
			return &b, nil
		}
		var err error
		switch name {
		case "ID":
			id, valid := params.Int(val)
			if !valid {
				return f, "", bad("ID must be an integer")
			}
			idRange(&f, op, id)
		case "ENTITY_ID":
			if !strings.EqualFold(strings.TrimSpace(str), t.UFEntityID()) {
				nothing()
			}
		case "FIELD_NAME":
			f.Name = strings.TrimSpace(str)
		case "USER_TYPE_ID":
			f.Kind = strings.TrimSpace(str)
		case "XML_ID":
			f.XMLID = &str
		case "SORT":
			n, valid := params.Int(val)
			if !valid {
				return f, "", bad("SORT must be an integer")
			}
			f.Sort = &n
		case "SHOW_FILTER":
			show := crm.ShowFilter(strings.TrimSpace(str))
			f.ShowFilter = &show
		case "MULTIPLE":
			f.Multiple, err = yes()
		case "MANDATORY":
			f.Mandatory, err = yes()
		case "SHOW_IN_LIST":
			f.ShowInList, err = yes()
		case "EDIT_IN_LIST":
			f.EditInList, err = yes()
		case "IS_SEARCHABLE":
			f.IsSearchable, err = yes()
		case "LANG":
			lang = str
		default:
			return f, "", bad("field '%s' is not allowed in filter", key)
		}
		if err != nil {
			return f, "", err
		}
	}
	return f, strings.TrimSpace(lang), nil
}

// splitFilterOp splits a comparison prefix (>=, <=, >, <, =) off a filter key.
func splitFilterOp(key string) (op, name string) {
	for _, p := range []string{">=", "<=", ">", "<", "="} {
		if rest, ok := strings.CutPrefix(key, p); ok {
			return p, rest
		}
	}
	return "", key
}

// idRange narrows the filter's ids by one condition. Bounds that exclude every id make
// the filter match nothing (0 would mean "unbounded").
func idRange(f *customfield.Filter, op string, id int64) {
	switch op {
	case ">", ">=":
		if op == ">" {
			id++
		}
		f.MinID = max(f.MinID, id, 1)
	case "<", "<=":
		if op == "<" {
			id--
		}
		if id < 1 {
			id = -1
		}
		if f.MaxID == 0 || id < f.MaxID {
			f.MaxID = id
		}
	default:
		if id <= 0 {
			id = -1
		}
		f.ID = id
	}
}

// legacyUserFieldOrder reads `order` (ID, FIELD_NAME, USER_TYPE_ID, XML_ID, SORT, each
// ASC or DESC; by default SORT then ID), always ending with ID so the order is total.
func legacyUserFieldOrder(c *Call) (func(a, b *crm.UserField) bool, error) {
	keys, err := readOrderKeys(c, []string{"ID", "FIELD_NAME", "USER_TYPE_ID", "XML_ID", "SORT"}, []orderKey{{"SORT", false}})
	if err != nil {
		return nil, err
	}
	return orderBy(append(keys, orderKey{"ID", false}), func(k string, a, b *crm.UserField) int {
		switch k {
		case "ID":
			return cmp.Compare(a.ID, b.ID)
		case "SORT":
			return cmp.Compare(a.Sort, b.Sort)
		case "FIELD_NAME":
			return strings.Compare(a.Name, b.Name)
		case "USER_TYPE_ID":
			return strings.Compare(a.Kind, b.Kind)
		}
		return strings.Compare(deref(a.XMLID), deref(b.XMLID))
	}), nil
}

// deref reads an optional text, "" when absent.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// legacyUserFieldWire is a custom field as crm.deal.userfield.get answers it: UPPER_CASE
// keys, every scalar a string, the labels as texts in lang (English when the field has
// none in lang), LIST for enumerations.
func legacyUserFieldWire(t *crm.Type, f *crm.UserField, lang string) jsonx.Map {
	var xml any
	if f.XMLID != nil {
		xml = *f.XMLID
	}
	plain := field.PlainSettings(f.Settings)
	settings := jsonx.Map{}
	for _, k := range field.SettingKeys(plain) {
		settings = append(settings, jsonx.KV{K: k, V: plain[k]})
	}
	out := jsonx.Map{
		{K: "ID", V: strconv.FormatInt(f.ID, 10)}, {K: "ENTITY_ID", V: t.UFEntityID()}, {K: "FIELD_NAME", V: f.Name},
		{K: "USER_TYPE_ID", V: f.Kind}, {K: "XML_ID", V: xml}, {K: "SORT", V: strconv.FormatInt(f.Sort, 10)},
		{K: "MULTIPLE", V: yn(f.Multiple)}, {K: "MANDATORY", V: yn(f.Mandatory)}, {K: "SHOW_FILTER", V: string(f.ShowFilter)},
		{K: "SHOW_IN_LIST", V: yn(f.ShowInList)}, {K: "EDIT_IN_LIST", V: yn(f.EditInList)},
		{K: "IS_SEARCHABLE", V: yn(f.IsSearchable)}, {K: "SETTINGS", V: settings},
	}
	for _, key := range legacyLabelKeys {
		out = append(out, jsonx.KV{K: key, V: labelIn(*labelSlot(&f.Labels, key), lang)})
	}
	if f.Kind == "enumeration" {
		items := []jsonx.Map{}
		for _, e := range f.Enums {
			items = append(items, jsonx.Map{
				{K: "ID", V: strconv.FormatInt(e.ID, 10)}, {K: "SORT", V: strconv.FormatInt(e.Sort, 10)},
				{K: "VALUE", V: e.Value}, {K: "DEF", V: yn(e.Def)}, {K: "XML_ID", V: e.XMLID},
			})
		}
		out = append(out, jsonx.KV{K: "LIST", V: items})
	}
	return out
}

// labelIn picks a label's text in lang, else in English (a label given as one text is
// stored as English and stands for every language), else null.
func labelIn(m map[string]string, lang string) any {
	if s, ok := m[lang]; ok {
		return s
	}
	if s, ok := m["en"]; ok {
		return s
	}
	return nil
}

// withoutLabels drops the label keys: a list without LANG leaves them out, as
// Bitrix24's does.
func withoutLabels(row jsonx.Map) jsonx.Map {
	out := row[:0:0]
	for _, kv := range row {
		if !isLegacyLabelKey(kv.K) {
			out = append(out, kv)
		}
	}
	return out
}

func isLegacyLabelKey(k string) bool {
	for _, l := range legacyLabelKeys {
		if k == l {
			return true
		}
	}
	return false
}
