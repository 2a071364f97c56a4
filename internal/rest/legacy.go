package rest

import (
	"net/http"

	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.deal.*, crm.contact.*, crm.company.*, crm.lead.* — the classic per-entity methods
// that most integrations still call. They are thin adapters over the same operations as
// crm.item.*: UPPER_CASE names, string values, `result` as a bare list, ids and `true`
// for writes.

func (s *Server) registerLegacy() {
	for word, etid := range crm.LegacyEntities {
		prefix := "crm." + word + "."
		s.registerFamily(familyLegacy, map[string]handlerFunc{
			prefix + "add":    legacyAdd(etid),
			prefix + "update": legacyUpdate(etid),
			prefix + "get":    legacyGet(etid),
			prefix + "list":   legacyList(etid),
			prefix + "delete": legacyDelete(etid),
			prefix + "fields": legacyFields(etid),
		})
	}
}

// legacyID reads `id`, with the legacy wording when it is missing or not a number.
func legacyID(c *Call) (int64, error) {
	v, _ := params.Lookup(c.Params, "id")
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return 0, apiErr(http.StatusBadRequest, "", "ID is not defined or invalid.")
	}
	return id, nil
}

// legacyFieldsParam reads `fields`, which add and update require.
func legacyFieldsParam(c *Call) (*params.Object, error) {
	v, _ := params.Lookup(c.Params, "fields")
	if params.IsEmptyContainer(v) {
		return params.NewObject(), nil
	}
	o, ok := v.(*params.Object)
	if !ok {
		return nil, apiErr(http.StatusBadRequest, "", "Parameter 'fields' must be array.")
	}
	return o, nil
}

// legacyInput reads `fields` and translates them for the item operation.
func (s *Server) legacyInput(c *Call, etid int64) (*params.Object, error) {
	fields, err := legacyFieldsParam(c)
	if err != nil {
		return nil, err
	}
	t, err := s.crm.GetType(c.Ctx, etid, true)
	if err != nil {
		return nil, err
	}
	return t.LegacyInput(fields), nil
}

func legacyAdd(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		in, err := s.legacyInput(c, etid)
		if err != nil {
			return nil, err
		}
		_, it, err := s.crm.AddItem(c.Ctx, c.Actor, etid, in)
		if err != nil {
			return nil, err
		}
		return &Result{Result: it.ID}, nil
	}
}

func legacyUpdate(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		id, err := legacyID(c)
		if err != nil {
			return nil, err
		}
		in, err := s.legacyInput(c, etid)
		if err != nil {
			return nil, err
		}
		if _, _, err := s.crm.UpdateItem(c.Ctx, c.Actor, etid, id, in); err != nil {
			return nil, err
		}
		return &Result{Result: true}, nil
	}
}

func legacyGet(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		id, err := legacyID(c)
		if err != nil {
			return nil, err
		}
		t, it, err := s.crm.GetItem(c.Ctx, c.Actor, etid, id)
		if err != nil {
			return nil, err
		}
		return &Result{Result: t.LegacyWire(it, crm.LegacyAll)}, nil
	}
}

func legacyDelete(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		id, err := legacyID(c)
		if err != nil {
			return nil, err
		}
		if err := s.crm.DeleteItem(c.Ctx, c.Actor, etid, id); err != nil {
			return nil, err
		}
		return &Result{Result: true}, nil
	}
}

func legacyList(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		req := crm.ListRequest{Start: startParam(c.Params)}
		req.Filter, _ = params.Lookup(c.Params, "filter")
		req.Order, _ = params.Lookup(c.Params, "order")
		t, list, err := s.crm.ListItems(c.Ctx, c.Actor, etid, req)
		if err != nil {
			return nil, err
		}
		sv, _ := params.Lookup(c.Params, "select")
		sel := t.ParseLegacySelect(sv)
		rows := make([]jsonx.Obj, len(list.Items))
		for i, it := range list.Items {
			rows[i] = t.LegacyWire(it, sel)
		}
		total, next := pageInfo(req.Start, len(rows), list.Total)
		return &Result{Result: rows, Total: total, Next: next}, nil
	}
}

func legacyFields(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		t, err := s.crm.GetType(c.Ctx, etid, true)
		if err != nil {
			return nil, err
		}
		return &Result{Result: t.LegacyFieldsWire()}, nil
	}
}
