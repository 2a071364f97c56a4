package processdef

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// The diff of a process in the file (canonical) and on the server (exported): the
// changes a person reads before applying. Apply works from the same two processes.

// Change is one change a plan would make.
type Change struct {
	// Action is create, update, rename, reorder, replace or delete.
	Action string `json:"action"`
	// Kind is what changes: type, field, funnel, stage, relation, rule, robot,
	// trigger, layout.
	Kind string `json:"kind"`
	// Path names it by codes: process, process.FIELD, process/funnel/STAGE.
	Path string `json:"path"`
	// Detail says what changes, in words.
	Detail string `json:"detail,omitempty"`
	// Destructive changes lose data; Items is how many items hold it. They need
	// --prune.
	Destructive bool `json:"destructive,omitempty"`
	Items       int  `json:"items,omitempty"`
	// MoveTo is the stage a deleted stage's items move to.
	MoveTo string `json:"moveTo,omitempty"`
}

func (c Change) String() string {
	sign := map[string]string{"create": "+", "delete": "-", "replace": "-/+"}[c.Action]
	if sign == "" {
		sign = "~"
	}
	s := fmt.Sprintf("%-3s %s %s %s", sign, c.Action, c.Kind, c.Path)
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	if c.Destructive {
		s += fmt.Sprintf(" [loses data: %d item(s)", c.Items)
		if c.MoveTo != "" {
			s += "; they move to " + c.MoveTo
		}
		s += "]"
	}
	return s
}

type differ struct {
	changes []Change
}

func (d *differ) add(action, kind, path, format string, a ...any) *Change {
	d.changes = append(d.changes, Change{Action: action, Kind: kind, Path: path, Detail: fmt.Sprintf(format, a...)})
	return &d.changes[len(d.changes)-1]
}

// diffProcess lists the changes from cur (nil: none yet) to want.
func (d *differ) diffProcess(want, cur *Process) {
	if cur == nil {
		// A new type: what it is made with, against nothing.
		d.add("create", "type", want.Code, "%q with %d field(s), %d funnel(s)", want.Title, len(want.Fields), len(want.Funnels))
		cur = &Process{Code: want.Code, Title: want.Title, Flags: want.Flags}
	}
	if want.Title != cur.Title {
		d.add("rename", "type", want.Code, "%q → %q", cur.Title, want.Title)
	}
	var flags []string
	for k, v := range want.Flags {
		if cur.Flags[k] != v {
			flags = append(flags, fmt.Sprintf("%s=%v", k, v))
		}
	}
	if a, b := strings.Join(want.LinkedUserFields, ", "), strings.Join(cur.LinkedUserFields, ", "); a != b {
		flags = append(flags, "linkedUserFields=["+a+"]")
	}
	if len(flags) > 0 {
		sort.Strings(flags)
		d.add("update", "type", want.Code, "%s", strings.Join(flags, ", "))
	}
	if a, b := relationText(want.Relations), relationText(cur.Relations); a != b {
		if b == "none" {
			d.add("create", "relation", want.Code, "%s", a)
		} else {
			d.add("update", "relation", want.Code, "%s → %s", b, a)
		}
	}
	d.diffFields(want, cur)
	d.diffFunnels(want, cur)
	if jsonText(layoutOf(want)) != jsonText(layoutOf(cur)) {
		action := "update"
		if cur.Layout == nil {
			action = "create"
		} else if want.Layout == nil {
			action = "delete"
		}
		d.add(action, "layout", want.Code, "%d section(s)", len(want.Layout))
	}
}

func layoutOf(p *Process) []Section {
	var out []Section
	for _, s := range p.Layout {
		out = append(out, Section{Name: s.Name, Title: s.Title, Fields: append([]string{}, s.Fields...), AlwaysShow: s.AlwaysShow})
	}
	return out
}

func relationText(r *Relations) string {
	if r == nil {
		return "none"
	}
	var parts []string
	for _, p := range r.Parents {
		parts = append(parts, "parent "+p.Type+cardMark(p.ShowInCard))
	}
	for _, c := range r.Children {
		parts = append(parts, "child "+c.Type+cardMark(c.ShowInCard))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func cardMark(on bool) string {
	if on {
		return " (in card)"
	}
	return ""
}

func (d *differ) diffFields(want, cur *Process) {
	have := map[string]*Field{}
	for _, f := range cur.Fields {
		have[f.Key] = f
	}
	wanted := map[string]bool{}
	for i, f := range want.Fields {
		wanted[f.Key] = true
		path := want.Code + "." + f.Key
		old := have[f.Key]
		if old == nil {
			d.add("create", "field", path, "%s", f.Type)
			continue
		}
		if old.Type != f.Type || old.Multiple != f.Multiple {
			d.add("replace", "field", path, "%s → %s: a field's type is fixed, so it is deleted and made anew", kindText(old), kindText(f))
			continue
		}
		if old.Label != f.Label || jsonText(old.Labels) != jsonText(f.Labels) {
			d.add("rename", "field", path, "%q → %q", labelText(old), labelText(f))
		}
		diffs := fieldDiffs(old, f)
		if a, b := effSort(old.Sort, indexOf(cur.Fields, old)), effSort(f.Sort, i); a != b {
			diffs = append(diffs, fmt.Sprintf("sort %d → %d", a, b))
		}
		if len(diffs) > 0 {
			d.add("update", "field", path, "%s", strings.Join(diffs, ", "))
		}
		// An item the file drops takes its value from the items that chose it.
		kept := map[string]bool{}
		for _, it := range f.Items {
			kept[it.Key] = true
		}
		for _, it := range old.Items {
			if !kept[it.Key] {
				d.add("delete", "item", path+"."+it.Key, "%q", it.Value)
			}
		}
	}
	for _, f := range cur.Fields {
		if !wanted[f.Key] {
			d.add("delete", "field", want.Code+"."+f.Key, "%s", f.Type)
		}
	}
	if keysOf(want.Fields) != keysOf(cur.Fields) && sameSet(want.Fields, cur.Fields) {
		d.add("reorder", "field", want.Code, "%s", keysOf(want.Fields))
	}
}

func kindText(f *Field) string {
	if f.Multiple {
		return f.Type + " (multiple)"
	}
	return f.Type
}

func labelText(f *Field) string {
	if f.Labels != nil {
		return labelsFromFile(f).Title(f.Key)
	}
	return f.Label
}

// fieldDiffs names what else changed on a field.
func fieldDiffs(a, b *Field) []string {
	var out []string
	if a.Mandatory != b.Mandatory {
		out = append(out, fmt.Sprintf("mandatory=%v", b.Mandatory))
	}
	if a.ShowFilter != b.ShowFilter {
		out = append(out, "showFilter="+orDefault(b.ShowFilter, "N"))
	}
	if a.HideInList != b.HideInList || a.NoEditInList != b.NoEditInList || a.Searchable != b.Searchable {
		out = append(out, "list flags")
	}
	if jsonText(a.Settings) != jsonText(b.Settings) {
		out = append(out, "settings "+jsonText(b.Settings))
	}
	if jsonText(a.Items) != jsonText(b.Items) {
		out = append(out, "items "+itemsText(a.Items)+" → "+itemsText(b.Items))
	}
	return out
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func itemsText(items []*Item) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = it.Key + "=" + it.Value
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

type keyed interface{ key() string }

func (f *Field) key() string  { return f.Key }
func (f *Funnel) key() string { return f.Code }
func (s *Stage) key() string  { return s.Code }

func keysOf[T keyed](list []T) string {
	parts := make([]string, len(list))
	for i, x := range list {
		parts[i] = x.key()
	}
	return strings.Join(parts, ", ")
}

// sameSet tells whether both lists have the same keys: a reorder is only worth
// telling apart from the creates and deletes when nothing else moved.
func sameSet[T keyed](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x.key()] = true
	}
	for _, x := range b {
		if !seen[x.key()] {
			return false
		}
	}
	return true
}

// matchFunnels pairs the file's funnels with the server's: by code, and the default
// funnel with the default funnel whatever their codes.
func matchFunnels(want, cur []*Funnel) map[*Funnel]*Funnel {
	out := map[*Funnel]*Funnel{}
	byCode := map[string]*Funnel{}
	var curDefault *Funnel
	for _, f := range cur {
		byCode[f.Code] = f
		if f.Default {
			curDefault = f
		}
	}
	used := map[*Funnel]bool{}
	for _, f := range want {
		if f.Default && curDefault != nil {
			out[f], used[curDefault] = curDefault, true
		}
	}
	for _, f := range want {
		if _, done := out[f]; done {
			continue
		}
		if c := byCode[f.Code]; c != nil && !used[c] {
			out[f], used[c] = c, true
		}
	}
	return out
}

func (d *differ) diffFunnels(want, cur *Process) {
	match := matchFunnels(want.Funnels, cur.Funnels)
	matched := map[*Funnel]bool{}
	for i, fn := range want.Funnels {
		path := want.Code + "/" + fn.Code
		old := match[fn]
		if old == nil {
			d.add("create", "funnel", path, "%q with stages %s", fn.Name, keysOf(fn.Stages))
			d.diffRules(path, fn, &Funnel{})
			d.diffAutomation(path, fn, &Funnel{})
			continue
		}
		matched[old] = true
		if old.Name != fn.Name {
			d.add("rename", "funnel", path, "%q → %q", old.Name, fn.Name)
		}
		if a, b := effSort(old.Sort, indexOf(cur.Funnels, old)), effSort(fn.Sort, i); old.Code != fn.Code || a != b {
			d.add("update", "funnel", path, "code %s → %s, sort %d → %d", old.Code, fn.Code, a, b)
		}
		d.diffStages(path, fn, old)
		d.diffRules(path, fn, old)
		d.diffAutomation(path, fn, old)
	}
	for _, fn := range cur.Funnels {
		if !matched[fn] {
			d.add("delete", "funnel", cur.Code+"/"+fn.Code, "%q", fn.Name)
		}
	}
	if sameSet(want.Funnels, cur.Funnels) && keysOf(want.Funnels) != keysOf(cur.Funnels) {
		d.add("reorder", "funnel", want.Code, "%s", keysOf(want.Funnels))
	}
}

func (d *differ) diffStages(path string, want, cur *Funnel) {
	have := map[string]*Stage{}
	for _, s := range cur.Stages {
		have[s.Code] = s
	}
	wanted := map[string]bool{}
	for _, s := range want.Stages {
		wanted[s.Code] = true
		old := have[s.Code]
		sp := path + "/" + s.Code
		switch {
		case old == nil:
			d.add("create", "stage", sp, "%q %s", s.Name, orDefault(s.Semantics, "in progress"))
		case old.Name != s.Name:
			d.add("rename", "stage", sp, "%q → %q", old.Name, s.Name)
		}
		if old != nil && old.Color != s.Color {
			d.add("update", "stage", sp, "color %s", s.Color)
		}
	}
	for _, s := range cur.Stages {
		if !wanted[s.Code] {
			d.add("delete", "stage", path+"/"+s.Code, "%q", s.Name)
		}
	}
	if sameSet(want.Stages, cur.Stages) && keysOf(want.Stages) != keysOf(cur.Stages) {
		d.add("reorder", "stage", path, "%s", keysOf(want.Stages))
	}
}

func (d *differ) diffRules(path string, want, cur *Funnel) {
	key := func(r *Requirement) string { return r.Field + " from " + r.From }
	have, wanted := map[string]bool{}, map[string]bool{}
	for _, r := range cur.Required {
		have[key(r)] = true
	}
	for _, r := range want.Required {
		wanted[key(r)] = true
		if !have[key(r)] {
			d.add("create", "rule", path, "%s required from %s", r.Field, r.From)
		}
	}
	for _, r := range cur.Required {
		if !wanted[key(r)] {
			d.add("delete", "rule", path, "%s required from %s", r.Field, r.From)
		}
	}
}

func (d *differ) diffAutomation(path string, want, cur *Funnel) {
	if jsonText(want.Automation) == jsonText(cur.Automation) {
		return
	}
	robots := func(f *Funnel) (map[string]string, map[string]string, []string) {
		m, label, order := map[string]string{}, map[string]string{}, []string{}
		if f.Automation == nil {
			return m, label, order
		}
		codes := make([]string, 0, len(f.Automation.Stages))
		for c := range f.Automation.Stages {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		for _, c := range codes {
			for _, r := range f.Automation.Stages[c].Robots {
				k := "robot " + c + "/" + r.ID
				m[k], label[k] = jsonText(r), r.Type
				if r.Title != "" {
					label[k] += " " + strconv.Quote(r.Title)
				}
				order = append(order, k)
			}
			for _, t := range f.Automation.Stages[c].Triggers {
				k := "trigger " + c + "/" + t.ID
				m[k], label[k] = jsonText(t), t.Type
				order = append(order, k)
			}
		}
		return m, label, order
	}
	a, labels, aOrder := robots(want)
	b, oldLabels, bOrder := robots(cur)
	told := false
	for _, k := range aOrder {
		kind, id, _ := strings.Cut(k, " ")
		switch old, ok := b[k]; {
		case !ok:
			d.add("create", kind, path+"/"+id, "%s", labels[k])
			told = true
		case old != a[k]:
			d.add("update", kind, path+"/"+id, "%s", labels[k])
			told = true
		}
	}
	for _, k := range bOrder {
		if _, ok := a[k]; !ok {
			kind, id, _ := strings.Cut(k, " ")
			d.add("delete", kind, path+"/"+id, "%s", oldLabels[k])
			told = true
		}
	}
	if !told {
		d.add("reorder", "robot", path, "robots run in a new order")
	}
}
