package rest

import (
	"strconv"
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

// stageWire is a stage as crm.status.get answers it: numbers as strings, no EXTRA for
// smart-process stages (spec §7.2).
func stageWire(s *crm.Stage) jsonx.Map {
	var sem any
	if s.Semantics != crm.InProgress {
		sem = string(s.Semantics)
	}
	var cat any = strconv.FormatInt(s.CategoryID, 10)
	if s.CategoryID < 0 {
		cat = nil // leads' statuses belong to no funnel a client sees
	}
	out := jsonx.Map{
		{K: "ID", V: strconv.FormatInt(s.ID, 10)}, {K: "ENTITY_ID", V: s.Directory}, {K: "STATUS_ID", V: s.StatusID},
		{K: "NAME", V: s.Name}, {K: "NAME_INIT", V: s.NameInit}, {K: "SORT", V: strconv.FormatInt(s.Sort, 10)},
		{K: "SYSTEM", V: yn(s.System)}, {K: "CATEGORY_ID", V: cat},
		{K: "COLOR", V: s.Color}, {K: "SEMANTICS", V: sem},
	}
	// Lead statuses and deal stages also carry EXTRA (spec §7.2); smart processes' do not.
	if s.Directory == "STATUS" || strings.HasPrefix(s.Directory, "DEAL_STAGE") {
		word := map[crm.Semantics]string{crm.InProgress: "process", crm.Success: "success", crm.Failure: "failure"}[s.Semantics]
		out = append(out, jsonx.KV{K: "EXTRA", V: jsonx.Map{{K: "SEMANTICS", V: word}, {K: "COLOR", V: s.Color}}})
	}
	return out
}

// stageSpec reads the UPPER_CASE fields of crm.status.add and update.
func stageSpec(in *params.Object) (crm.StageSpec, error) {
	var spec crm.StageSpec
	text := func(name string) (string, bool) {
		v, ok := params.Lookup(in, name)
		if !ok || v == nil {
			return "", false
		}
		str, _ := params.String(v)
		return strings.TrimSpace(str), true
	}
	spec.Directory, _ = text("ENTITY_ID")
	spec.StatusID, _ = text("STATUS_ID")
	if name, ok := text("NAME"); ok {
		spec.Name = &name
	}
	if v, ok := params.Lookup(in, "SORT"); ok {
		n, isInt := params.Int(v)
		if !isInt {
			return spec, crm.NewError(crm.ErrInvalidArg, "SORT must be a non-negative integer")
		}
		spec.Sort = &n
	}
	if v, ok := params.Lookup(in, "COLOR"); ok {
		c, _ := params.String(v)
		spec.Color = &c
	}
	if sem, ok := text("SEMANTICS"); ok {
		switch up := strings.ToUpper(sem); up {
		case "", "P":
			spec.Semantics = crm.InProgress
		default:
			spec.Semantics = crm.Semantics(up)
		}
	}
	return spec, nil
}

func (s *Server) statusAdd(c *Call) (*Result, error) {
	fields, err := statusFieldsParam(c, familyStatusAdd)
	if err != nil {
		return nil, err
	}
	spec, err := stageSpec(fields)
	if err != nil {
		return nil, err
	}
	st, err := s.crm.AddStage(c.Ctx, c.Actor, spec)
	if err != nil {
		return nil, err
	}
	return &Result{Result: st.ID}, nil
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
	spec, err := stageSpec(fields)
	if err != nil {
		return nil, err
	}
	if err := s.crm.UpdateStage(c.Ctx, c.Actor, id, spec); err != nil {
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
	st, err := s.crm.GetStage(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: stageWire(st)}, nil
}

// statusList answers a bare array of rows with total (select is ignored, as in Bitrix24).
func (s *Server) statusList(c *Call) (*Result, error) {
	if f, ok := lookup(c, "filter"); ok {
		if o, isObj := f.(*params.Object); isObj {
			if v, has := params.Lookup(o, "ENTITY_ID"); has {
				if _, isText := v.(string); !isText {
					return nil, crm.NewError(crm.ErrInvalidArg, "Filter by ENTITY_ID must be a string")
				}
			}
		}
	}
	where, order, err := parseQuery(c, upperResolver(crm.StageQueryFields()))
	if err != nil {
		return nil, err
	}
	start := startParam(c.Params)
	rows, total, err := s.crm.ListStages(c.Ctx, c.Actor, where, order, int(max(start, 0)))
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(rows))
	for i, r := range rows {
		out[i] = stageWire(r)
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
	dirs, err := s.crm.Directories(c.Ctx, c.Actor)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, 0, len(dirs))
	for _, d := range dirs {
		out = append(out, jsonx.Map{
			{K: "ID", V: d.ID()},
			{K: "NAME", V: d.Title()},
			{K: "SEMANTIC_INFO", V: []any{}},
			{K: "PREFIX", V: d.Type.StagePrefix(d.Category.ID)},
			{K: "FIELD_ATTRIBUTE_SCOPE", V: "category_" + itoa(d.Category.ID)},
			{K: "ENTITY_TYPE_ID", V: d.Type.EntityTypeID},
			{K: "IS_ENABLED", V: d.Type.Flag(crm.FlagStages)},
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
	stages, err := s.crm.DirectoryItems(c.Ctx, c.Actor, entityID)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(stages))
	for i, st := range stages {
		out[i] = jsonx.Map{{K: "NAME", V: st.Name}, {K: "SORT", V: st.Sort}, {K: "STATUS_ID", V: st.StatusID}}
	}
	return &Result{Result: out}, nil
}
