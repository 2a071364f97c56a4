package rest

import (
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.type.* — smart-process definitions (spec §3).

func (s *Server) registerTypes() {
	s.registerFamily(familyType, map[string]handlerFunc{
		"crm.type.add":               (*Server).typeAdd,
		"crm.type.update":            (*Server).typeUpdate,
		"crm.type.get":               (*Server).typeGet,
		"crm.type.getByEntityTypeId": (*Server).typeGetByEntityTypeID,
		"crm.type.list":              (*Server).typeList,
		"crm.type.delete":            (*Server).typeDelete,
		"crm.type.fields":            (*Server).typeFields,
	})
}

func typeResult(t *crm.Type) *Result {
	return &Result{Result: jsonx.Map{{K: "type", V: typeWire(t, true)}}}
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func wireMoment(t time.Time) string { return t.In(time.Local).Format(wireTime) }

// typeWire is a type as crm.type.get answers it. full adds what list rows leave out:
// relations, linked user fields and custom sections (spec §3.2).
func typeWire(t *crm.Type, full bool) jsonx.Obj {
	o := jsonx.Obj{
		{K: "id", V: t.ID}, {K: "title", V: t.Title}, {K: "code", V: t.Code},
		{K: "createdBy", V: t.CreatedBy}, {K: "entityTypeId", V: t.EntityTypeID},
		{K: "customSectionId", V: t.CustomSectionID},
	}
	for _, f := range crm.AllFlags() {
		o.Add(string(f), yn(t.Flag(f)))
	}
	o.Add("createdTime", wireMoment(t.CreatedTime))
	o.Add("updatedTime", wireMoment(t.UpdatedTime))
	o.Add("updatedBy", t.UpdatedBy)
	if !full {
		return o
	}
	relWire := func(list []crm.Relation) []jsonx.Map {
		out := []jsonx.Map{}
		for _, r := range list {
			out = append(out, jsonx.Map{
				{K: "entityTypeId", V: r.EntityTypeID},
				{K: "isChildrenListEnabled", V: yn(r.IsChildrenListEnabled)},
				{K: "isPredefined", V: yn(r.IsPredefined)},
			})
		}
		return out
	}
	o.Add("relations", jsonx.Map{{K: "parent", V: relWire(t.Relations.Parent)}, {K: "child", V: relWire(t.Relations.Child)}})
	linked := jsonx.Map{}
	for _, k := range crm.LinkedUserFieldKeys {
		if v, ok := t.LinkedUserFields[k]; ok {
			linked = append(linked, jsonx.KV{K: k, V: yn(v)})
		}
	}
	o.Add("linkedUserFields", linked)
	o.Add("customSections", []any{})
	return o
}

// typeSpec reads the fields of crm.type.add and crm.type.update. Unknown keys are
// ignored, as Bitrix24 does.
func typeSpec(in *params.Object, adding bool) (crm.TypeSpec, error) {
	var spec crm.TypeSpec
	invalid := func(name, msg string) error { return &crm.Error{Kind: crm.ErrInvalidArg, Field: name, Msg: msg} }
	for _, key := range in.Keys() {
		val, _ := in.Get(key)
		switch key {
		case "title":
			title, ok := params.String(val)
			if !ok {
				return spec, invalid(key, "title must be a string of at most 255 characters")
			}
			spec.Title = &title
		case "code":
			code, ok := params.String(val)
			if !ok {
				return spec, invalid(key, "code must be a string of at most 255 characters")
			}
			spec.Code = &code
		case "entityTypeId":
			if !adding || val == nil || val == "" {
				continue // immutable
			}
			id, ok := params.Int(val)
			if !ok || !crm.ValidEntityTypeID(id) {
				return spec, invalid(key, "entityTypeId is out of allowed range")
			}
			spec.EntityTypeID = id
		case "customSectionId":
			if id, ok := params.Int(val); ok && adding {
				spec.CustomSectionID = &id
			}
		case "relations":
			rel, err := relationsParam(val)
			if err != nil {
				return spec, err
			}
			spec.Relations = &rel
		case "linkedUserFields":
			if params.IsEmptyContainer(val) {
				spec.LinkedUserFields = map[string]bool{}
				continue
			}
			obj, isObj := val.(*params.Object)
			if !isObj {
				return spec, invalid(key, "linkedUserFields must be an object")
			}
			spec.LinkedUserFields = map[string]bool{}
			for _, k := range obj.Keys() {
				raw, _ := obj.Get(k)
				b, ok := params.Bool(raw)
				if !ok {
					return spec, invalid(key, "linkedUserFields["+k+"] must be true or false")
				}
				spec.LinkedUserFields[k] = b
			}
		default:
			if f := crm.Flag(key); f.Settable() {
				b, ok := params.Bool(val)
				if !ok {
					return spec, invalid(key, key+" must be Y or N")
				}
				if spec.Flags == nil {
					spec.Flags = crm.Flags{}
				}
				spec.Flags[f] = b
			}
		}
	}
	return spec, nil
}

// relationsParam reads {parent: [...], child: [...]}, each relation {entityTypeId,
// isChildrenListEnabled}.
func relationsParam(v any) (crm.Relations, error) {
	out := crm.Relations{Parent: []crm.Relation{}, Child: []crm.Relation{}}
	bad := func(msg string) error { return &crm.Error{Kind: crm.ErrInvalidArg, Field: "relations", Msg: msg} }
	if params.IsEmptyContainer(v) {
		return out, nil
	}
	obj, isObj := v.(*params.Object)
	if !isObj {
		return out, bad("relations must be an object with parent and child lists")
	}
	for _, k := range obj.Keys() {
		var target *[]crm.Relation
		switch k {
		case "parent":
			target = &out.Parent
		case "child":
			target = &out.Child
		default:
			continue
		}
		raw, _ := obj.Get(k)
		_, list, isList := params.Entries(raw)
		if !isList {
			if raw == nil || raw == "" {
				continue
			}
			return out, bad("relations." + k + " must be a list")
		}
		for _, e := range list {
			r, isObj := e.(*params.Object)
			if !isObj {
				return out, bad("each relation must be an object with entityTypeId")
			}
			idv, _ := r.Get("entityTypeId")
			etid, ok := params.Int(idv)
			if !ok || etid <= 0 {
				return out, bad("relation entityTypeId must be a positive integer")
			}
			rel := crm.Relation{EntityTypeID: etid}
			if lv, given := r.Get("isChildrenListEnabled"); given {
				b, ok := params.Bool(lv)
				if !ok {
					return out, bad("isChildrenListEnabled must be true or false")
				}
				rel.IsChildrenListEnabled = b
			}
			*target = append(*target, rel)
		}
	}
	return out, nil
}

func (s *Server) typeAdd(c *Call) (*Result, error) {
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	spec, err := typeSpec(fields, true)
	if err != nil {
		return nil, err
	}
	t, err := s.crm.AddType(c.Ctx, c.Actor, spec)
	if err != nil {
		return nil, err
	}
	return typeResult(t), nil
}

func (s *Server) typeUpdate(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	fields := params.NewObject()
	if _, ok := lookup(c, "fields"); ok {
		if fields, err = objectParam(c.Params, "fields"); err != nil {
			return nil, err
		}
	}
	spec, err := typeSpec(fields, false)
	if err != nil {
		return nil, err
	}
	t, err := s.crm.UpdateType(c.Ctx, c.Actor, id, spec)
	if err != nil {
		return nil, err
	}
	return typeResult(t), nil
}

func (s *Server) typeGet(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "id")
	if err != nil {
		return nil, err
	}
	t, err := s.crm.GetType(c.Ctx, c.Actor, id, false)
	if err != nil {
		return nil, err
	}
	return typeResult(t), nil
}

func (s *Server) typeGetByEntityTypeID(c *Call) (*Result, error) {
	id, err := intParam(c.Params, "entityTypeId")
	if err != nil {
		return nil, err
	}
	t, err := s.crm.GetSmartProcess(c.Ctx, c.Actor, id)
	if err != nil {
		return nil, err
	}
	return typeResult(t), nil
}

func (s *Server) typeList(c *Call) (*Result, error) {
	where, order, err := parseQuery(c, crm.CatalogResolver(crm.TypeQueryFields()))
	if err != nil {
		return nil, err
	}
	start := startParam(c.Params)
	list, err := s.crm.ListTypes(c.Ctx, c.Actor, where, order, int(max(start, 0)))
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Obj, len(list.Types))
	for i, t := range list.Types {
		rows[i] = typeWire(t, false)
	}
	total, next := pageInfo(start, len(rows), list.Total)
	return &Result{Result: jsonx.Map{{K: "types", V: rows}}, Total: total, Next: next}, nil
}

// typeDelete accepts `id` or `entityTypeId`; with neither it deletes nothing and
// answers null, as Bitrix24 does.
func (s *Server) typeDelete(c *Call) (*Result, error) {
	var err error
	if _, ok := lookup(c, "id"); ok {
		id, perr := intParam(c.Params, "id")
		if perr != nil {
			return nil, perr
		}
		err = s.crm.DeleteType(c.Ctx, c.Actor, id, false)
	} else if _, ok := lookup(c, "entityTypeId"); ok {
		id, perr := intParam(c.Params, "entityTypeId")
		if perr != nil {
			return nil, perr
		}
		err = s.crm.DeleteType(c.Ctx, c.Actor, id, true)
	} else {
		return &Result{Result: nil}, nil
	}
	if err != nil {
		return nil, err
	}
	return &Result{Result: []any{}}, nil
}

func (s *Server) typeFields(c *Call) (*Result, error) {
	desc := fieldDesc
	f := jsonx.Map{
		{K: "id", V: desc("integer", "ID", false, true, false)},
		{K: "title", V: desc("string", "Title", true, false, false)},
		{K: "code", V: desc("string", "Code", false, false, false)},
		{K: "createdBy", V: desc("user", "Created by", false, true, false)},
		{K: "entityTypeId", V: desc("integer", "Entity type ID", true, false, true)},
		{K: "customSectionId", V: desc("integer", "Digital workplace", false, false, true)},
	}
	for _, fl := range crm.AllFlags() {
		if fl.Settable() {
			f = append(f, jsonx.KV{K: string(fl), V: desc("boolean", string(fl), false, false, false)})
		}
	}
	f = append(f,
		jsonx.KV{K: "createdTime", V: desc("datetime", "Created at", false, true, false)},
		jsonx.KV{K: "updatedTime", V: desc("datetime", "Updated at", false, true, false)},
		jsonx.KV{K: "updatedBy", V: desc("user", "Updated by", false, true, false)},
	)
	return &Result{Result: jsonx.Map{{K: "fields", V: f}}}, nil
}
