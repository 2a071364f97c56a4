package rest

import (
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
)

// crm.category.* — funnels of a type (spec §6).

func (s *Server) registerCategories() {
	s.registerFamily(familyCategory, map[string]handlerFunc{
		"crm.category.add":    (*Server).categoryAdd,
		"crm.category.update": (*Server).categoryUpdate,
		"crm.category.get":    (*Server).categoryGet,
		"crm.category.list":   (*Server).categoryList,
		"crm.category.delete": (*Server).categoryDelete,
		"crm.category.fields": (*Server).categoryFields,
	})
}

func (s *Server) categoryAdd(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	cat, err := s.crm.AddCategory(c.Ctx, c.Actor, etid, fields)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "category", V: crm.CategoryWire(cat)}}}, nil
}

func (s *Server) categoryUpdate(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	cat, err := s.crm.UpdateCategory(c.Ctx, c.Actor, etid, id, fields)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "category", V: crm.CategoryWire(cat)}}}, nil
}

func (s *Server) categoryGet(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	cat, err := s.crm.Category(c.Ctx, etid, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "category", V: crm.CategoryWire(cat)}}}, nil
}

func (s *Server) categoryList(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	cats, err := s.crm.Categories(c.Ctx, etid)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Map, len(cats))
	for i, cat := range cats {
		rows[i] = crm.CategoryWire(cat)
	}
	total := len(rows)
	return &Result{Result: jsonx.Map{{K: "categories", V: rows}}, Total: &total}, nil
}

// categoryDelete answers null, as Bitrix24 does for this family.
func (s *Server) categoryDelete(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	if err := s.crm.DeleteCategory(c.Ctx, c.Actor, etid, id); err != nil {
		return nil, err
	}
	return &Result{Result: nil}, nil
}

func (s *Server) categoryFields(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.crm.Categories(c.Ctx, etid); err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "fields", V: jsonx.Map{
		{K: "id", V: fieldDesc("integer", "ID", false, true, false)},
		{K: "name", V: fieldDesc("string", "Name", true, false, false)},
		{K: "sort", V: fieldDesc("integer", "Sort", false, false, false)},
		{K: "entityTypeId", V: fieldDesc("integer", "Entity type", true, true, false)},
		{K: "isDefault", V: fieldDesc("boolean", "Default", false, true, false)},
	}}}}, nil
}

// fieldDesc is a field description in the shape of crm.*.fields.
func fieldDesc(typ, title string, required, readOnly, immutable bool) jsonx.Map {
	return jsonx.Map{
		{K: "type", V: typ}, {K: "isRequired", V: required}, {K: "isReadOnly", V: readOnly},
		{K: "isImmutable", V: immutable}, {K: "isMultiple", V: false}, {K: "isDynamic", V: false},
		{K: "title", V: title},
	}
}
