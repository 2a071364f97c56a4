package rest

import (
	"net/http"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.deal.*, crm.contact.*, crm.company.*, crm.lead.* — the classic per-entity methods
// that most integrations still call. They are thin adapters over the same operations as
// crm.item.*: UPPER_CASE names, string values, `result` as a bare list, ids and `true`
// for writes.

func (s *Server) registerLegacy() {
	for word, etid := range legacyEntities {
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
	v, _ := lookup(c, "id")
	id, ok := params.Int(v)
	if !ok || id <= 0 {
		return 0, apiErr(http.StatusBadRequest, "", "ID is not defined or invalid.")
	}
	return id, nil
}

// legacyInput reads `fields` (which add and update require) into a patch: names as
// for crm.item, and the multifield kinds (PHONE: [{VALUE, VALUE_TYPE}]) as entries of fm.
func (s *Server) legacyInput(c *Call, etid int64) (crm.Patch, error) {
	v, _ := lookup(c, "fields")
	in := params.NewObject()
	if !params.IsEmptyContainer(v) {
		o, ok := v.(*params.Object)
		if !ok {
			return nil, apiErr(http.StatusBadRequest, "", "Parameter 'fields' must be array.")
		}
		in = o
	}
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	fields := plainObject(in)
	if t.Has(crm.FieldFM) {
		var fm []any
		for _, k := range in.Keys() {
			kind := upperTrim(k)
			if _, isKind := field.MultifieldKinds[kind]; !isKind {
				continue
			}
			v := fields[k]
			delete(fields, k)
			entries, ok := field.Elements(v)
			if !ok {
				if v != nil && v != "" {
					fields["fm"] = v // not a list: the fm field refuses it with the usual error
				}
				continue
			}
			for _, e := range entries {
				if m, isObj := e.(map[string]any); isObj {
					c := make(map[string]any, len(m)+1)
					for ek, ev := range m {
						c[ek] = ev
					}
					c["TYPE_ID"] = kind
					e = c
				}
				fm = append(fm, e)
			}
		}
		if fm != nil {
			fields["fm"] = fm
		}
	}
	return itemPatch(t, fields), nil
}

func legacyAdd(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		patch, err := s.legacyInput(c, etid)
		if err != nil {
			return nil, err
		}
		_, it, err := s.crm.AddItem(c.Ctx, c.Actor, etid, patch)
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
		patch, err := s.legacyInput(c, etid)
		if err != nil {
			return nil, err
		}
		opt, err := writeOptions(c)
		if err != nil {
			return nil, err
		}
		if _, _, err := s.crm.UpdateItem(c.Ctx, c.Actor, etid, id, patch, opt); err != nil {
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
		return &Result{Result: legacyWire(t, it, legacyAll)}, nil
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
		_, q, err := s.itemQuery(c, etid)
		if err != nil {
			return nil, err
		}
		t, list, err := s.crm.ListItems(c.Ctx, c.Actor, etid, q)
		if err != nil {
			return nil, err
		}
		sv, _ := lookup(c, "select")
		sel := parseLegacySelect(t, names(sv))
		rows := make([]jsonx.Obj, len(list.Items))
		for i, it := range list.Items {
			rows[i] = legacyWire(t, it, sel)
		}
		total, next := pageInfo(startParam(c.Params), len(rows), list.Total)
		return &Result{Result: rows, Total: total, Next: next}, nil
	}
}

func legacyFields(etid int64) handlerFunc {
	return func(s *Server, c *Call) (*Result, error) {
		t, err := s.crm.GetType(c.Ctx, c.Actor, etid, true)
		if err != nil {
			return nil, err
		}
		return &Result{Result: legacyFieldsWire(t)}, nil
	}
}
