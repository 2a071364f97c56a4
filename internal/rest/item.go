package rest

import (
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.item.* — items of smart processes (spec §4).

func (s *Server) registerItems() {
	s.registerFamily(familyItem, map[string]handlerFunc{
		"crm.item.add":    (*Server).itemAdd,
		"crm.item.update": (*Server).itemUpdate,
		"crm.item.get":    (*Server).itemGet,
		"crm.item.list":   (*Server).itemList,
		"crm.item.delete": (*Server).itemDelete,
		"crm.item.fields": (*Server).itemFields,
		// Our own: the linked-items list of an item's card.
		"smartcrm.item.children": (*Server).itemChildren,
	})
}

func itemResult(c *Call, t *crm.Type, it *crm.Item) *Result {
	return &Result{Result: jsonx.Map{{K: "item", V: t.ItemWire(it, nil, originalUFNames(c))}}}
}

// originalUFNames reads useOriginalUfNames: Y answers custom fields as UF_CRM_….
func originalUFNames(c *Call) bool {
	v, _ := params.Lookup(c.Params, "useOriginalUfNames")
	b, _ := params.Bool(v)
	return b
}

// itemIDs reads entityTypeId and, when withID, id.
func itemIDs(c *Call, withID bool) (etid, id int64, err error) {
	if etid, err = intParam(c.Params, "entityTypeId"); err != nil {
		return
	}
	if withID {
		id, err = intParam(c.Params, "id")
	}
	return
}

func (s *Server) itemAdd(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	t, it, err := s.crm.AddItem(c.Ctx, c.Actor, etid, fields)
	if err != nil {
		return nil, err
	}
	return itemResult(c, t, it), nil
}

func (s *Server) itemUpdate(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	t, it, err := s.crm.UpdateItem(c.Ctx, c.Actor, etid, id, fields)
	if err != nil {
		return nil, err
	}
	return itemResult(c, t, it), nil
}

func (s *Server) itemGet(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	t, it, err := s.crm.GetItem(c.Ctx, c.Actor, etid, id)
	if err != nil {
		return nil, err
	}
	return itemResult(c, t, it), nil
}

func (s *Server) itemDelete(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	if err := s.crm.DeleteItem(c.Ctx, c.Actor, etid, id); err != nil {
		return nil, err
	}
	return &Result{Result: []any{}}, nil
}

func (s *Server) itemList(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	req := crm.ListRequest{Start: startParam(c.Params)}
	req.Select, _ = params.Lookup(c.Params, "select")
	req.Filter, _ = params.Lookup(c.Params, "filter")
	req.Order, _ = params.Lookup(c.Params, "order")
	t, list, err := s.crm.ListItems(c.Ctx, c.Actor, etid, req)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Obj, len(list.Items))
	for i, it := range list.Items {
		rows[i] = t.ItemWire(it, list.Selected, originalUFNames(c))
	}
	total, next := pageInfo(req.Start, len(rows), list.Total)
	return &Result{Result: jsonx.Map{{K: "items", V: rows}}, Total: total, Next: next}, nil
}

func (s *Server) itemFields(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	t, err := s.crm.GetType(c.Ctx, etid, true)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "fields", V: t.FieldsWire()}}}, nil
}

// itemChildren answers {children: [{entityTypeId, id, title, createdTime}]}, newest
// first, at most 50, across every type whose items can have this item as parent.
func (s *Server) itemChildren(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	refs, err := s.crm.Children(c.Ctx, etid, id)
	if err != nil {
		return nil, err
	}
	rows := make([]jsonx.Map, len(refs))
	for i, r := range refs {
		rows[i] = jsonx.Map{{K: "entityTypeId", V: r.EntityTypeID}, {K: "id", V: r.ID}, {K: "title", V: r.Title},
			{K: "createdTime", V: r.CreatedTime.Format(wireTime)}}
	}
	return &Result{Result: jsonx.Map{{K: "children", V: rows}}}, nil
}
