package rest

import (
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// userfieldconfig.* — custom fields of smart processes (spec §8.1). Every error of this
// family has the empty code, the text in error_description.

func (s *Server) registerUserFields() {
	for name, fn := range map[string]handlerFunc{
		"userfieldconfig.add":      (*Server).userFieldAdd,
		"userfieldconfig.update":   (*Server).userFieldUpdate,
		"userfieldconfig.get":      (*Server).userFieldGet,
		"userfieldconfig.list":     (*Server).userFieldList,
		"userfieldconfig.delete":   (*Server).userFieldDelete,
		"userfieldconfig.getTypes": (*Server).userFieldTypes,
	} {
		s.register(name, method{fn: fn, family: familyUserField})
	}
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
	recs, err := s.crm.ListUserFields(c.Ctx, filter)
	if err != nil {
		return nil, err
	}
	start := max(startParam(c.Params), 0)
	total := len(recs)
	rows := []jsonx.Map{}
	for i := int(start); i < total && i < int(start)+crm.PageSize; i++ {
		rows = append(rows, s.crm.UserFieldWire(c.Ctx, recs[i]))
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
