package rest

import (
	"strings"

	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.item.details.configuration.* — the sections of an item card and the fields in
// each, common (scope C) or a user's own (scope P), as Bitrix24 shapes them: a list of
// {name, title, type: "section", elements: [{name}]} with fields in UPPER_CASE. The web
// UI's card shows them.

func (s *Server) registerCardLayout() {
	s.registerFamily(familyItem, map[string]handlerFunc{
		"crm.item.details.configuration.get":                    (*Server).cardLayoutGet,
		"crm.item.details.configuration.set":                    (*Server).cardLayoutSet,
		"crm.item.details.configuration.reset":                  (*Server).cardLayoutReset,
		"crm.item.details.configuration.forceCommonScopeForAll": (*Server).cardLayoutForceCommon,
	})
}

// cardScope reads scope (P by default) and userId (the caller by default).
func cardScope(c *Call) (cardlayout.Scope, int64) {
	scope := cardlayout.ScopePersonal
	if v, ok := lookup(c, "scope"); ok {
		if str, _ := params.String(v); strings.EqualFold(strings.TrimSpace(str), "C") {
			scope = cardlayout.ScopeCommon
		}
	}
	user := c.Actor.UserID
	if v, ok := lookup(c, "userId"); ok {
		if n, isInt := params.Int(v); isInt && n > 0 {
			user = n
		}
	}
	return scope, user
}

func (s *Server) cardLayoutGet(c *Call) (*Result, error) {
	etid, err := intParam(c.Params, "entityTypeId")
	if err != nil {
		return nil, err
	}
	scope, user := cardScope(c)
	if scope == cardlayout.ScopeCommon {
		user = 0
	}
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	secs, _, err := s.cardLayout.Get(c.Ctx, c.Actor, etid, user)
	if err != nil {
		return nil, err
	}
	names := namesOf(t)
	out := make([]any, len(secs))
	for i, sec := range secs {
		elems := make([]any, 0, len(sec.Fields))
		for _, n := range sec.Fields {
			if f, ok := names.field(string(n)); ok {
				elems = append(elems, jsonx.Map{{K: "name", V: names.upper[f]}, {K: "optionFlags", V: "0"}})
			}
		}
		out[i] = jsonx.Map{{K: "name", V: sec.Name}, {K: "title", V: sec.Title}, {K: "type", V: "section"}, {K: "elements", V: elems}}
	}
	return &Result{Result: out}, nil
}

func (s *Server) cardLayoutSet(c *Call) (*Result, error) {
	etid, err := intParam(c.Params, "entityTypeId")
	if err != nil {
		return nil, err
	}
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	raw, ok := lookup(c, "data")
	if !ok {
		return nil, missingParam("data")
	}
	_, list, isList := params.Entries(raw)
	if !isList {
		return nil, wrongParamType("data", "array")
	}
	names := namesOf(t)
	var secs []cardlayout.Section
	for _, e := range list {
		o, isObj := e.(*params.Object)
		if !isObj {
			return nil, wrongParamType("data", "array of sections")
		}
		var sec cardlayout.Section
		if v, ok := params.Lookup(o, "name"); ok {
			sec.Name, _ = params.String(v)
		}
		if v, ok := params.Lookup(o, "title"); ok {
			sec.Title, _ = params.String(v)
		}
		if v, ok := params.Lookup(o, "elements"); ok {
			_, elems, _ := params.Entries(v)
			for _, el := range elems {
				var name string
				if eo, isObj := el.(*params.Object); isObj {
					nv, _ := params.Lookup(eo, "name")
					name, _ = params.String(nv)
				} else {
					name, _ = params.String(el)
				}
				f, ok := names.field(name)
				if !ok {
					return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: name, Msg: "Unknown field " + name + " in section " + sec.Name}
				}
				sec.Fields = append(sec.Fields, f.Name)
			}
		}
		secs = append(secs, sec)
	}
	scope, user := cardScope(c)
	if err := s.cardLayout.Set(c.Ctx, c.Actor, etid, scope, user, secs); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) cardLayoutReset(c *Call) (*Result, error) {
	etid, err := intParam(c.Params, "entityTypeId")
	if err != nil {
		return nil, err
	}
	scope, user := cardScope(c)
	if err := s.cardLayout.Reset(c.Ctx, c.Actor, etid, scope, user); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) cardLayoutForceCommon(c *Call) (*Result, error) {
	etid, err := intParam(c.Params, "entityTypeId")
	if err != nil {
		return nil, err
	}
	if err := s.cardLayout.ForceCommon(c.Ctx, c.Actor, etid); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}
