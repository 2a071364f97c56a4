package rest

import (
	"smartcrm/internal/crm"
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
	out := make([]jsonx.Map, 0, len(crm.UFTypeIDs))
	for _, id := range crm.UFTypeIDs {
		out = append(out, jsonx.Map{{K: "ID", V: id}, {K: "title", V: crm.UFDescription(id)}})
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

// settingTypes describes the settings of each custom field type.
var settingTypes = map[string]jsonx.Map{
	"string":      {{K: "DEFAULT_VALUE", V: "string"}, {K: "ROWS", V: "int"}, {K: "SIZE", V: "int"}, {K: "REGEXP", V: "string"}, {K: "MIN_LENGTH", V: "int"}, {K: "MAX_LENGTH", V: "int"}},
	"integer":     {{K: "DEFAULT_VALUE", V: "int"}, {K: "SIZE", V: "int"}, {K: "MIN_VALUE", V: "int"}, {K: "MAX_VALUE", V: "int"}},
	"double":      {{K: "DEFAULT_VALUE", V: "double"}, {K: "PRECISION", V: "int"}, {K: "SIZE", V: "int"}, {K: "MIN_VALUE", V: "double"}, {K: "MAX_VALUE", V: "double"}},
	"boolean":     {{K: "DEFAULT_VALUE", V: "int"}, {K: "DISPLAY", V: "string"}, {K: "LABEL", V: "string"}, {K: "LABEL_CHECKBOX", V: "string"}},
	"date":        {{K: "DEFAULT_VALUE", V: "object"}},
	"datetime":    {{K: "DEFAULT_VALUE", V: "object"}, {K: "USE_SECOND", V: "char"}, {K: "USE_TIMEZONE", V: "char"}},
	"enumeration": {{K: "DISPLAY", V: "string"}, {K: "LIST_HEIGHT", V: "int"}, {K: "CAPTION_NO_VALUE", V: "string"}, {K: "SHOW_NO_VALUE", V: "char"}},
	"money":       {{K: "DEFAULT_VALUE", V: "string"}},
	"url":         {{K: "POPUP", V: "char"}, {K: "SIZE", V: "int"}, {K: "MIN_LENGTH", V: "int"}, {K: "MAX_LENGTH", V: "int"}, {K: "DEFAULT_VALUE", V: "string"}, {K: "ROWS", V: "int"}},
	"file":        {{K: "SIZE", V: "int"}, {K: "LIST_WIDTH", V: "int"}, {K: "LIST_HEIGHT", V: "int"}, {K: "MAX_SHOW_SIZE", V: "int"}, {K: "MAX_ALLOWED_SIZE", V: "int"}, {K: "EXTENSIONS", V: "string"}, {K: "TARGET_BLANK", V: "char"}},
	"address":     {{K: "SHOW_MAP", V: "char"}},
	"employee":    {},
	"crm":         {{K: "LEAD", V: "char"}, {K: "CONTACT", V: "char"}, {K: "COMPANY", V: "char"}, {K: "DEAL", V: "char"}},
	"crm_status":  {{K: "ENTITY_TYPE", V: "string"}},
}

func (s *Server) crmUserFieldSettingsFields(c *Call) (*Result, error) {
	v, _ := params.Lookup(c.Params, "type")
	typ, _ := v.(string)
	settings, ok := settingTypes[typ]
	if typ == "" {
		return nil, apiErr(400, "", "Parameter 'type' is not specified or empty.")
	}
	if !ok {
		return nil, apiErr(400, "", "Unknown custom field type '"+typ+"'")
	}
	out := jsonx.Map{}
	for _, kv := range settings {
		out = append(out, jsonx.KV{K: kv.K, V: jsonx.Map{{K: "type", V: kv.V}, {K: "title", V: kv.K}}})
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
	rec, err := s.crm.AddUserField(c.Ctx, c.Actor, f)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "field", V: s.crm.UserFieldWire(c.Ctx, rec)}}}, nil
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
	rec, err := s.crm.UpdateUserField(c.Ctx, c.Actor, id, f)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "field", V: s.crm.UserFieldWire(c.Ctx, rec)}}}, nil
}

func (s *Server) userFieldGet(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	id, err := ufID(c)
	if err != nil {
		return nil, err
	}
	rec, err := s.crm.GetUserField(c.Ctx, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "field", V: s.crm.UserFieldWire(c.Ctx, rec)}}}, nil
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
	wires, err := s.crm.ListUserFields(c.Ctx, filter)
	if err != nil {
		return nil, err
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
	if err := s.crm.DeleteUserField(c.Ctx, c.Actor, id); err != nil {
		return nil, err
	}
	return &Result{Result: nil}, nil
}

func (s *Server) userFieldTypes(c *Call) (*Result, error) {
	if err := ufModule(c); err != nil {
		return nil, err
	}
	types := jsonx.Map{}
	for _, id := range crm.UFTypeIDs {
		types = append(types, jsonx.KV{K: id, V: jsonx.Map{{K: "userTypeId", V: id}, {K: "description", V: crm.UFDescription(id)}}})
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
