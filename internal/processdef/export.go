package processdef

import (
	"context"
	"sort"
	"strconv"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
)

// Export: what a server has, as a process file. The file is canonical — every value
// at its default left out, lists in the server's order, maps sorted — so exporting,
// applying on another server and exporting there gives the same bytes.

// state is what a server has: its smart processes in file form, by code.
type state struct {
	reg   *registry
	types map[string]*crm.Type
	procs map[string]*Process
	order []string // codes by entityTypeId
}

// read reads every smart process of the server.
func (s *Service) read(ctx context.Context, actor access.Actor) (*state, error) {
	all, err := s.crm.AllTypes(ctx, actor)
	if err != nil {
		return nil, err
	}
	st := &state{reg: newRegistry(), types: map[string]*crm.Type{}, procs: map[string]*Process{}}
	st.reg.typeOf = func(etid int64) *crm.Type {
		t, err := s.crm.ItemType(ctx, actor, etid)
		if err != nil {
			return nil
		}
		return t
	}
	for _, t := range all {
		code := typeCode(t)
		if _, taken := st.types[code]; taken {
			code = "process_" + strconv.FormatInt(t.EntityTypeID, 10)
		}
		st.reg.add(code, t.EntityTypeID, t.ID)
		st.types[code] = t
		st.order = append(st.order, code)
	}
	for _, code := range st.order {
		p, err := s.exportType(ctx, actor, st.types[code], code, st.reg)
		if err != nil {
			return nil, err
		}
		st.procs[code] = p
	}
	return st, nil
}

// Export writes the process file of every smart process of the server, or of the one
// with the given code.
func (s *Service) Export(ctx context.Context, actor access.Actor, code string) ([]byte, error) {
	st, err := s.read(ctx, actor)
	if err != nil {
		return nil, err
	}
	f := &File{Version: 1}
	for _, c := range st.order {
		if code == "" || c == code {
			f.Processes = append(f.Processes, st.procs[c])
		}
	}
	if code != "" && len(f.Processes) == 0 {
		return nil, crm.NewError(crm.ErrTypeNotFound, "No smart process has the code %q", code)
	}
	return Encode(f)
}

// ExportType is Export of one type by entityTypeId (the web UI's export button).
func (s *Service) ExportType(ctx context.Context, actor access.Actor, etid int64) ([]byte, error) {
	st, err := s.read(ctx, actor)
	if err != nil {
		return nil, err
	}
	code, ok := st.reg.codeOf[etid]
	if _, smart := st.types[code]; !ok || !smart {
		return nil, crm.NewError(crm.ErrTypeNotFound, "Smart process not found")
	}
	return Encode(&File{Version: 1, Processes: []*Process{st.procs[code]}})
}

// exportType reads one type in file form.
func (s *Service) exportType(ctx context.Context, actor access.Actor, t *crm.Type, code string, reg *registry) (*Process, error) {
	p := &Process{Code: code, Title: t.Title, Flags: map[string]bool{}}
	for _, f := range crm.AllFlags() {
		if f.Settable() {
			p.Flags[string(f)] = t.Flag(f)
		}
	}
	for _, k := range crm.LinkedUserFieldKeys {
		if t.LinkedUserFields[k] {
			p.LinkedUserFields = append(p.LinkedUserFields, k)
		}
	}
	rel := &Relations{}
	for _, r := range t.Relations.Parent {
		if !r.IsPredefined {
			rel.Parents = append(rel.Parents, &Relation{Type: reg.codeFor(r.EntityTypeID), ShowInCard: r.IsChildrenListEnabled})
		}
	}
	for _, r := range t.Relations.Child {
		rel.Children = append(rel.Children, &Relation{Type: reg.codeFor(r.EntityTypeID), ShowInCard: r.IsChildrenListEnabled})
	}
	sortRelations(rel)
	if len(rel.Parents)+len(rel.Children) > 0 {
		p.Relations = rel
	}
	ufs, err := s.fields.List(ctx, actor, customfield.Filter{EntityTypeID: t.EntityTypeID})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(ufs, func(i, j int) bool {
		if ufs[i].Sort != ufs[j].Sort {
			return ufs[i].Sort < ufs[j].Sort
		}
		return ufs[i].ID < ufs[j].ID
	})
	for i, uf := range ufs {
		f, err := exportField(t, uf, i, reg)
		if err != nil {
			return nil, err
		}
		p.Fields = append(p.Fields, f)
	}
	for i, c := range t.Categories() {
		fn, err := s.exportFunnel(ctx, actor, t, c, i, reg)
		if err != nil {
			return nil, err
		}
		p.Funnels = append(p.Funnels, fn)
	}
	secs, err := s.layouts.Common(ctx, actor, t.EntityTypeID)
	if err != nil {
		return nil, err
	}
	for _, sec := range secs {
		out := &Section{Name: sec.Name, Title: sec.Title, Fields: []string{}}
		for _, n := range sec.Fields {
			out.Fields = append(out.Fields, reg.toFile(t.EntityTypeID, string(n)))
			if sec.Options[n].Flags&1 != 0 {
				out.AlwaysShow = append(out.AlwaysShow, reg.toFile(t.EntityTypeID, string(n)))
			}
		}
		p.Layout = append(p.Layout, out)
	}
	return p, nil
}

// codeFor is the code of a type by entityTypeId, or a name that says it has none.
func (r *registry) codeFor(etid int64) string {
	if code, ok := r.codeOf[etid]; ok {
		return code
	}
	return "entity_type_" + strconv.FormatInt(etid, 10)
}

func sortRelations(r *Relations) {
	for _, list := range [][]*Relation{r.Parents, r.Children} {
		sort.SliceStable(list, func(i, j int) bool { return list[i].Type < list[j].Type })
	}
}

// exportFunnel writes a funnel with its stages, rules and automation.
func (s *Service) exportFunnel(ctx context.Context, actor access.Actor, t *crm.Type, c *crm.Category, i int, reg *registry) (*Funnel, error) {
	fn := &Funnel{Code: funnelCode(c), Name: c.Name, Default: c.IsDefault}
	if c.Sort != defaultSort(i) {
		fn.Sort = c.Sort
	}
	for _, st := range t.StagesOf(c.ID) {
		fn.Stages = append(fn.Stages, &Stage{Code: stageCode(st.StatusID), Name: st.Name, Color: st.Color, Semantics: semanticsToFile(st.Semantics)})
	}
	for _, r := range t.Requirements() {
		if r.CategoryID == c.ID {
			fn.Required = append(fn.Required, &Requirement{Field: reg.toFile(t.EntityTypeID, string(r.Field.Name)), From: stageCode(r.FromStageID)})
		}
	}
	sort.SliceStable(fn.Required, func(a, b int) bool { return fn.Required[a].Field < fn.Required[b].Field })
	if !t.Flag(crm.FlagAutomation) || s.auto == nil {
		return fn, nil
	}
	doc, err := s.auto.Get(ctx, actor, t.EntityTypeID, c.ID)
	if err != nil {
		return nil, err
	}
	fn.Automation = automationToFile(doc, t, reg)
	return fn, nil
}

// funnelCode is the code a funnel goes by: its own, else "default" for the default
// funnel, else one made from its name.
func funnelCode(c *crm.Category) string {
	switch {
	case c.Code != "":
		return c.Code
	case c.IsDefault:
		return "default"
	}
	return slug(c.Name, "funnel_"+strconv.FormatInt(c.ID, 10))
}

func semanticsToFile(s crm.Semantics) string {
	switch s {
	case crm.Success:
		return "success"
	case crm.Failure:
		return "failure"
	}
	return ""
}
