package rest

import (
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
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

// categoryWire is a funnel as crm.category.get answers it.
func categoryWire(c *crm.Category) jsonx.Map {
	return jsonx.Map{
		{K: "id", V: c.ID}, {K: "name", V: c.Name}, {K: "sort", V: c.Sort}, {K: "entityTypeId", V: c.EntityTypeID},
		{K: "isDefault", V: yn(c.IsDefault)}, {K: "isSystem", V: yn(c.IsSystem)}, {K: "code", V: c.Code},
	}
}

// categorySpec reads the fields of crm.category.add and update (names in any letter
// case).
func categorySpec(in *params.Object) (crm.CategorySpec, error) {
	var spec crm.CategorySpec
	for _, key := range in.Keys() {
		v, _ := in.Get(key)
		switch strings.ToLower(key) {
		case "name":
			name, ok := params.String(v)
			if !ok {
				name = ""
			}
			spec.Name = &name
		case "sort":
			n, ok := params.Int(v)
			if !ok {
				return spec, &crm.Error{Kind: crm.ErrInvalidArg, Field: "sort", Msg: "Field 'SORT' must be an integer"}
			}
			spec.Sort = &n
		case "isdefault":
			b, ok := params.Bool(v)
			if !ok {
				return spec, &crm.Error{Kind: crm.ErrInvalidArg, Field: "isDefault", Msg: "Field 'IS_DEFAULT' must be Y or N"}
			}
			spec.IsDefault = &b
		}
	}
	return spec, nil
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
	spec, err := categorySpec(fields)
	if err != nil {
		return nil, err
	}
	cat, err := s.crm.AddCategory(c.Ctx, c.Actor, etid, spec)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "category", V: categoryWire(cat)}}}, nil
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
	spec, err := categorySpec(fields)
	if err != nil {
		return nil, err
	}
	cat, err := s.crm.UpdateCategory(c.Ctx, c.Actor, etid, id, spec)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "category", V: categoryWire(cat)}}}, nil
}

func (s *Server) categoryGet(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	cat, err := s.crm.Category(c.Ctx, c.Actor, etid, id)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "category", V: categoryWire(cat)}}}, nil
}

func (s *Server) categoryList(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	cats, err := s.crm.Categories(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Map, len(cats))
	for i, cat := range cats {
		rows[i] = categoryWire(cat)
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
	if _, err := s.crm.Categories(c.Ctx, c.Actor, etid); err != nil {
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
