package rest

import (
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// smartcrm.index.*: the list indexes of a type (internal/listindex), for
// administrators: list them, build one on chosen fields, drop one.
func (s *Server) registerIndexes() {
	s.registerFamily(familyItem, map[string]handlerFunc{
		"smartcrm.index.list":   (*Server).indexList,
		"smartcrm.index.add":    (*Server).indexAdd,
		"smartcrm.index.delete": (*Server).indexDelete,
	})
}

// indexType checks that this server manages list indexes and reads entityTypeId.
func (s *Server) indexType(c *Call) (int64, error) {
	if s.indexes == nil {
		return 0, apiErr(400, "ERROR", "List indexes are not managed by this server")
	}
	etid, _, err := itemIDs(c, false)
	return etid, err
}

// indexList takes {entityTypeId} and answers {indexes: [{name, fields, columns, origin,
// ready}]}.
func (s *Server) indexList(c *Call) (*Result, error) {
	etid, err := s.indexType(c)
	if err != nil {
		return nil, err
	}
	t, ixs, err := s.indexes.List(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(ixs))
	for i, ix := range ixs {
		out[i] = indexWire(t, ix)
	}
	return &Result{Result: jsonx.Map{{K: "indexes", V: out}}}, nil
}

// indexAdd takes {entityTypeId, fields: [name, …]} and builds the index now.
func (s *Server) indexAdd(c *Call) (*Result, error) {
	etid, err := s.indexType(c)
	if err != nil {
		return nil, err
	}
	v, ok := lookup(c, "fields")
	if !ok {
		return nil, missingParam("fields")
	}
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	n := namesOf(t)
	var fields []*crm.Field
	for _, name := range names(v) {
		f, ok := n.field(name)
		if !ok {
			return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: name, Msg: "No field " + name + " in this type"}
		}
		fields = append(fields, f)
	}
	ix, err := s.indexes.Add(c.Ctx, c.Actor, etid, fields)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "index", V: indexWire(t, ix)}}}, nil
}

// indexDelete takes {entityTypeId, name}.
func (s *Server) indexDelete(c *Call) (*Result, error) {
	etid, err := s.indexType(c)
	if err != nil {
		return nil, err
	}
	name, err := stringParam(c.Params, "name")
	if err != nil {
		return nil, err
	}
	if err := s.indexes.Delete(c.Ctx, c.Actor, etid, name); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// indexWire is an index as the methods show it: its columns and, where a column is a
// field's, the field's wire name.
func indexWire(t *crm.Type, ix store.ListIndex) jsonx.Map {
	byColumn := t.FieldsByColumn()
	fields := make([]string, len(ix.Columns))
	for i, col := range ix.Columns {
		if f := byColumn[col]; f != nil {
			fields[i] = string(f.Name)
		}
	}
	return jsonx.Map{{K: "name", V: ix.Name}, {K: "fields", V: fields}, {K: "columns", V: ix.Columns},
		{K: "origin", V: ix.Origin}, {K: "ready", V: ix.Ready}}
}
