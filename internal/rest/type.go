package rest

import (
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/store"
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
	return &Result{Result: jsonx.Map{{K: "type", V: t.Wire(true)}}}
}

func (s *Server) typeAdd(c *Call) (*Result, error) {
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	t, err := s.crm.AddType(c.Ctx, c.Actor, fields)
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
	if _, ok := params.Lookup(c.Params, "fields"); ok {
		if fields, err = objectParam(c.Params, "fields"); err != nil {
			return nil, err
		}
	}
	t, err := s.crm.UpdateType(c.Ctx, c.Actor, id, fields)
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
	t, err := s.crm.GetType(c.Ctx, id, false)
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
	t, err := s.crm.GetSmartProcess(c.Ctx, id)
	if err != nil {
		return nil, err
	}
	return typeResult(t), nil
}

func (s *Server) typeList(c *Call) (*Result, error) {
	filter, _ := params.Lookup(c.Params, "filter")
	order, _ := params.Lookup(c.Params, "order")
	start := startParam(c.Params)
	list, err := s.crm.ListTypes(c.Ctx, filter, order, start)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Obj, len(list.Types))
	for i, t := range list.Types {
		rows[i] = t.Wire(false)
	}
	total, next := pageInfo(start, len(rows), list.Total)
	return &Result{Result: jsonx.Map{{K: "types", V: rows}}, Total: total, Next: next}, nil
}

// typeDelete accepts `id` or `entityTypeId`; with neither it deletes nothing and
// answers null, as Bitrix24 does.
func (s *Server) typeDelete(c *Call) (*Result, error) {
	var err error
	if _, ok := params.Lookup(c.Params, "id"); ok {
		id, perr := intParam(c.Params, "id")
		if perr != nil {
			return nil, perr
		}
		err = s.crm.DeleteType(c.Ctx, c.Actor, id, false)
	} else if _, ok := params.Lookup(c.Params, "entityTypeId"); ok {
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
	for _, fl := range store.TypeFlags {
		if fl.Wire == "isPaymentsEnabled" || fl.Wire == "isCountersEnabled" {
			continue
		}
		f = append(f, jsonx.KV{K: fl.Wire, V: desc("boolean", fl.Wire, false, false, false)})
	}
	f = append(f,
		jsonx.KV{K: "createdTime", V: desc("datetime", "Created at", false, true, false)},
		jsonx.KV{K: "updatedTime", V: desc("datetime", "Updated at", false, true, false)},
		jsonx.KV{K: "updatedBy", V: desc("user", "Updated by", false, true, false)},
	)
	return &Result{Result: jsonx.Map{{K: "fields", V: f}}}, nil
}
