package processdef

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/expr-lang/expr/parser"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// The checks a file passes on its own: codes well formed and unique, every stage and
// field it names defined, funnels shaped as the CRM requires, conditions that parse.
// What needs a server is checked by Plan.

var (
	typeCodePattern   = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)
	funnelCodePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,49}$`)
	stageCodePattern  = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,29}$`)
	fieldKeyPattern   = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,29}$`)
	colorPattern      = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)
	placeholderRE     = regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.]+)\s*\}\}`)
)

// successCode is the code of every funnel's success stage: a new funnel has it, and a
// funnel always has exactly one, so it cannot be swapped for another.
const successCode = "SUCCESS"

func check(f *File, ps *problems) {
	if f.Version != 1 {
		ps.add(pos{line: 1, col: 1}, "version", "version must be 1")
	}
	if len(f.Processes) == 0 {
		ps.add(pos{line: 1, col: 1}, "processes", "the file describes no process (processes is empty)")
	}
	codes := map[string]bool{}
	for i, p := range f.Processes {
		if p == nil {
			ps.add(pos{}, fmt.Sprintf("processes[%d]", i), "an empty process")
			continue
		}
		if codes[p.Code] {
			ps.add(p.at, "process "+p.Code, "two processes have the code %q", p.Code)
		}
		codes[p.Code] = true
	}
	for _, p := range f.Processes {
		if p != nil {
			checkProcess(p, codes, ps)
		}
	}
	checkRelationPairs(f, ps)
}

func checkProcess(p *Process, codes map[string]bool, ps *problems) {
	where := "process " + p.Code
	if !typeCodePattern.MatchString(p.Code) {
		ps.add(p.at, where, "code %q: a process code is a-z, 0-9 and _, starting with a letter, at most 50", p.Code)
	}
	if strings.TrimSpace(p.Title) == "" {
		ps.add(p.at, where, "title is required")
	}
	for name := range p.Flags {
		if !crm.Flag(name).Settable() {
			ps.add(p.at, where, "flags: %q is not a setting a process file sets", name)
		}
	}
	for _, k := range p.LinkedUserFields {
		if len(inOrderOf(crm.LinkedUserFieldKeys, []string{k})) == 0 {
			ps.add(p.at, where, "linkedUserFields: %q is not one of %s", k, strings.Join(crm.LinkedUserFieldKeys, ", "))
		}
	}
	if p.Relations != nil {
		for _, list := range [][]*Relation{p.Relations.Parents, p.Relations.Children} {
			seen := map[string]bool{}
			for _, r := range list {
				if r == nil {
					continue
				}
				if seen[r.Type] {
					ps.add(r.at, where, "relation to %q is given twice", r.Type)
				}
				seen[r.Type] = true
				if _, std := standardCodes[r.Type]; !std && !typeCodePattern.MatchString(r.Type) {
					ps.add(r.at, where, "relation: %q is not a process code", r.Type)
				}
			}
		}
	}
	fields := checkFields(p, ps)
	funnels := map[string]bool{}
	defaults := 0
	if len(p.Funnels) == 0 {
		ps.add(p.at, where, "a process has at least one funnel (funnels)")
	}
	for _, fn := range p.Funnels {
		if fn == nil {
			continue
		}
		if funnels[fn.Code] {
			ps.add(fn.at, where, "two funnels have the code %q", fn.Code)
		}
		funnels[fn.Code] = true
		if fn.Default || len(p.Funnels) == 1 {
			defaults++
		}
		checkFunnel(p, fn, fields, ps)
	}
	if len(p.Funnels) > 1 && defaults != 1 {
		ps.add(p.at, where, "exactly one funnel is the default one (default: true); %d are", defaults)
	}
	sections := map[string]bool{}
	for _, sec := range p.Layout {
		if sec == nil {
			continue
		}
		if sec.Name == "" || strings.TrimSpace(sec.Title) == "" {
			ps.add(sec.at, where, "a layout section needs a name and a title")
		}
		if sections[sec.Name] {
			ps.add(sec.at, where, "two layout sections are named %q", sec.Name)
		}
		sections[sec.Name] = true
		for _, n := range sec.Fields {
			checkFieldRef(n, fields, sec.at, where+", layout section "+sec.Name, ps)
		}
		for _, n := range sec.AlwaysShow {
			if len(inOrderOf(sec.Fields, []string{n})) == 0 {
				ps.add(sec.at, where+", layout section "+sec.Name, "alwaysShow names %q, which the section does not show", n)
			}
		}
	}
}

// checkFields checks the custom fields and returns their names as the file writes
// them (ufCrmAmount), for the references.
func checkFields(p *Process, ps *problems) map[string]*Field {
	where := "process " + p.Code
	names := map[string]*Field{}
	keys := map[string]bool{}
	for _, f := range p.Fields {
		if f == nil {
			continue
		}
		at := where + ", field " + f.Key
		if !fieldKeyPattern.MatchString(f.Key) {
			ps.add(f.at, at, "a field key is A-Z, 0-9 and _, starting with a letter, at most 30")
		}
		if keys[f.Key] {
			ps.add(f.at, at, "two fields have the key %q", f.Key)
		}
		keys[f.Key] = true
		names[fieldName(f.Key)] = f
		kind, ok := field.KindByID(f.Type)
		if !ok {
			var known []string
			for _, k := range field.Kinds() {
				known = append(known, k.ID())
			}
			ps.add(f.at, at, "type %q is not a field type (%s)", f.Type, strings.Join(known, ", "))
			continue
		}
		if f.Multiple && f.Type == "boolean" {
			ps.add(f.at, at, "a yes/no field cannot be multiple")
		}
		switch f.ShowFilter {
		case "", "N", "I", "E", "S":
		default:
			ps.add(f.at, at, "showFilter is N, I, E or S")
		}
		if f.Label != "" && f.Labels != nil {
			ps.add(f.at, at, "give label or labels, not both")
		}
		if len(f.Items) > 0 && f.Type != "enumeration" {
			ps.add(f.at, at, "only enumeration fields have items")
		}
		items := map[string]bool{}
		for _, it := range f.Items {
			if it == nil {
				continue
			}
			if it.Key == "" || strings.TrimSpace(it.Value) == "" {
				ps.add(it.at, at, "an item needs a key and a value")
			}
			if items[it.Key] {
				ps.add(it.at, at, "two items have the key %q", it.Key)
			}
			items[it.Key] = true
		}
		if f.Type != "crm" && len(f.Settings) > 0 {
			if _, err := field.ReadSettings(kind.NewSettings(), f.Settings); err != nil {
				ps.add(f.at, at, "settings: %v", err)
			}
		}
	}
	return names
}

// checkFieldRef checks a name the file gives a field: a custom field of the process
// must be defined; system fields are checked against the server by Plan.
func checkFieldRef(name string, fields map[string]*Field, at pos, where string, ps *problems) {
	if strings.HasPrefix(name, "ufCrm") && fields[name] == nil {
		ps.add(at, where, "field %q is not defined: no field of the process has that key", name)
	}
}

func checkFunnel(p *Process, fn *Funnel, fields map[string]*Field, ps *problems) {
	where := fmt.Sprintf("process %s, funnel %s", p.Code, fn.Code)
	if !funnelCodePattern.MatchString(fn.Code) {
		ps.add(fn.at, where, "a funnel code is a-z, 0-9 and _, starting with a letter, at most 50")
	}
	if strings.TrimSpace(fn.Name) == "" {
		ps.add(fn.at, where, "name is required")
	}
	stages := map[string]*Stage{}
	var success, failure, progress int
	var order []string // semantics in file order
	for _, st := range fn.Stages {
		if st == nil {
			continue
		}
		sw := where + ", stage " + st.Code
		if !stageCodePattern.MatchString(st.Code) {
			ps.add(st.at, sw, "a stage code is A-Z, 0-9 and _, starting with a letter, at most 30")
		}
		if stages[st.Code] != nil {
			ps.add(st.at, sw, "two stages have the code %q", st.Code)
		}
		stages[st.Code] = st
		if strings.TrimSpace(st.Name) == "" {
			ps.add(st.at, sw, "name is required")
		}
		if st.Color != "" && !colorPattern.MatchString(st.Color) {
			ps.add(st.at, sw, "color looks like #RRGGBB")
		}
		switch st.Semantics {
		case "":
			progress++
		case "success":
			success++
			if st.Code != successCode {
				ps.add(st.at, sw, "the success stage's code is %s (every funnel has it; rename it with name)", successCode)
			}
		case "failure":
			failure++
		default:
			ps.add(st.at, sw, "semantics is success or failure (left out: in progress)")
		}
		order = append(order, st.Semantics)
	}
	if success != 1 || failure == 0 || progress == 0 {
		ps.add(fn.at, where, "a funnel has stages in progress, then exactly one success stage, then at least one failure stage")
	} else {
		for i := 1; i < len(order); i++ {
			if rank(order[i]) < rank(order[i-1]) {
				ps.add(fn.at, where, "stages in progress come first, then the success stage, then failure stages")
				break
			}
		}
	}
	for _, st := range fn.Stages {
		if st == nil {
			continue
		}
		for _, from := range st.ItemsFrom {
			if stages[from] != nil {
				ps.add(st.at, where+", stage "+st.Code, "itemsFrom names %s, which the funnel keeps: it names stages the file deletes", from)
			}
		}
	}
	for _, r := range fn.Required {
		if r == nil {
			continue
		}
		checkFieldRef(r.Field, fields, r.at, where+", required", ps)
		switch st := stages[r.From]; {
		case st == nil:
			ps.add(r.at, where+", required", "stage %q is not defined in this funnel", r.From)
		case st.Semantics == "failure":
			ps.add(r.at, where+", required", "failure stages never demand fields; choose a stage in progress or the success stage")
		}
	}
	if fn.Automation != nil {
		checkAutomation(fn, stages, fields, where, ps)
	}
}

func rank(semantics string) int {
	switch semantics {
	case "success":
		return 1
	case "failure":
		return 2
	}
	return 0
}

func checkAutomation(fn *Funnel, stages map[string]*Stage, fields map[string]*Field, where string, ps *problems) {
	ids := map[string]string{}
	for code, sa := range fn.Automation.Stages {
		aw := where + ", automation of stage " + code
		if stages[code] == nil {
			ps.add(fn.at, aw, "stage %q is not defined in this funnel", code)
		}
		if sa == nil {
			continue
		}
		for _, r := range sa.Robots {
			if r == nil {
				continue
			}
			rw := aw + ", robot " + r.ID
			if other, taken := ids["r:"+r.ID]; taken {
				ps.add(r.at, rw, "robot id %q is taken in stage %s", r.ID, other)
			}
			ids["r:"+r.ID] = code
			checkCondition(r.Condition, fields, r.at, rw, ps)
			if r.Delay != nil && r.Delay.Field != "" {
				checkFieldRef(r.Delay.Field, fields, r.at, rw+", delay", ps)
			}
			if r.Type == "stage" {
				if s, _ := r.Params["stageId"].(string); s != "" && stages[s] == nil {
					ps.add(r.at, rw, "stageId %q is not defined in this funnel", s)
				}
			}
			checkTemplates(r.Params, fields, r.at, rw, ps, r.Type == "createItem")
		}
		for _, t := range sa.Triggers {
			if t == nil {
				continue
			}
			tw := aw + ", trigger " + t.ID
			if other, taken := ids["t:"+t.ID]; taken {
				ps.add(t.at, tw, "trigger id %q is taken in stage %s", t.ID, other)
			}
			ids["t:"+t.ID] = code
			checkCondition(t.Condition, fields, t.at, tw, ps)
			if list, ok := t.Params["fields"].([]any); ok {
				for _, n := range list {
					if s, ok := n.(string); ok {
						checkFieldRef(s, fields, t.at, tw, ps)
					}
				}
			}
		}
	}
}

// checkCondition parses a condition and checks the custom fields it names; whether
// the rest of its names are fields and its types agree is checked by Plan.
func checkCondition(src string, fields map[string]*Field, at pos, where string, ps *problems) {
	if strings.TrimSpace(src) == "" {
		return
	}
	if _, err := parser.Parse(src); err != nil {
		ps.add(at, where, "the condition does not compile: %s", strings.Join(strings.Fields(err.Error()), " "))
		return
	}
	for _, m := range identRE.FindAllString(src, -1) {
		checkFieldRef(m, fields, at, where+", condition", ps)
	}
}

var identRE = regexp.MustCompile(`\bufCrm[A-Za-z0-9_]*`)

// checkTemplates checks the custom fields placeholders name in a robot's texts (not
// in the fields of an item a createItem robot makes, which are another type's).
func checkTemplates(params map[string]any, fields map[string]*Field, at pos, where string, ps *problems, createItem bool) {
	for k, v := range params {
		if createItem && k == "fields" {
			continue
		}
		walkNames(v, func(s string) string {
			for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
				if !strings.Contains(m[1], ".") {
					checkFieldRef(m[1], fields, at, where+", "+k, ps)
				}
			}
			return s
		})
	}
}

// checkRelationPairs: a relation between two processes of the file is written on both
// sides, alike; one side alone would be undone by applying the other.
func checkRelationPairs(f *File, ps *problems) {
	byCode := map[string]*Process{}
	for _, p := range f.Processes {
		if p != nil {
			byCode[p.Code] = p
		}
	}
	find := func(list []*Relation, code string) *Relation {
		for _, r := range list {
			if r != nil && r.Type == code {
				return r
			}
		}
		return nil
	}
	for _, p := range f.Processes {
		if p == nil || p.Relations == nil {
			continue
		}
		for _, r := range p.Relations.Children {
			if r == nil || byCode[r.Type] == nil {
				continue
			}
			other := byCode[r.Type]
			var back *Relation
			if other.Relations != nil {
				back = find(other.Relations.Parents, p.Code)
			}
			if back == nil || back.ShowInCard != r.ShowInCard {
				ps.add(r.at, "process "+p.Code, "child %s must list %s among its parents, with the same showInCard", r.Type, p.Code)
			}
		}
		for _, r := range p.Relations.Parents {
			if r == nil || byCode[r.Type] == nil {
				continue
			}
			other := byCode[r.Type]
			if other.Relations == nil || find(other.Relations.Children, p.Code) == nil {
				ps.add(r.at, "process "+p.Code, "parent %s must list %s among its children", r.Type, p.Code)
			}
		}
	}
}
