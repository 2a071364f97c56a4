package rest

import (
	"fmt"
	"strconv"
	"strings"

	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
)

// crm.item.details.configuration.* — the sections of an item card and the fields in
// each, common (scope C) or a user's own (scope P), per funnel, as Bitrix24 shapes
// them (spec automation §8): a list of {name, title, type: "section", elements:
// [{name, optionFlags, options}]} with fields in UPPER_CASE. extras.categoryId (a smart
// process) or extras.dealCategoryId (a deal) names the funnel; without it the layout is
// the one of every funnel, which the web editor and process files set and which a
// funnel without its own shows. get answers null when nothing was saved. The web UI's
// card shows them.

func (s *Server) registerCardLayout() {
	s.registerFamily(familyItem, map[string]handlerFunc{
		"crm.item.details.configuration.get":                    (*Server).cardLayoutGet,
		"crm.item.details.configuration.set":                    (*Server).cardLayoutSet,
		"crm.item.details.configuration.reset":                  (*Server).cardLayoutReset,
		"crm.item.details.configuration.forceCommonScopeForAll": (*Server).cardLayoutForceCommon,
	})
}

// cardLayoutError is the family's error: an empty code and Bitrix24's text.
func cardLayoutError(format string, a ...any) *APIError {
	return apiErr(400, "", fmt.Sprintf(format, a...))
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

// cardTarget reads entityTypeId and the funnel extras names.
func cardTarget(c *Call) (etid, cat int64, err error) {
	v, ok := lookup(c, "entityTypeId")
	if !ok || v == nil || v == "" {
		return 0, 0, cardLayoutError("Parameter 'entityTypeId' is not defined")
	}
	if etid, ok = params.Int(v); !ok {
		return 0, 0, cardLayoutError("Parameter 'entityTypeId' is not defined")
	}
	cat = cardlayout.AllFunnels
	if x, ok := lookup(c, "extras"); ok {
		if o, isObj := x.(*params.Object); isObj {
			for _, key := range []string{"categoryId", "dealCategoryId"} {
				if cv, given := params.Lookup(o, key); given {
					n, isInt := params.Int(cv)
					if !isInt || n < 0 {
						return 0, 0, wrongParamType("extras."+key, "int")
					}
					cat = n
				}
			}
		}
	}
	return etid, cat, nil
}

func (s *Server) cardLayoutGet(c *Call) (*Result, error) {
	etid, cat, err := cardTarget(c)
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
	secs, found, err := s.cardLayout.GetFunnel(c.Ctx, c.Actor, etid, cat, user)
	if err != nil {
		return nil, err
	}
	if found == "" {
		return &Result{Result: nil}, nil
	}
	names := namesOf(t)
	out := make([]any, len(secs))
	for i, sec := range secs {
		elems := make([]any, 0, len(sec.Fields))
		for _, n := range sec.Fields {
			f, ok := names.field(string(n))
			if !ok {
				continue
			}
			o := sec.Options[n]
			el := jsonx.Map{{K: "name", V: names.upper[f]}, {K: "optionFlags", V: strconv.FormatInt(o.Flags, 10)}}
			if len(o.Options) > 0 {
				el = append(el, jsonx.KV{K: "options", V: o.Options})
			}
			elems = append(elems, el)
		}
		out[i] = jsonx.Map{{K: "name", V: sec.Name}, {K: "title", V: sec.Title}, {K: "type", V: "section"}, {K: "elements", V: elems}}
	}
	return &Result{Result: out}, nil
}

func (s *Server) cardLayoutSet(c *Call) (*Result, error) {
	etid, cat, err := cardTarget(c)
	if err != nil {
		return nil, err
	}
	t, err := s.crm.ItemType(c.Ctx, c.Actor, etid)
	if err != nil {
		return nil, err
	}
	raw, ok := lookup(c, "data")
	if !ok {
		return nil, cardLayoutError("There are no data to write.")
	}
	keys, list, isList := params.Entries(raw)
	if !isList {
		return nil, cardLayoutError("Parameter 'data' must be array.")
	}
	for i, k := range keys {
		if k != strconv.Itoa(i) {
			return nil, cardLayoutError("The data must be indexed array.")
		}
	}
	if len(list) == 0 {
		return nil, cardLayoutError("There are no data to write.")
	}
	names := namesOf(t)
	var secs []cardlayout.Section
	for i, e := range list {
		o, isObj := e.(*params.Object)
		if !isObj {
			return nil, cardLayoutError("Section at index %d have type . The expected type is 'section'.", i)
		}
		if typ := stringAt(o, "type"); typ != "section" {
			return nil, cardLayoutError("Section at index %d have type %s. The expected type is 'section'.", i, typ)
		}
		sec := cardlayout.Section{Name: stringAt(o, "name"), Title: stringAt(o, "title")}
		if sec.Name == "" {
			return nil, cardLayoutError("Section at index %d does not have name.", i)
		}
		if sec.Title == "" {
			return nil, cardLayoutError("Section at index %d does not have title.", i)
		}
		if v, ok := params.Lookup(o, "elements"); ok {
			_, elems, _ := params.Entries(v)
			for j, el := range elems {
				var name string
				var opts cardlayout.ElementOptions
				if eo, isObj := el.(*params.Object); isObj {
					name = stringAt(eo, "name")
					if fv, given := params.Lookup(eo, "optionFlags"); given {
						opts.Flags, _ = params.Int(fv)
					}
					if ov, given := params.Lookup(eo, "options"); given {
						if oo, isObj := ov.(*params.Object); isObj {
							opts.Options = map[string]string{}
							for _, k := range oo.Keys() {
								x, _ := oo.Get(k)
								opts.Options[k], _ = params.String(x)
							}
						}
					}
				} else {
					name, _ = params.String(el)
				}
				if name == "" {
					return nil, cardLayoutError("Element at index %d in section at index %d does not have name.", j, i)
				}
				f, ok := names.field(name)
				if !ok {
					return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: name, Msg: "Unknown field " + name + " in section " + sec.Name}
				}
				sec.Fields = append(sec.Fields, f.Name)
				if opts.Flags != 0 || len(opts.Options) > 0 {
					if sec.Options == nil {
						sec.Options = map[crm.FieldName]cardlayout.ElementOptions{}
					}
					sec.Options[f.Name] = opts
				}
			}
		}
		secs = append(secs, sec)
	}
	scope, user := cardScope(c)
	if err := s.cardLayout.SetFunnel(c.Ctx, c.Actor, etid, cat, scope, user, secs); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

// stringAt reads a text member of an object ("" when absent or not text).
func stringAt(o *params.Object, name string) string {
	v, ok := params.Lookup(o, name)
	if !ok {
		return ""
	}
	str, _ := params.String(v)
	return strings.TrimSpace(str)
}

func (s *Server) cardLayoutReset(c *Call) (*Result, error) {
	etid, cat, err := cardTarget(c)
	if err != nil {
		return nil, err
	}
	scope, user := cardScope(c)
	if err := s.cardLayout.ResetFunnel(c.Ctx, c.Actor, etid, cat, scope, user); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) cardLayoutForceCommon(c *Call) (*Result, error) {
	etid, cat, err := cardTarget(c)
	if err != nil {
		return nil, err
	}
	if !c.Actor.IsAdmin {
		return nil, cardLayoutError("Access denied.")
	}
	if err := s.cardLayout.ForceCommon(c.Ctx, c.Actor, etid, cat); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}
