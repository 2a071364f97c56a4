package processdef

import (
	"sort"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// canonical is a process as export would write it once applied: defaults left out,
// lists in the order their sorts give, texts trimmed as the CRM trims them. Plan
// compares it with the server's export; "nothing to change" is their equality.
// cur is the process on the server (nil: to be created), whose flags the file's
// overlay.
func canonical(p *Process, cur *Process) *Process {
	out := &Process{Code: p.Code, Title: strings.TrimSpace(p.Title), at: p.at}
	out.Flags = map[string]bool{}
	if cur != nil {
		for k, v := range cur.Flags {
			out.Flags[k] = v
		}
	}
	for k, v := range p.Flags {
		out.Flags[k] = v
	}
	out.LinkedUserFields = inOrderOf(crm.LinkedUserFieldKeys, p.LinkedUserFields)
	if p.Relations != nil && len(p.Relations.Parents)+len(p.Relations.Children) > 0 {
		rel := &Relations{}
		for _, r := range p.Relations.Parents {
			if r != nil {
				rel.Parents = append(rel.Parents, &Relation{Type: r.Type, ShowInCard: r.ShowInCard, at: r.at})
			}
		}
		for _, r := range p.Relations.Children {
			if r != nil {
				rel.Children = append(rel.Children, &Relation{Type: r.Type, ShowInCard: r.ShowInCard, at: r.at})
			}
		}
		sortRelations(rel)
		out.Relations = rel
	}
	fields := nonNil(p.Fields)
	sorts := effectiveSorts(len(fields), func(i int) int64 { return fields[i].Sort })
	for _, i := range byEffectiveSort(sorts) {
		out.Fields = append(out.Fields, canonicalField(fields[i], sorts[i]))
	}
	for i, f := range out.Fields {
		if f.Sort == defaultSort(i) {
			f.Sort = 0
		}
	}
	funnels := nonNil(p.Funnels)
	fsorts := effectiveSorts(len(funnels), func(i int) int64 { return funnels[i].Sort })
	for _, i := range byEffectiveSort(fsorts) {
		fn := canonicalFunnel(funnels[i], fsorts[i])
		fn.Default = funnels[i].Default || len(funnels) == 1
		out.Funnels = append(out.Funnels, fn)
	}
	for i, fn := range out.Funnels {
		if fn.Sort == defaultSort(i) {
			fn.Sort = 0
		}
	}
	for _, sec := range p.Layout {
		if sec == nil {
			continue
		}
		fs := append([]string{}, sec.Fields...)
		out.Layout = append(out.Layout, &Section{Name: sec.Name, Title: strings.TrimSpace(sec.Title), Fields: fs,
			AlwaysShow: inOrderOf(fs, sec.AlwaysShow), at: sec.at})
	}
	return out
}

func nonNil[T any](list []*T) []*T {
	out := make([]*T, 0, len(list))
	for _, x := range list {
		if x != nil {
			out = append(out, x)
		}
	}
	return out
}

// effectiveSorts are the sorts of n things in file order: given ones, else by place.
func effectiveSorts(n int, given func(i int) int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		if out[i] = given(i); out[i] == 0 {
			out[i] = defaultSort(i)
		}
	}
	return out
}

// byEffectiveSort lists indexes in the order of their sorts, file order for ties.
func byEffectiveSort(sorts []int64) []int {
	idx := make([]int, len(sorts))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return sorts[idx[a]] < sorts[idx[b]] })
	return idx
}

func canonicalField(f *Field, sortValue int64) *Field {
	out := &Field{Key: f.Key, Type: f.Type, Mandatory: f.Mandatory, Multiple: f.Multiple, Sort: sortValue,
		HideInList: f.HideInList, NoEditInList: f.NoEditInList, Searchable: f.Searchable, at: f.at}
	if f.ShowFilter != "N" {
		out.ShowFilter = f.ShowFilter
	}
	out.Label, out.Labels = labelsToFile(labelsFromFile(f))
	out.Settings = canonicalSettings(f.Type, f.Settings)
	items := nonNil(f.Items)
	sorts := effectiveSorts(len(items), func(i int) int64 { return items[i].Sort })
	for j, i := range byEffectiveSort(sorts) {
		it := &Item{Key: items[i].Key, Value: strings.TrimSpace(items[i].Value), Default: items[i].Default, at: items[i].at}
		if sorts[i] != defaultSort(j) {
			it.Sort = sorts[i]
		}
		out.Items = append(out.Items, it)
	}
	return out
}

// canonicalSettings reads settings as the field kind does and writes them back
// without defaults; a crm link field's types keep their codes.
func canonicalSettings(kind string, given map[string]any) map[string]any {
	if len(given) == 0 {
		return nil
	}
	if kind == "crm" {
		out := map[string]any{}
		for k, v := range given {
			if _, std := standardBindingKey(k); std {
				k = strings.ToUpper(k)
			}
			on, _ := field.AsBool(v)
			out[k] = string(field.YesNo(on))
		}
		return out
	}
	k, ok := field.KindByID(kind)
	if !ok {
		return given
	}
	s, err := field.ReadSettings(k.NewSettings(), given)
	if err != nil {
		return given
	}
	out, _ := settingsToFile(kind, field.PlainSettings(s), nil)
	return out
}

// standardBindingKey tells a crm link setting naming a built-in type (LEAD, DEAL,
// CONTACT, COMPANY, in any case).
func standardBindingKey(k string) (string, bool) {
	switch u := strings.ToUpper(k); u {
	case "LEAD", "DEAL", "CONTACT", "COMPANY":
		return u, true
	}
	return "", false
}

func canonicalFunnel(fn *Funnel, sortValue int64) *Funnel {
	out := &Funnel{Code: fn.Code, Name: strings.TrimSpace(fn.Name), Sort: sortValue, at: fn.at}
	for _, st := range nonNil(fn.Stages) {
		out.Stages = append(out.Stages, &Stage{Code: st.Code, Name: strings.TrimSpace(st.Name), Color: st.Color, Semantics: st.Semantics, at: st.at})
	}
	for _, r := range nonNil(fn.Required) {
		out.Required = append(out.Required, &Requirement{Field: r.Field, From: r.From, at: r.at})
	}
	sort.SliceStable(out.Required, func(a, b int) bool { return out.Required[a].Field < out.Required[b].Field })
	if fn.Automation != nil {
		a := &Automation{Stages: map[string]*StageAutomation{}}
		for code, sa := range fn.Automation.Stages {
			if sa == nil || len(nonNil(sa.Robots))+len(nonNil(sa.Triggers)) == 0 {
				continue
			}
			csa := &StageAutomation{}
			for _, r := range nonNil(sa.Robots) {
				cr := *r
				cr.Params = canonicalParams(r.Params)
				if r.Delay != nil && *r.Delay == (Delay{}) {
					cr.Delay = nil
				}
				csa.Robots = append(csa.Robots, &cr)
			}
			for _, t := range nonNil(sa.Triggers) {
				ct := *t
				ct.Params = canonicalParams(t.Params)
				csa.Triggers = append(csa.Triggers, &ct)
			}
			a.Stages[code] = csa
		}
		if len(a.Stages) > 0 {
			out.Automation = a
		}
	}
	return out
}

func canonicalParams(p map[string]any) map[string]any {
	if len(p) == 0 {
		return nil
	}
	m, _ := canonicalJSON(p).(map[string]any)
	return m
}

// inOrderOf lists the names of some that list has, in list's order (nil for none).
func inOrderOf(list, some []string) []string {
	want := map[string]bool{}
	for _, n := range some {
		want[n] = true
	}
	var out []string
	for _, n := range list {
		if want[n] {
			out = append(out, n)
		}
	}
	return out
}
