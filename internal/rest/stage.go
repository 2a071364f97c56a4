package rest

import (
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/stagerules"
)

// smartcrm.stage.* — our own methods around funnels, where Bitrix24 has none:
// per-stage counts for Kanban and analytics, and fields required from a stage on.

func (s *Server) registerStageMethods() {
	s.registerFamily(familyItem, map[string]handlerFunc{
		"smartcrm.stage.counts":                (*Server).stageCounts,
		"smartcrm.stage.requiredFields.list":   (*Server).requiredFieldsList,
		"smartcrm.stage.requiredFields.set":    (*Server).requiredFieldsSet,
		"smartcrm.stage.requiredFields.delete": (*Server).requiredFieldsDelete,
	})
}

// stageCounts answers {categoryId, stages: [{stageId, name, sort, semantics, color,
// count, amount}]} for a funnel (the default one when categoryId is omitted).
func (s *Server) stageCounts(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	var cat int64
	if v, ok := params.Lookup(c.Params, "categoryId"); ok {
		if cat, ok = params.Int(v); !ok || cat < 0 {
			return nil, wrongParamType("categoryId", "int")
		}
	}
	stats, err := s.history.StageStats(c.Ctx, c.Actor, etid, cat)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Map, len(stats))
	for i, st := range stats {
		sem := string(st.Stage.Semantics)
		rows[i] = jsonx.Map{
			{K: "stageId", V: st.Stage.StatusID}, {K: "name", V: st.Stage.Name}, {K: "sort", V: st.Stage.Sort},
			{K: "semantics", V: sem}, {K: "color", V: st.Stage.Color}, {K: "count", V: st.Items}, {K: "amount", V: st.Amount},
		}
		cat = st.Stage.CategoryID
	}
	return &Result{Result: jsonx.Map{{K: "categoryId", V: cat}, {K: "stages", V: rows}}}, nil
}

// requiredFieldsList answers [{field, upperName, title, categoryId, fromStageId}].
func (s *Server) requiredFieldsList(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	rules, err := stagerules.List(c.Ctx, s.crm, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(rules))
	var names *wireNames
	if len(rules) > 0 {
		t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
		if err != nil {
			return nil, err
		}
		names = namesOf(t)
	}
	for i, r := range rules {
		out[i] = jsonx.Map{
			{K: "field", V: string(r.Field.Name)}, {K: "upperName", V: names.upper[r.Field]}, {K: "title", V: r.Field.Title},
			{K: "categoryId", V: r.CategoryID}, {K: "fromStageId", V: r.FromStageID},
		}
	}
	return &Result{Result: out}, nil
}

// requiredFieldsSet takes {entityTypeId, field, stageId}: the field is required from
// that stage on, in the stage's funnel.
func (s *Server) requiredFieldsSet(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	field, err := stringParam(c.Params, "field")
	if err != nil {
		return nil, err
	}
	stage, err := stringParam(c.Params, "stageId")
	if err != nil {
		return nil, err
	}
	if err := stagerules.Require(c.Ctx, s.crm, c.Actor, etid, s.fieldName(c, etid, field), stage); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// requiredFieldsDelete takes {entityTypeId, categoryId, field}.
func (s *Server) requiredFieldsDelete(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	cat, err := intParam(c.Params, "categoryId")
	if err != nil {
		return nil, err
	}
	field, err := stringParam(c.Params, "field")
	if err != nil {
		return nil, err
	}
	if err := stagerules.Drop(c.Ctx, s.crm, c.Actor, etid, cat, s.fieldName(c, etid, field)); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// fieldName resolves a field's wire name (any spelling) to its domain name; a name that
// names no field is passed on for the domain to refuse.
func (s *Server) fieldName(c *Call, etid int64, name string) string {
	if t, err := s.crm.ItemType(c.Ctx, c.Actor, etid); err == nil {
		if f, ok := namesOf(t).field(name); ok {
			return string(f.Name)
		}
	}
	return name
}
