package rest

import (
	"regexp"
	"sort"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// userfieldconfig.* — custom fields of smart processes (spec §8.1). Every error of this
// family has the empty code, the text in error_description.

func (s *Server) registerUserFields() {
	s.registerFamily(familyUserField, map[string]handlerFunc{
		"userfieldconfig.add":      (*Server).userFieldAdd,
		"userfieldconfig.update":   (*Server).userFieldUpdate,
		"userfieldconfig.get":      (*Server).userFieldGet,
		"userfieldconfig.list":     (*Server).userFieldList,
		"userfieldconfig.delete":   (*Server).userFieldDelete,
		"userfieldconfig.getTypes": (*Server).userFieldTypes,
	})
	s.registerFamily(familyUserField, map[string]handlerFunc{
		"crm.userfield.types":              (*Server).crmUserFieldTypes,
		"crm.userfield.fields":             (*Server).crmUserFieldFields,
		"crm.userfield.settings.fields":    (*Server).crmUserFieldSettingsFields,
		"crm.userfield.enumeration.fields": (*Server).crmUserFieldEnumFields,
	})
}

// crm.userfield.* are reference methods describing custom fields (spec §8.3).

func (s *Server) crmUserFieldTypes(*Call) (*Result, error) {
	out := make([]jsonx.Map, 0, len(field.Kinds()))
	for _, k := range field.Kinds() {
		out = append(out, jsonx.Map{{K: "ID", V: k.ID()}, {K: "title", V: k.Description()}})
	}
	return &Result{Result: out}, nil
}

// ufDesc is a field description in the short shape of these methods.
func ufDesc(typ, title string, readOnly bool) jsonx.Map {
	d := jsonx.Map{{K: "type", V: typ}, {K: "title", V: title}}
	if readOnly {
		d = append(d, jsonx.KV{K: "isReadOnly", V: true})
	}
	return d
}

func (s *Server) crmUserFieldFields(*Call) (*Result, error) {
	lang := func(title string) jsonx.Map { return ufDesc("string", title, false) }
	return &Result{Result: jsonx.Map{
		{K: "ID", V: ufDesc("int", "ID", true)},
		{K: "ENTITY_ID", V: ufDesc("string", "Entity", false)},
		{K: "FIELD_NAME", V: ufDesc("string", "Field name", false)},
		{K: "USER_TYPE_ID", V: jsonx.Map{{K: "type", V: "string"}, {K: "title", V: "Type"}, {K: "isImmutable", V: true}}},
		{K: "XML_ID", V: ufDesc("string", "External code", false)},
		{K: "SORT", V: ufDesc("int", "Sort", false)},
		{K: "MULTIPLE", V: ufDesc("char", "Multiple", false)},
		{K: "MANDATORY", V: ufDesc("char", "Required", false)},
		{K: "SHOW_FILTER", V: ufDesc("char", "Show in filter", false)},
		{K: "SHOW_IN_LIST", V: ufDesc("char", "Show in list", false)},
		{K: "EDIT_IN_LIST", V: ufDesc("char", "Editable in list", false)},
		{K: "IS_SEARCHABLE", V: ufDesc("char", "Searchable", false)},
		{K: "EDIT_FORM_LABEL", V: lang("Form label")},
		{K: "LIST_COLUMN_LABEL", V: lang("List column label")},
		{K: "LIST_FILTER_LABEL", V: lang("Filter label")},
		{K: "ERROR_MESSAGE", V: lang("Error message")},
		{K: "HELP_MESSAGE", V: lang("Help")},
		{K: "LIST", V: jsonx.Map{{K: "type", V: "uf_enum_element"}, {K: "title", V: "List items"}, {K: "isMultiple", V: true}}},
		{K: "SETTINGS", V: ufDesc("object", "Settings", false)},
	}}, nil
}

func (s *Server) crmUserFieldSettingsFields(c *Call) (*Result, error) {
	v, _ := params.Lookup(c.Params, "type")
	typ, _ := v.(string)
	kind, ok := field.KindByID(typ)
	if typ == "" {
		return nil, apiErr(400, "", "Parameter 'type' is not specified or empty.")
	}
	if !ok {
		return nil, apiErr(400, "", "Unknown custom field type '"+typ+"'")
	}
	out := jsonx.Map{}
	for _, st := range field.SettingTypes(kind) {
		out = append(out, jsonx.KV{K: st[0], V: jsonx.Map{{K: "type", V: st[1]}, {K: "title", V: st[0]}}})
	}
	return &Result{Result: out}, nil
}

func (s *Server) crmUserFieldEnumFields(*Call) (*Result, error) {
	return &Result{Result: jsonx.Map{
		{K: "ID", V: ufDesc("int", "ID", true)},
		{K: "SORT", V: ufDesc("int", "Sort", false)},
		{K: "VALUE", V: ufDesc("string", "Value", false)},
		{K: "DEF", V: ufDesc("char", "Default", false)},
		{K: "DEL", V: ufDesc("char", "Delete", false)},
	}}, nil
}

// ufModule checks moduleId: custom fields of smart processes live in the crm module.
func ufModule(c *Call) error {
	v, _ := params.Lookup(c.Params, "moduleId")
	if m, _ := params.String(v); m != "crm" {
		return apiErr(400, "", "Parameter 'moduleId' must be 'crm'")
	}
	return nil
}

func ufID(c *Call) (int64, error) {
	v, _ := params.Lookup(c.Params, "id")
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return 0, apiErr(400, "", "Parameter 'id' is required")
	}
	return id, nil
}

func ufFieldParam(c *Call) (*params.Object, error) {
	v, ok := params.Lookup(c.Params, "field")
	if o, isObj := v.(*params.Object); ok && isObj {
		return o, nil
	}
	return nil, apiErr(400, "", "Parameter 'field' must be an object")
}

func (s *Server) userFieldAdd(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	f, err := ufFieldParam(c)
	if err != nil {
		return nil, err
	}
	etid, err := s.userFieldOwner(c, f)
	if err != nil {
		return nil, err
	}
	spec, err := userFieldSpec(f, nil)
	if err != nil {
		return nil, err
	}
	uf, err := s.customField.Add(c.Ctx, c.Actor, etid, spec)
	if err != nil {
		return nil, err
	}
	return s.userFieldResult(c, uf)
}

func (s *Server) userFieldUpdate(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	id, err := ufID(c)
	if err != nil {
		return nil, err
	}
	f, err := ufFieldParam(c)
	if err != nil {
		return nil, err
	}
	cur, err := s.customField.Get(c.Ctx, c.Actor, id)
	if err != nil {
		if crm.KindOf(err) == crm.ErrInvalidArg {
			return nil, crm.NewError(crm.ErrInvalidArg, "You cannot change the settings of the user field: field %d not found", id)
		}
		return nil, err
	}
	spec, err := userFieldSpec(f, cur)
	if err != nil {
		return nil, err
	}
	uf, err := s.customField.Update(c.Ctx, c.Actor, id, spec)
	if err != nil {
		return nil, err
	}
	return s.userFieldResult(c, uf)
}

func (s *Server) userFieldGet(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	id, err := ufID(c)
	if err != nil {
		return nil, err
	}
	uf, err := s.customField.Get(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return s.userFieldResult(c, uf)
}

func (s *Server) userFieldList(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	filter := params.NewObject()
	if v, ok := params.Lookup(c.Params, "filter"); ok && !params.IsEmptyContainer(v) {
		o, isObj := v.(*params.Object)
		if !isObj {
			return nil, apiErr(400, "", "Parameter 'filter' must be an object")
		}
		filter = o
	}
	f, err := s.userFieldFilter(c, filter)
	if err != nil {
		return nil, err
	}
	list, err := s.customField.List(c.Ctx, c.Actor, f)
	if err != nil {
		return nil, err
	}
	wires := make([]jsonx.Map, len(list))
	for i, uf := range list {
		wires[i] = s.userFieldWire(c, uf)
	}
	// select {"0": "*", "language": "de"}: labels in that language only; without a
	// language the list leaves the label maps out (null), as Bitrix24 does.
	lang := ""
	if sel, ok := params.Lookup(c.Params, "select"); ok {
		if o, isObj := sel.(*params.Object); isObj {
			v, _ := params.Lookup(o, "language")
			lang, _ = v.(string)
		}
	}
	start := max(startParam(c.Params), 0)
	total := len(wires)
	rows := []jsonx.Map{}
	for i := int(start); i < total && i < int(start)+crm.PageSize; i++ {
		rows = append(rows, narrowLabels(wires[i], lang))
	}
	t, next := pageInfo(start, len(rows), total)
	return &Result{Result: jsonx.Map{{K: "fields", V: rows}}, Total: t, Next: next}, nil
}

// userFieldDelete answers null, as this family does.
func (s *Server) userFieldDelete(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	id, err := ufID(c)
	if err != nil {
		return nil, err
	}
	if err := s.customField.Delete(c.Ctx, c.Actor, id); err != nil {
		return nil, err
	}
	return &Result{Result: nil}, nil
}

func (s *Server) userFieldTypes(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	types := jsonx.Map{}
	for _, k := range field.Kinds() {
		types = append(types, jsonx.KV{K: k.ID(), V: jsonx.Map{{K: "userTypeId", V: k.ID()}, {K: "description", V: k.Description()}}})
	}
	return &Result{Result: jsonx.Map{{K: "types", V: types}}}, nil
}

var labelKeys = map[string]bool{"editFormLabel": true, "listColumnLabel": true, "listFilterLabel": true, "errorMessage": true, "helpMessage": true}

// narrowLabels keeps one language of each label map, or none.
func narrowLabels(f jsonx.Map, lang string) jsonx.Map {
	for i, kv := range f {
		if !labelKeys[kv.K] && kv.K != "languageId" {
			continue
		}
		if lang == "" {
			if kv.K != "languageId" {
				f[i].V = nil
			}
			continue
		}
		m, _ := kv.V.(jsonx.Map)
		v, found := m.Get(lang)
		if !found && kv.K == "languageId" {
			v = lang
		}
		f[i].V = jsonx.Map{{K: lang, V: v}}
	}
	return f
}

func (s *Server) userFieldResult(c *Call, uf *crm.UserField) (*Result, error) {
	return &Result{Result: jsonx.Map{{K: "field", V: s.userFieldWire(c, uf)}}}, nil
}

var ufEntityPattern = regexp.MustCompile(`^CRM_([0-9]{1,10})$`)

// userFieldOwner reads entityId: CRM_{type id} for a smart process, CRM_DEAL (…) for a
// built-in type; it returns the type's entityTypeId.
func (s *Server) userFieldOwner(c *Call, f *params.Object) (int64, error) {
	v, _ := params.Lookup(f, "entityId")
	entityID, _ := params.String(v)
	entityID = strings.TrimSpace(entityID)
	if m := ufEntityPattern.FindStringSubmatch(entityID); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		t, err := s.crm.GetType(c.Ctx, c.Actor, id, false)
		if err != nil {
			if crm.KindOf(err) == crm.ErrTypeNotFound {
				return 0, crm.NewError(crm.ErrInvalidArg, "You cannot create custom fields: smart process %d not found", id)
			}
			return 0, err
		}
		return t.EntityTypeID, nil
	}
	for word, etid := range legacyEntities {
		if entityID == "CRM_"+strings.ToUpper(word) {
			return etid, nil
		}
	}
	return 0, crm.NewError(crm.ErrInvalidArg, "You cannot create custom fields for %q: custom fields belong to CRM_{typeId}, CRM_DEAL, CRM_CONTACT, CRM_COMPANY or CRM_LEAD", entityID)
}

// userFieldSpec reads a userfieldconfig field object. entityId, fieldName, userTypeId
// and multiple are fixed after add and ignored on update (cur is the field then).
func userFieldSpec(in *params.Object, cur *crm.UserField) (customfield.Spec, error) {
	var spec customfield.Spec
	ufErr := func(format string, a ...any) error { return crm.NewError(crm.ErrInvalidArg, format, a...) }
	text := func(name string) string {
		v, _ := params.Lookup(in, name)
		str, _ := params.String(v)
		return strings.TrimSpace(str)
	}
	kindID := text("userTypeId")
	if cur == nil {
		spec.Name, spec.Kind = text("fieldName"), kindID
	} else {
		kindID = cur.Kind
	}
	flag := func(v any, name string) (*bool, error) {
		b, ok := params.Bool(v)
		if !ok {
			return nil, ufErr("%s must be Y or N", name)
		}
		return &b, nil
	}
	var err error
	for _, key := range in.Keys() {
		v, _ := in.Get(key)
		switch key {
		case "sort":
			n, ok := params.Int(v)
			if !ok {
				return spec, ufErr("sort must be an integer")
			}
			spec.Sort = &n
		case "multiple":
			if cur == nil {
				var b *bool
				b, err = flag(v, key)
				if b != nil {
					spec.Multiple = *b
				}
			}
		case "mandatory":
			spec.Mandatory, err = flag(v, key)
		case "showInList":
			spec.ShowInList, err = flag(v, key)
		case "editInList":
			spec.EditInList, err = flag(v, key)
		case "isSearchable":
			spec.IsSearchable, err = flag(v, key)
		case "showFilter":
			sf, _ := params.String(v)
			show := crm.ShowFilter(sf)
			spec.ShowFilter = &show
		case "xmlId":
			if x, ok := params.String(v); ok {
				spec.XMLID = &x
			}
		case "settings":
			obj, isObj := v.(*params.Object)
			if !isObj && !params.IsEmptyContainer(v) {
				return spec, ufErr("settings must be an object")
			}
			kind, known := field.KindByID(kindID)
			if !known {
				continue // the domain refuses the kind
			}
			raw := map[string]any{}
			if obj != nil {
				raw = plainObject(obj)
			}
			if spec.Settings, err = field.ReadSettings(kind.NewSettings(), raw); err != nil {
				return spec, ufErr("Invalid settings: %v", err)
			}
		case "editFormLabel", "listColumnLabel", "listFilterLabel", "errorMessage", "helpMessage":
			m, err := langMap(v, key)
			if err != nil {
				return spec, err
			}
			*map[string]*map[string]string{
				"editFormLabel": &spec.Labels.EditForm, "listColumnLabel": &spec.Labels.ListColumn,
				"listFilterLabel": &spec.Labels.ListFilter, "errorMessage": &spec.Labels.ErrorMessage,
				"helpMessage": &spec.Labels.HelpMessage,
			}[key] = m
		}
		if err != nil {
			return spec, err
		}
	}
	spec.Enums, err = enumChanges(in)
	return spec, err
}

// langMap reads a label: a {lang: text} map, or one text for English.
func langMap(v any, name string) (map[string]string, error) {
	if s, ok := v.(string); ok {
		return map[string]string{"en": s}, nil
	}
	obj, ok := v.(*params.Object)
	if !ok {
		return nil, crm.NewError(crm.ErrInvalidArg, "%s must be a text or a map of languages to texts", name)
	}
	out := map[string]string{}
	for _, lang := range obj.Keys() {
		val, _ := obj.Get(lang)
		s, ok := params.String(val)
		if !ok || len(lang) > 8 {
			return nil, crm.NewError(crm.ErrInvalidArg, "%s[%s] must be a text", name, lang)
		}
		out[lang] = s
	}
	return out, nil
}

// enumChanges reads `enum`: items without id are added; with an id they are changed, or
// deleted with del=Y.
func enumChanges(in *params.Object) ([]customfield.EnumChange, error) {
	raw, ok := params.Lookup(in, "enum")
	if !ok || raw == nil || params.IsEmptyContainer(raw) {
		return nil, nil
	}
	_, items, isList := params.Entries(raw)
	if !isList {
		return nil, crm.NewError(crm.ErrInvalidArg, "enum must be a list of items")
	}
	var out []customfield.EnumChange
	for _, it := range items {
		obj, isObj := it.(*params.Object)
		if !isObj {
			return nil, crm.NewError(crm.ErrInvalidArg, "each enum item must be an object")
		}
		get := func(k string) any { v, _ := params.Lookup(obj, k); return v }
		var ch customfield.EnumChange
		if idv := get("id"); idv != nil && idv != "" {
			id, ok := params.Int(idv)
			if !ok || id <= 0 {
				return nil, crm.NewError(crm.ErrInvalidArg, "Enum item %v does not belong to this field", idv)
			}
			ch.ID = id
			ch.Delete, _ = params.Bool(get("del"))
		}
		if v := get("value"); v != nil {
			s, _ := params.String(v)
			ch.Value = &s
		}
		if v := get("def"); v != nil {
			b, _ := params.Bool(v)
			ch.Def = &b
		}
		if v := get("sort"); v != nil {
			if n, ok := params.Int(v); ok {
				ch.Sort = &n
			}
		}
		if v := get("xmlId"); v != nil {
			s, _ := params.String(v)
			ch.XMLID = &s
		}
		out = append(out, ch)
	}
	return out, nil
}

// userFieldFilter reads the equality filter of userfieldconfig.list.
func (s *Server) userFieldFilter(c *Call, filter *params.Object) (customfield.Filter, error) {
	var f customfield.Filter
	for _, k := range filter.Keys() {
		v, _ := filter.Get(k)
		str, _ := params.String(v)
		switch k {
		case "id":
			f.ID, _ = params.Int(v)
			if f.ID == 0 {
				f.ID = -1 // matches nothing
			}
		case "entityId":
			o := params.NewObject()
			o.Set("entityId", str)
			etid, err := s.userFieldOwner(c, o)
			if err != nil {
				etid = -1 // a type that does not exist holds no fields
			}
			f.EntityTypeID = etid
		case "fieldName":
			f.Name = str
		case "userTypeId":
			f.Kind = str
		case "multiple", "mandatory":
			b, _ := params.Bool(v)
			if k == "multiple" {
				f.Multiple = &b
			} else {
				f.Mandatory = &b
			}
		default:
			return f, crm.NewError(crm.ErrInvalidArg, "Invalid filter: field '%s' is not allowed in filter", k)
		}
	}
	return f, nil
}

// userFieldWire is a custom field as userfieldconfig.get answers it: every scalar a
// string (spec §8.1).
func (s *Server) userFieldWire(c *Call, f *crm.UserField) jsonx.Map {
	entityID := ""
	if t, err := s.crm.GetType(c.Ctx, c.Actor, f.EntityTypeID, true); err == nil {
		entityID = t.UFEntityID()
	}
	plainSettings := field.PlainSettings(f.Settings)
	settingsWire := jsonx.Map{}
	for _, k := range field.SettingKeys(plainSettings) {
		settingsWire = append(settingsWire, jsonx.KV{K: k, V: plainSettings[k]})
	}
	langList := f.Labels.Languages()
	sort.Strings(langList)
	langMapWire := func(m map[string]string) jsonx.Map {
		out := jsonx.Map{}
		for _, l := range langList {
			var v any
			if s, ok := m[l]; ok {
				v = s
			}
			out = append(out, jsonx.KV{K: l, V: v})
		}
		return out
	}
	languageID := jsonx.Map{}
	for _, l := range langList {
		languageID = append(languageID, jsonx.KV{K: l, V: l})
	}
	var xml any
	if f.XMLID != nil {
		xml = *f.XMLID
	}
	id := strconv.FormatInt(f.ID, 10)
	out := jsonx.Map{
		{K: "id", V: id}, {K: "entityId", V: entityID}, {K: "fieldName", V: f.Name},
		{K: "userTypeId", V: f.Kind}, {K: "xmlId", V: xml}, {K: "sort", V: strconv.FormatInt(f.Sort, 10)},
		{K: "multiple", V: yn(f.Multiple)}, {K: "mandatory", V: yn(f.Mandatory)}, {K: "showFilter", V: string(f.ShowFilter)},
		{K: "showInList", V: yn(f.ShowInList)}, {K: "editInList", V: yn(f.EditInList)}, {K: "isSearchable", V: yn(f.IsSearchable)},
		{K: "settings", V: settingsWire}, {K: "languageId", V: languageID},
		{K: "editFormLabel", V: langMapWire(f.Labels.EditForm)}, {K: "listColumnLabel", V: langMapWire(f.Labels.ListColumn)},
		{K: "listFilterLabel", V: langMapWire(f.Labels.ListFilter)}, {K: "errorMessage", V: langMapWire(f.Labels.ErrorMessage)},
		{K: "helpMessage", V: langMapWire(f.Labels.HelpMessage)},
	}
	if f.Kind == "enumeration" {
		items := []jsonx.Map{}
		for _, e := range f.Enums {
			items = append(items, jsonx.Map{
				{K: "id", V: strconv.FormatInt(e.ID, 10)}, {K: "userFieldId", V: id}, {K: "value", V: e.Value},
				{K: "def", V: yn(e.Def)}, {K: "sort", V: strconv.FormatInt(e.Sort, 10)}, {K: "xmlId", V: e.XMLID},
			})
		}
		out = append(out, jsonx.KV{K: "enum", V: items})
	}
	return out
}
