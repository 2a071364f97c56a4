package web

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"smartcrm/internal/automation"
	"smartcrm/internal/crm"
)

// How the automation editor shows robots and triggers: a form per type, its
// parameters as controls the editor's script reads back into the document's JSON
// (data-param, data-control), and a sentence saying what each one does.

// paramSpec is a parameter of a robot or trigger type as the editor asks for it.
// Control: text, textarea (both take placeholders), list (comma-separated), select
// (Choices), stage, type, users, fields (several of the item's fields), assign (one
// "name = value" per line), json.
type paramSpec struct {
	Key, Label, Control string
	Choices             []string
}

type robotTypeSpec struct {
	Type, Title string
	Params      []paramSpec
}

// robotTypes are the robot types in the order the editor offers them.
var robotTypes = []robotTypeSpec{
	{automation.RobotEmail, "Send an e-mail", []paramSpec{
		{"to", "To (comma-separated: responsible, user:3, an address, field:NAME)", "list", nil},
		{"subject", "Subject", "text", nil}, {"body", "Message", "textarea", nil}}},
	{automation.RobotTask, "Create a task", []paramSpec{
		{"title", "Task", "text", nil}, {"description", "Description", "textarea", nil},
		{"responsible", "Responsible (responsible or user:N)", "text", nil}, {"deadline", "Deadline after (e.g. 3d)", "text", nil}}},
	{automation.RobotComment, "Write a comment", []paramSpec{{"text", "Comment", "textarea", nil}}},
	{automation.RobotStage, "Move to a stage", []paramSpec{{"stageId", "Stage", "stage", nil}}},
	{automation.RobotFields, "Change fields", []paramSpec{{"fields", "Fields to set, one per line: name = value", "assign", nil}}},
	{automation.RobotResponsible, "Change the responsible", []paramSpec{{"users", "Give the item to (in turn)", "users", nil}}},
	{automation.RobotWebhook, "Call a webhook", []paramSpec{
		{"url", "URL", "text", nil}, {"method", "Method", "select", []string{"POST", "GET"}},
		{"headers", "Headers (JSON object)", "json", nil}, {"body", "Body", "textarea", nil}}},
	{automation.RobotCreateItem, "Create an item", []paramSpec{
		{"entityTypeId", "Type", "type", nil}, {"fields", "Its fields, one per line: name = value", "assign", nil},
		{"link", "Linked to this item as its", "select", []string{"", "child", "parent"}}}},
	{automation.RobotWait, "Wait for a condition", []paramSpec{
		{"condition", "Until (a condition)", "text", nil}, {"timeout", "Give up after (e.g. 3d)", "text", nil}}},
}

// triggerTypes are the trigger types in the order the editor offers them.
var triggerTypes = []robotTypeSpec{
	{automation.TriggerWebhook, "A webhook is called", nil},
	{automation.TriggerCreated, "The item is created", nil},
	{automation.TriggerFieldChanged, "A field changes", []paramSpec{{"fields", "Fields", "fields", nil}}},
	{automation.TriggerCommentAdded, "A comment is added", nil},
	{automation.TriggerTaskCompleted, "A task of the item is completed", nil},
	{automation.TriggerChildReached, "A child item reaches a final stage", []paramSpec{
		{"entityTypeId", "Child type", "type", nil}, {"semantics", "Stage reached", "select", []string{"S", "F"}}}},
	{automation.TriggerApp, "An application fires it", []paramSpec{{"code", "Code", "text", nil}}},
}

func typeSpecOf(list []robotTypeSpec, typ string) robotTypeSpec {
	for _, s := range list {
		if s.Type == typ {
			return s
		}
	}
	return robotTypeSpec{Type: typ, Title: typ}
}

// paramView is a parameter's control with its current value.
type paramView struct {
	paramSpec
	ID      string
	Value   string
	Options []optionView
}

// editorContext is what building controls and summaries needs to know.
type editorContext struct {
	t      *crm.Type
	cat    int64
	users  []optionView
	types  []optionView
	userBy map[int64]string
}

// paramViews builds a type's controls filled from params; idPrefix makes their ids
// unique on the page.
func (ec *editorContext) paramViews(specs []paramSpec, params map[string]any, idPrefix string) []paramView {
	out := make([]paramView, 0, len(specs))
	for _, sp := range specs {
		v := paramView{paramSpec: sp, ID: idPrefix + sp.Key}
		raw := params[sp.Key]
		switch sp.Control {
		case "list":
			if list, ok := raw.([]any); ok {
				parts := make([]string, len(list))
				for i, e := range list {
					parts[i] = fmt.Sprint(e)
				}
				v.Value = strings.Join(parts, ", ")
			}
		case "assign":
			if m, ok := raw.(map[string]any); ok {
				keys := make([]string, 0, len(m))
				for k := range m {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				lines := make([]string, len(keys))
				for i, k := range keys {
					lines[i] = k + " = " + jsonText(m[k])
				}
				v.Value = strings.Join(lines, "\n")
			}
		case "json":
			if raw != nil {
				b, _ := json.Marshal(raw)
				v.Value = string(b)
			}
		case "users":
			chosen := map[string]bool{}
			if list, ok := raw.([]any); ok {
				for _, e := range list {
					chosen[jsonText(e)] = true
				}
			}
			for _, o := range ec.users {
				o.Selected = chosen[o.Value]
				v.Options = append(v.Options, o)
			}
		case "fields":
			chosen := map[string]bool{}
			if list, ok := raw.([]any); ok {
				for _, e := range list {
					chosen[jsonText(e)] = true
				}
			}
			for _, f := range ec.t.Fields() {
				if f.Hidden || f.Deprecated || !ec.t.Enabled(f) || !f.Stored() {
					continue
				}
				v.Options = append(v.Options, optionView{Value: string(f.Name), Label: f.Title, Selected: chosen[string(f.Name)]})
			}
		case "stage":
			cur := jsonText(raw)
			for _, st := range ec.t.StagesOf(ec.cat) {
				v.Options = append(v.Options, optionView{Value: st.StatusID, Label: st.Name, Selected: st.StatusID == cur})
			}
		case "type":
			cur := jsonText(raw)
			for _, o := range ec.types {
				o.Selected = o.Value == cur
				v.Options = append(v.Options, o)
			}
		case "select":
			cur := jsonText(raw)
			for _, c := range sp.Choices {
				label := c
				if c == "" {
					label = "—"
				}
				v.Options = append(v.Options, optionView{Value: c, Label: label, Selected: strings.EqualFold(c, cur)})
			}
		default:
			v.Value = jsonText(raw)
		}
		out = append(out, v)
	}
	return out
}

// extraParams are the params a form does not edit (written over the API), kept as
// they are when the editor saves.
func extraParams(specs []paramSpec, params map[string]any) string {
	extra := map[string]any{}
	for k, v := range params {
		known := false
		for _, sp := range specs {
			known = known || sp.Key == k
		}
		if !known {
			extra[k] = v
		}
	}
	if len(extra) == 0 {
		return ""
	}
	b, _ := json.Marshal(extra)
	return string(b)
}

// jsonText spells a JSON value as a form shows it: numbers without exponent.
func jsonText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// The sentence of a robot: "After 2 hours, if Amount > 10000: e-mail the responsible
// “Visit {{title}} confirmed”".

func (ec *editorContext) robotSummary(r *automation.Robot) string {
	var parts []string
	if d := r.Delay; d != nil {
		switch {
		case d.After != "":
			parts = append(parts, "after "+humanDuration(d.After))
		case d.Field != "":
			when := "at " + ec.fieldTitle(d.Field)
			if d.Offset != "" {
				off := strings.TrimPrefix(d.Offset, "+")
				if strings.HasPrefix(off, "-") {
					when = humanDuration(off[1:]) + " before " + ec.fieldTitle(d.Field)
				} else {
					when = humanDuration(off) + " after " + ec.fieldTitle(d.Field)
				}
			}
			parts = append(parts, when)
		}
		if d.WorkingHours {
			parts = append(parts, "in working hours")
		}
	}
	if r.Condition != "" {
		parts = append(parts, "if "+ec.humanCondition(r.Condition))
	}
	action := ec.robotAction(r)
	if len(parts) == 0 {
		return capitalize(action)
	}
	return capitalize(strings.Join(parts, ", ") + ": " + action)
}

func (ec *editorContext) robotAction(r *automation.Robot) string {
	p := r.Params
	str := func(k string) string { return jsonText(p[k]) }
	switch r.Type {
	case automation.RobotEmail:
		return "e-mail " + ec.recipients(p["to"]) + " " + quote(str("subject"))
	case automation.RobotTask:
		who := str("responsible")
		if who == "" {
			who = "responsible"
		}
		out := "create the task " + quote(str("title")) + " for " + ec.userRef(who)
		if d := str("deadline"); d != "" {
			out += ", due in " + humanDuration(d)
		}
		return out
	case automation.RobotComment:
		return "comment " + quote(str("text"))
	case automation.RobotStage:
		if st := ec.t.Stage(ec.cat, str("stageId")); st != nil {
			return "move the item to " + quote(st.Name)
		}
		return "move the item to " + quote(str("stageId"))
	case automation.RobotFields:
		return "set " + ec.assigned(p["fields"])
	case automation.RobotResponsible:
		var names []string
		if list, ok := p["users"].([]any); ok {
			for _, e := range list {
				names = append(names, ec.userRef("user:"+jsonText(e)))
			}
		}
		if len(names) > 1 {
			return "give the item to " + strings.Join(names, ", ") + " in turn"
		}
		return "give the item to " + strings.Join(names, "")
	case automation.RobotWebhook:
		m := strings.ToUpper(str("method"))
		if m == "" {
			m = "POST"
		}
		return "call " + m + " " + str("url")
	case automation.RobotCreateItem:
		typ := "item of type " + str("entityTypeId")
		for _, o := range ec.types {
			if o.Value == str("entityTypeId") {
				typ = o.Label + " item"
			}
		}
		out := "create a " + typ
		if l := str("link"); l != "" {
			out += " as this item's " + l
		}
		if m, ok := p["fields"].(map[string]any); ok && len(m) > 0 {
			out += " with " + ec.assigned(m)
		}
		return out
	case automation.RobotWait:
		out := "wait until " + ec.humanCondition(str("condition"))
		if to := str("timeout"); to != "" {
			out += " (at most " + humanDuration(to) + ")"
		}
		return out
	}
	return r.Type
}

func (ec *editorContext) triggerSummary(tr *automation.Trigger) string {
	out := "when " + strings.ToLower(typeSpecOf(triggerTypes, tr.Type).Title[:1]) + typeSpecOf(triggerTypes, tr.Type).Title[1:]
	if tr.Type == automation.TriggerFieldChanged {
		var names []string
		if list, ok := tr.Params["fields"].([]any); ok {
			for _, e := range list {
				names = append(names, ec.fieldTitle(jsonText(e)))
			}
		}
		if len(names) > 0 {
			out = "when " + strings.Join(names, " or ") + " changes"
		}
	}
	if tr.Condition != "" {
		out += ", if " + ec.humanCondition(tr.Condition)
	}
	out += ", move the item here"
	if tr.AllowBackwards {
		out += " (even back)"
	}
	return capitalize(out)
}

func (ec *editorContext) recipients(v any) string {
	list, _ := v.([]any)
	var out []string
	for _, e := range list {
		out = append(out, ec.userRef(jsonText(e)))
	}
	if len(out) == 0 {
		return "nobody yet"
	}
	return strings.Join(out, ", ")
}

// userRef names a recipient or responsible: "the responsible", a user's name, a field.
func (ec *editorContext) userRef(ref string) string {
	switch {
	case ref == "responsible":
		return "the responsible"
	case strings.HasPrefix(ref, "user:"):
		id, _ := strconv.ParseInt(strings.TrimPrefix(ref, "user:"), 10, 64)
		if n, ok := ec.userBy[id]; ok {
			return n
		}
	case strings.HasPrefix(ref, "field:"):
		return "the address in " + ec.fieldTitle(strings.TrimPrefix(ref, "field:"))
	}
	return ref
}

func (ec *editorContext) assigned(v any) string {
	m, _ := v.(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = ec.fieldTitle(k) + " to " + quote(jsonText(m[k]))
	}
	if len(out) == 0 {
		return "nothing yet"
	}
	return strings.Join(out, ", ")
}

func (ec *editorContext) fieldTitle(name string) string {
	if f, ok := ec.t.FieldByName(name); ok {
		return f.Title
	}
	return name
}

var identifier = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*`)

// humanCondition names the fields of a condition by their titles and spells its
// operators as words, leaving string literals alone.
func (ec *editorContext) humanCondition(src string) string {
	var b strings.Builder
	inString := rune(0)
	word := strings.Builder{}
	flush := func() {
		w := word.String()
		word.Reset()
		if w == "" {
			return
		}
		if f, ok := ec.t.FieldByName(w); ok && identifier.MatchString(w) {
			b.WriteString(f.Title)
			return
		}
		b.WriteString(w)
	}
	for _, r := range src {
		switch {
		case inString != 0:
			b.WriteRune(r)
			if r == inString {
				inString = 0
			}
		case r == '"' || r == '\'':
			flush()
			inString = r
			b.WriteRune(r)
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
			word.WriteRune(r)
		default:
			flush()
			b.WriteRune(r)
		}
	}
	flush()
	out := b.String()
	return strings.NewReplacer("&&", "and", "||", "or", "==", "=").Replace(out)
}

// humanDuration spells 2h as "2 hours".
func humanDuration(s string) string {
	units := map[byte]string{'s': "second", 'm': "minute", 'h': "hour", 'd': "day"}
	if len(s) < 2 {
		return s
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	unit, ok := units[s[len(s)-1]]
	if err != nil || !ok {
		return s
	}
	if n != 1 {
		unit += "s"
	}
	return strconv.Itoa(n) + " " + unit
}

func quote(s string) string {
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:79]) + "…"
	}
	return "“" + s + "”"
}

func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}
