package processdef

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"smartcrm/internal/access"
	"smartcrm/internal/automation"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
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

// exportField writes a custom field in file form; i is its place in the type's list.
func exportField(t *crm.Type, uf *crm.UserField, i int, reg *registry) (*Field, error) {
	f := &Field{Key: strings.TrimPrefix(uf.Name, t.UFPrefix()), Type: uf.Kind, Mandatory: uf.Mandatory, Multiple: uf.Multiple,
		HideInList: !uf.ShowInList, NoEditInList: !uf.EditInList, Searchable: uf.IsSearchable}
	if uf.Sort != defaultSort(i) {
		f.Sort = uf.Sort
	}
	if uf.ShowFilter != "N" && uf.ShowFilter != "" {
		f.ShowFilter = string(uf.ShowFilter)
	}
	f.Label, f.Labels = labelsToFile(uf.Labels)
	settings, err := settingsToFile(uf.Kind, field.PlainSettings(uf.Settings), reg)
	if err != nil {
		return nil, err
	}
	f.Settings = settings
	items := append([]field.EnumItem(nil), uf.Enums...)
	sort.SliceStable(items, func(a, b int) bool {
		if items[a].Sort != items[b].Sort {
			return items[a].Sort < items[b].Sort
		}
		return items[a].ID < items[b].ID
	})
	for j, e := range items {
		it := &Item{Key: e.XMLID, Value: e.Value, Default: e.Def}
		if e.Sort != defaultSort(j) {
			it.Sort = e.Sort
		}
		f.Items = append(f.Items, it)
	}
	return f, nil
}

// defaultSort is the sort of the i-th field, item or funnel the file gives none for.
func defaultSort(i int) int64 { return int64(i+1) * 100 }

// labelsToFile writes labels as one English label when that is all they say.
func labelsToFile(l crm.Labels) (string, *Labels) {
	en := l.EditForm["en"]
	simple := map[string]string{"en": en}
	if en != "" && reflect.DeepEqual(l.EditForm, simple) && reflect.DeepEqual(l.ListColumn, simple) &&
		reflect.DeepEqual(l.ListFilter, simple) && len(l.ErrorMessage) == 0 && len(l.HelpMessage) == 0 {
		return en, nil
	}
	out := &Labels{EditForm: l.EditForm, ListColumn: l.ListColumn, ListFilter: l.ListFilter, ErrorMessage: l.ErrorMessage, HelpMessage: l.HelpMessage}
	if reflect.DeepEqual(*out, Labels{}) {
		return "", nil
	}
	for _, m := range []*map[string]string{&out.EditForm, &out.ListColumn, &out.ListFilter, &out.ErrorMessage, &out.HelpMessage} {
		if len(*m) == 0 {
			*m = nil
		}
	}
	return "", out
}

// labelsFromFile is labelsToFile's inverse.
func labelsFromFile(f *Field) crm.Labels {
	if f.Labels != nil {
		l := f.Labels
		return crm.Labels{EditForm: l.EditForm, ListColumn: l.ListColumn, ListFilter: l.ListFilter, ErrorMessage: l.ErrorMessage, HelpMessage: l.HelpMessage}
	}
	if f.Label == "" {
		return crm.Labels{}
	}
	m := func() map[string]string { return map[string]string{"en": f.Label} }
	return crm.Labels{EditForm: m(), ListColumn: m(), ListFilter: m()}
}

// settingsToFile leaves out settings at their default and names linked types by code.
func settingsToFile(kind string, plain map[string]any, reg *registry) (map[string]any, error) {
	k, ok := field.KindByID(kind)
	if !ok {
		return nil, fmt.Errorf("unknown field type %q", kind)
	}
	defaults := canonicalJSON(field.PlainSettings(k.NewSettings()))
	out := map[string]any{}
	for key, v := range plain {
		d, _ := defaults.(map[string]any)
		cv := canonicalJSON(v)
		if reflect.DeepEqual(d[key], cv) {
			continue
		}
		if kind == "crm" {
			if n, dyn := strings.CutPrefix(key, "DYNAMIC_"); dyn {
				etid, _ := strconv.ParseInt(n, 10, 64)
				key = reg.codeFor(etid)
			}
		}
		out[key] = cv
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// canonicalJSON is v as JSON reads it back, whole numbers as int64: the form values are
// compared and written in.
func canonicalJSON(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if dec.Decode(&out) != nil {
		return v
	}
	return wholeNumbers(out)
}

func wholeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = wholeNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = wholeNumbers(e)
		}
	}
	return v
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

// automationToFile writes a funnel's automation document with stage codes and names
// without ids; nil when it has no robots or triggers.
func automationToFile(doc *automation.Document, t *crm.Type, reg *registry) *Automation {
	out := &Automation{Stages: map[string]*StageAutomation{}}
	for statusID, sa := range doc.Stages {
		if sa == nil || len(sa.Robots)+len(sa.Triggers) == 0 {
			continue
		}
		fsa := &StageAutomation{}
		for _, r := range sa.Robots {
			fr := &Robot{ID: r.ID, Type: r.Type, Title: r.Title, Condition: reg.toFile(t.EntityTypeID, r.Condition), Parallel: r.Parallel,
				Params: paramsToFile(r.Type, r.Params, t.EntityTypeID, reg)}
			if d := r.Delay; d != nil {
				fr.Delay = &Delay{After: d.After, Field: reg.toFile(t.EntityTypeID, d.Field), Offset: d.Offset, WorkingHours: d.WorkingHours}
			}
			fsa.Robots = append(fsa.Robots, fr)
		}
		for _, tr := range sa.Triggers {
			fsa.Triggers = append(fsa.Triggers, &Trigger{ID: tr.ID, Type: tr.Type, Condition: reg.toFile(t.EntityTypeID, tr.Condition),
				AllowBackwards: tr.AllowBackwards, Params: paramsToFile(tr.Type, tr.Params, t.EntityTypeID, reg)})
		}
		out.Stages[stageCode(statusID)] = fsa
	}
	if len(out.Stages) == 0 {
		return nil
	}
	return out
}

// paramsToFile writes a robot's or trigger's params without ids: entityTypeId becomes
// type (a code), a stage its code, field names lose their type's number (those of the
// item a createItem robot creates, that item's type's).
func paramsToFile(kind string, p map[string]any, etid int64, reg *registry) map[string]any {
	if len(p) == 0 {
		return nil
	}
	out := map[string]any{}
	target := etid
	if n, ok := intOf(p["entityTypeId"]); ok {
		target = n
	}
	for k, v := range p {
		switch {
		case k == "entityTypeId":
			out["type"] = reg.codeFor(target)
		case k == "stageId" && kind == automation.RobotStage:
			s, _ := v.(string)
			out[k] = stageCode(s)
		case k == "fields" && kind == automation.RobotCreateItem:
			out[k] = walkNames(v, func(s string) string { return reg.toFile(target, s) })
		default:
			out[k] = walkNames(v, func(s string) string { return reg.toFile(etid, s) })
		}
	}
	return canonicalJSON(out).(map[string]any)
}

// walkNames rewrites every text and map key of a free-form value.
func walkNames(v any, fn func(string) string) any {
	switch x := v.(type) {
	case string:
		return fn(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fn(k)] = walkNames(e, fn)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = walkNames(e, fn)
		}
		return out
	}
	return v
}

func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x == float64(int64(x))
	case int64:
		return x, true
	case int:
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}
