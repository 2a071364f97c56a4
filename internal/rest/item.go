package rest

import (
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"strings"
)

// crm.item.* — items of smart processes and the built-in types (spec §4).

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
	return &Result{Result: jsonx.Map{{K: "item", V: newItemShape(t, nil, originalUFNames(c), true).wire(it)}}}
}

// originalUFNames reads useOriginalUfNames: Y answers custom fields as UF_CRM_….
func originalUFNames(c *Call) bool {
	v, _ := lookup(c, "useOriginalUfNames")
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

// itemPatchParam reads `fields` of an item write against the item's type.
func (s *Server) itemPatchParam(c *Call, etid int64) (crm.Patch, error) {
	fields, err := objectParam(c.Params, "fields")
	if err != nil {
		return nil, err
	}
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	return itemPatch(t, plainObject(fields)), nil
}

func (s *Server) itemAdd(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	patch, err := s.itemPatchParam(c, etid)
	if err != nil {
		return nil, err
	}
	t, it, err := s.crm.AddItem(c.Ctx, c.Actor, etid, patch)
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
	patch, err := s.itemPatchParam(c, etid)
	if err != nil {
		return nil, err
	}
	opt, err := writeOptions(c)
	if err != nil {
		return nil, err
	}
	t, it, err := s.crm.UpdateItem(c.Ctx, c.Actor, etid, id, patch, opt)
	if err != nil {
		return nil, err
	}
	return itemResult(c, t, it), nil
}

// writeOptions reads `version`, the item version the caller read (our own parameter,
// at the top level or among the fields, in any letter case): an update then refuses
// to overwrite a change made since, answering 409 VERSION_CONFLICT.
func writeOptions(c *Call) (crm.WriteOptions, error) {
	v, ok := lookup(c, "version")
	if !ok {
		if fields, isObj := c.Params.Get("fields"); isObj {
			if o, _ := fields.(*params.Object); o != nil {
				v, ok = params.Lookup(o, "version")
			}
		}
	}
	if !ok || v == nil || v == "" {
		return crm.WriteOptions{}, nil
	}
	n, isInt := params.Int(v)
	if !isInt || n <= 0 {
		return crm.WriteOptions{}, wrongParamType("version", "int")
	}
	return crm.WriteOptions{IfVersion: n}, nil
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

// itemQuery reads filter, order and paging of an item list.
func (s *Server) itemQuery(c *Call, etid int64) (*crm.Type, crm.ItemQuery, error) {
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, crm.ItemQuery{}, err
	}
	where, order, err := parseQuery(c, itemResolver(t))
	if err != nil {
		return nil, crm.ItemQuery{}, err
	}
	start := startParam(c.Params)
	return t, crm.ItemQuery{Where: where, Order: order, Offset: int(max(start, 0)), NoCount: start == -1}, nil
}

// itemSelect reads `select`: a list of names, "*" for all, or nothing for all. Unknown
// names are ignored; id and entityTypeId always come back, because clients page by id.
// version says whether the item's version is asked for (always, without a select).
func itemSelect(t *crm.Type, c *Call) (sel map[*crm.Field]bool, version bool) {
	v, _ := lookup(c, "select")
	list := names(v)
	if len(list) == 0 {
		return nil, true
	}
	wn := namesOf(t)
	sel = map[*crm.Field]bool{}
	for _, n := range list {
		if n == "*" {
			return nil, true
		}
		if strings.EqualFold(n, "version") {
			version = true
		}
		if f, ok := wn.field(n); ok {
			sel[f] = true
		}
	}
	for _, name := range []crm.FieldName{crm.FieldID, crm.FieldEntityTypeID} {
		f, _ := t.FieldByName(string(name))
		sel[f] = true
	}
	return sel, version
}

func (s *Server) itemList(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	t, q, err := s.itemQuery(c, etid)
	if err != nil {
		return nil, err
	}
	sel, version := itemSelect(t, c)
	for f := range sel {
		q.Select = append(q.Select, f)
	}
	t, list, err := s.crm.ListItems(c.Ctx, c.Actor, etid, q)
	if err != nil {
		return nil, err
	}
	rows := newItemShape(t, sel, originalUFNames(c), version).wirePage(list.Items)
	total, next := pageInfo(startParam(c.Params), len(rows), list.Total)
	return &Result{Result: jsonx.Map{{K: "items", V: rows}}, Total: total, Next: next}, nil
}

func (s *Server) itemFields(c *Call) (*Result, error) {
	etid, _, err := itemIDs(c, false)
	if err != nil {
		return nil, err
	}
	t, err := s.crm.GetType(c.Ctx, c.Actor, etid, true)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "fields", V: fieldsWire(t, originalUFNames(c))}}}, nil
}

// itemChildren answers {children: [{entityTypeId, id, title, createdTime}]}, newest
// first, at most 50, across every type whose items can have this item as parent.
func (s *Server) itemChildren(c *Call) (*Result, error) {
	etid, id, err := itemIDs(c, true)
	if err != nil {
		return nil, err
	}
	refs, err := s.crm.Children(c.Ctx, c.Actor, etid, id)
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
