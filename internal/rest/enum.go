package rest

import (
	"strconv"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
)

// crm.enum.* — reference lists.

func (s *Server) registerEnums() {
	s.register("crm.enum.ownertype", method{fn: (*Server).enumOwnerType, family: familyItem})
}

// standardOwnerTypes are the built-in CRM types, in the order Bitrix24 lists them.
var standardOwnerTypes = []struct {
	id                int64
	name, code, short string
}{
	{1, "Lead", "LEAD", "L"}, {2, "Deal", "DEAL", "D"}, {3, "Contact", "CONTACT", "C"}, {4, "Company", "COMPANY", "CO"},
	{5, "Invoice (old)", "INVOICE", "I"}, {31, "Invoice", "SMART_INVOICE", "SI"}, {7, "Estimate", "QUOTE", "Q"},
	{8, "Requisite", "REQUISITE", "RQ"}, {36, "Document", "SMART_DOCUMENT", "DO"}, {39, "Company document", "SMART_B2E_DOC", "SBD"},
}

// enumOwnerType lists the standard types, then every smart process.
func (s *Server) enumOwnerType(c *Call) (*Result, error) {
	types, err := s.crm.AllTypes(c.Ctx)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, 0, len(standardOwnerTypes)+len(types))
	for _, t := range standardOwnerTypes {
		out = append(out, jsonx.Map{{K: "ID", V: t.id}, {K: "NAME", V: t.name}, {K: "SYMBOL_CODE", V: t.code}, {K: "SYMBOL_CODE_SHORT", V: t.short}})
	}
	for _, t := range types {
		out = append(out, jsonx.Map{
			{K: "ID", V: t.EntityTypeID}, {K: "NAME", V: t.Title},
			{K: "SYMBOL_CODE", V: "DYNAMIC_" + strconv.FormatInt(t.EntityTypeID, 10)},
			{K: "SYMBOL_CODE_SHORT", V: field.BindingPrefix(t.EntityTypeID)},
		})
	}
	return &Result{Result: out}, nil
}
