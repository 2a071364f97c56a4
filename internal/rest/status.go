package rest

import (
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.status.* — stage directories of funnels (spec §7). This family spells its errors
// differently: the message is the code, or "" on add.

func (s *Server) registerStatuses() {
	s.register("crm.status.add", method{fn: (*Server).statusAdd, family: familyStatusAdd})
	s.registerFamily(familyStatus, map[string]handlerFunc{
		"crm.status.update":       (*Server).statusUpdate,
		"crm.status.delete":       (*Server).statusDelete,
		"crm.status.get":          (*Server).statusGet,
		"crm.status.list":         (*Server).statusList,
		"crm.status.fields":       (*Server).statusFields,
		"crm.status.entity.types": (*Server).statusEntityTypes,
		"crm.status.entity.items": (*Server).statusEntityItems,
	})
}

// statusID reads the row id of update, delete and get.
func statusID(c *Call) (int64, error) {
	v, ok := params.Lookup(c.Params, "id")
	id, isInt := params.Int(v)
	if !ok || !isInt || id <= 0 {
		return 0, apiErr(400, "Invalid identifier.", "Invalid identifier.")
	}
	return id, nil
}

func statusFieldsParam(c *Call, family family) (*params.Object, error) {
	v, ok := params.Lookup(c.Params, "fields")
	if o, isObj := v.(*params.Object); ok && isObj {
		return o, nil
	}
	if ok && params.IsEmptyContainer(v) {
		return params.NewObject(), nil
	}
	code := any("Parameter 'fields' must be array.")
	if family == familyStatusAdd {
		code = ""
	}
	return nil, apiErr(400, code, "Parameter 'fields' must be array.")
}

func (s *Server) statusAdd(c *Call) (*Result, error) {
	fields, err := statusFieldsParam(c, familyStatusAdd)
	if err != nil {
		return nil, err
	}
	id, err := s.crm.AddStage(c.Ctx, c.Actor, fields)
	if err != nil {
		return nil, err
	}
	return &Result{Result: id}, nil
}

func (s *Server) statusUpdate(c *Call) (*Result, error) {
	id, err := statusID(c)
	if err != nil {
		return nil, err
	}
	fields, err := statusFieldsParam(c, familyStatus)
	if err != nil {
		return nil, err
	}
	if err := s.crm.UpdateStage(c.Ctx, c.Actor, id, fields); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) statusDelete(c *Call) (*Result, error) {
	id, err := statusID(c)
	if err != nil {
		return nil, err
	}
	forced := false
	if p, ok := params.Lookup(c.Params, "params"); ok {
		if o, isObj := p.(*params.Object); isObj {
			if v, ok := params.Lookup(o, "FORCED"); ok {
				f, _ := params.String(v)
				forced = strings.EqualFold(f, "Y")
			}
		}
	}
	if err := s.crm.DeleteStage(c.Ctx, c.Actor, id, forced); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) statusGet(c *Call) (*Result, error) {
	id, err := statusID(c)
	if err != nil {
		return nil, err
	}
	st, err := s.crm.GetStage(c.Ctx, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: crm.StageWire(st)}, nil
}

// statusList answers a bare array of rows with total (select is ignored, as in Bitrix24).
func (s *Server) statusList(c *Call) (*Result, error) {
	filter, _ := params.Lookup(c.Params, "filter")
	order, _ := params.Lookup(c.Params, "order")
	start := startParam(c.Params)
	rows, total, err := s.crm.ListStages(c.Ctx, filter, order, start)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(rows))
	for i, r := range rows {
		out[i] = crm.StageWire(r)
	}
	t, next := pageInfo(start, len(out), total)
	return &Result{Result: out, Total: t, Next: next}, nil
}

func (s *Server) statusFields(*Call) (*Result, error) {
	d := func(typ, title string, required, readOnly, immutable bool) jsonx.Map {
		return jsonx.Map{{K: "type", V: typ}, {K: "isRequired", V: required}, {K: "isReadOnly", V: readOnly},
			{K: "isImmutable", V: immutable}, {K: "isMultiple", V: false}, {K: "isDynamic", V: false}, {K: "title", V: title}}
	}
	return &Result{Result: jsonx.Map{
		{K: "ID", V: d("integer", "ID", false, true, false)},
		{K: "ENTITY_ID", V: d("string", "Directory", true, false, true)},
		{K: "STATUS_ID", V: d("string", "Code", true, false, true)},
		{K: "SORT", V: d("integer", "Sort", false, false, false)},
		{K: "NAME", V: d("string", "Name", true, false, false)},
		{K: "NAME_INIT", V: d("string", "Original name", false, true, false)},
		{K: "SYSTEM", V: d("char", "System", false, true, false)},
		{K: "CATEGORY_ID", V: d("integer", "Pipeline", false, true, true)},
		{K: "COLOR", V: d("string", "Color", false, false, false)},
		{K: "SEMANTICS", V: d("char", "Semantics", false, false, true)},
		{K: "EXTRA", V: d("crm_status_extra", "Extra", false, false, false)},
	}}, nil
}

func (s *Server) statusEntityTypes(c *Call) (*Result, error) {
	dirs, err := s.crm.Directories(c.Ctx)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, 0, len(dirs))
	for _, d := range dirs {
		out = append(out, jsonx.Map{
			{K: "ID", V: d.Type.StageDirectory(d.Category.ID)},
			{K: "NAME", V: d.Title()},
			{K: "SEMANTIC_INFO", V: []any{}},
			{K: "PREFIX", V: d.Type.StagePrefix(d.Category.ID)},
			{K: "FIELD_ATTRIBUTE_SCOPE", V: "category_" + itoa(d.Category.ID)},
			{K: "ENTITY_TYPE_ID", V: d.Type.EntityTypeID},
			{K: "IS_ENABLED", V: d.Type.Flag("isStagesEnabled")},
			{K: "CATEGORY_ID", V: d.Category.ID},
			{K: "CATEGORY_NAME", V: d.Category.Name},
			{K: "CATEGORY_SORT", V: d.Category.Sort},
			{K: "IS_DEFAULT_CATEGORY", V: d.Category.IsDefault},
		})
	}
	return &Result{Result: out}, nil
}

func (s *Server) statusEntityItems(c *Call) (*Result, error) {
	v, _ := params.Lookup(c.Params, "entityId")
	entityID, _ := v.(string)
	stages, err := s.crm.DirectoryItems(c.Ctx, entityID)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(stages))
	for i, st := range stages {
		out[i] = jsonx.Map{{K: "NAME", V: st.Name}, {K: "SORT", V: st.Sort}, {K: "STATUS_ID", V: st.StatusID}}
	}
	return &Result{Result: out}, nil
}
