package rest

import (
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
)

// crm.enum.* — reference lists.

func (s *Server) registerEnums() {
	s.register("crm.enum.ownertype", method{fn: (*Server).enumOwnerType, family: familyItem})
}

// enumOwnerType lists the standard types, then every smart process.
func (s *Server) enumOwnerType(c *Call) (*Result, error) {
	types, err := s.crm.AllTypes(c.Ctx, c.Actor)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, 0, len(crm.StandardOwnerTypes)+len(types))
	for _, t := range crm.StandardOwnerTypes {
		out = append(out, jsonx.Map{{K: "ID", V: t.ID}, {K: "NAME", V: t.Title}, {K: "SYMBOL_CODE", V: t.Code}, {K: "SYMBOL_CODE_SHORT", V: t.Short}})
	}
	for _, t := range types {
		out = append(out, jsonx.Map{
			{K: "ID", V: t.EntityTypeID}, {K: "NAME", V: t.Title},
			{K: "SYMBOL_CODE", V: t.EntityName()},
			{K: "SYMBOL_CODE_SHORT", V: field.BindingPrefix(t.EntityTypeID)},
		})
	}
	return &Result{Result: out}, nil
}
