package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/stagerules"
)

// The fields of a type: its custom fields listed with what they are, a field added by
// kind and label, and one field's page with the settings of its kind (read and written
// as the kind's plain settings, so every kind gets its own: length limits and pattern,
// precision, list items, the types a CRM link may point at, file size and extensions,
// defaults), mandatory, list and filter, "required from stage X on" per funnel, and
// deleting it after being told how many items lose a value.

type fieldsPage struct {
	adminFrame
	Fields []customFieldRow
	Kinds  []optionView
	Label  string // the add form's label, kept after a refusal
}

type customFieldRow struct {
	ID       int64
	Title    string
	Name     string
	Kind     string
	Multiple bool
	Required string // "always", or the stages it is required from
	InList   bool
	InFilter bool
	URL      string
}

// fieldsRoute answers settings/fields/…: the list, add, a field's page, its deletion.
func (s *Server) fieldsRoute(q *request, t *crm.Type, rest []string) {
	if len(rest) == 0 || rest[0] == "add" {
		s.fieldsList(q, t, len(rest) > 0)
		return
	}
	id, err := strconv.ParseInt(rest[0], 10, 64)
	uf := userFieldByID(t, id)
	if err != nil || uf == nil || len(rest) > 2 {
		q.notFound()
		return
	}
	if len(rest) == 2 && rest[1] == "delete" {
		s.fieldDelete(q, t, uf)
		return
	}
	if len(rest) != 1 {
		q.notFound()
		return
	}
	s.fieldEdit(q, t, uf)
}

func userFieldByID(t *crm.Type, id int64) *crm.UserField {
	for _, f := range t.Fields() {
		if uf := f.UserField(); uf != nil && uf.ID == id {
			return uf
		}
	}
	return nil
}

func (s *Server) fieldsList(q *request, t *crm.Type, adding bool) {
	page := fieldsPage{adminFrame: s.frame(t, "fields")}
	status := http.StatusOK
	if adding {
		if !q.method(http.MethodPost) {
			return
		}
		f := q.r.PostForm
		page.Label = strings.TrimSpace(f.Get("label"))
		uf, err := s.addField(q, t, f.Get("kind"), page.Label, f.Get("code"), q.checked("multiple"))
		if err == nil {
			q.back(SettingsPath(t.EntityTypeID, "fields/"+itoa(uf.ID)), "Added the field “"+page.Label+"”: set it up below")
			return
		}
		status = page.fail("add", err)
	} else if !q.method(http.MethodGet) {
		return
	}
	reqs, err := stagerules.List(q.ctx, s.crm, q.actor, t.EntityTypeID)
	if err != nil {
		q.fail(err)
		return
	}
	for _, f := range t.Fields() {
		uf := f.UserField()
		if uf == nil {
			continue
		}
		row := customFieldRow{ID: uf.ID, Title: f.Title, Name: uf.Name, Kind: kindName(uf.Kind), Multiple: uf.Multiple, InList: uf.ShowInList,
			InFilter: uf.ShowFilter != "N", URL: SettingsPath(t.EntityTypeID, "fields/"+itoa(uf.ID))}
		if uf.Mandatory {
			row.Required = "always"
		}
		for _, r := range reqs {
			if r.Field == f {
				if st := t.Stage(r.CategoryID, r.FromStageID); st != nil {
					row.Required = strings.TrimPrefix(row.Required+", from "+st.Name+" on", ", ")
				}
			}
		}
		page.Fields = append(page.Fields, row)
	}
	for _, k := range field.Kinds() {
		page.Kinds = append(page.Kinds, optionView{Value: k.ID(), Label: k.Description()})
	}
	q.render(status, "fields", t.Title+": fields", t.EntityTypeID, &page)
}

func kindName(id string) string {
	if k, ok := field.KindByID(id); ok {
		return k.Description()
	}
	return id
}

// addField creates a custom field named after its label (or the code given):
// UF_CRM_{type}_{CODE}, the code made of the label's latin letters and digits.
func (s *Server) addField(q *request, t *crm.Type, kind, label, code string, multiple bool) (*crm.UserField, error) {
	if label == "" {
		return nil, &crm.Error{Kind: crm.ErrRequired, Field: "label", Msg: "Give the field a name"}
	}
	code = fieldCode(code)
	if code == "" {
		code = fieldCode(label)
	}
	if code == "" {
		code = "FIELD_" + strconv.Itoa(len(t.Fields()))
	}
	labels := map[string]string{"en": label}
	spec := customfield.Spec{Name: t.UFPrefix() + code, Kind: kind, Multiple: multiple,
		Labels: crm.Labels{EditForm: labels, ListColumn: labels, ListFilter: labels}}
	// Kinds that must point somewhere start with a choice the administrator changes.
	switch kind {
	case "crm":
		spec.Settings = field.CRMSettings{Types: map[string]bool{"CONTACT": true, "COMPANY": true}}
	case "crm_status":
		spec.Settings = field.CRMStatusSettings{EntityType: "SOURCE"}
	}
	return s.cf.Add(q.ctx, q.actor, t.EntityTypeID, spec)
}

// fieldCode is the upper-case latin letters, digits and underscores of s.
func fieldCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(strings.TrimSpace(s)) {
		switch {
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.IsSpace(r) || r == '_' || r == '-':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "_") {
				b.WriteByte('_')
			}
		}
	}
	out := strings.Trim(b.String(), "_")
	if len(out) > 30 {
		out = strings.TrimRight(out[:30], "_")
	}
	return out
}

type fieldPage struct {
	adminFrame
	Field     *crm.UserField
	Title     string
	KindName  string
	Settings  []settingView
	Enums     []enumView
	Funnels   []requirementView
	DeleteURL string
}

// settingView is one setting of a field's kind, as a control.
type settingView struct {
	Key     string
	Label   string
	Control string // number, text, yn, list, date, types
	Value   string
	On      bool
	Options []optionView // date default kinds; the types of a CRM link
}

type enumView struct {
	Index int
	ID    int64
	Value string
	Sort  int64
	Def   bool
}

type requirementView struct {
	CategoryID int64
	Name       string
	Stages     []optionView
}

// settingLabels name the settings people set; the rest show their key.
var settingLabels = map[string]string{
	"SIZE": "Input width (characters)", "ROWS": "Rows of the input", "REGEXP": "Pattern the value must match (regular expression)",
	"MIN_LENGTH": "Shortest value (characters, 0: any)", "MAX_LENGTH": "Longest value (characters, 0: any)",
	"DEFAULT_VALUE": "Default value of new items", "PRECISION": "Decimal places", "MIN_VALUE": "Smallest value (0: any)",
	"MAX_VALUE": "Largest value (0: any)", "DISPLAY": "Shown as", "LIST_HEIGHT": "List height", "CAPTION_NO_VALUE": "Text for no value",
	"SHOW_NO_VALUE": "Offer “no value”", "MAX_ALLOWED_SIZE": "Largest file (bytes, 0: any)", "EXTENSIONS": "Allowed extensions (comma-separated, empty: any)",
	"TARGET_BLANK": "Open in a new tab", "LIST_WIDTH": "Preview width in lists", "MAX_SHOW_SIZE": "Largest preview (bytes)",
	"POPUP": "Open in a new window", "USE_SECOND": "With seconds", "USE_TIMEZONE": "With time zone", "SHOW_MAP": "Show a map",
	"LABEL": "Captions of no and yes (comma-separated)", "LABEL_CHECKBOX": "Caption of the checkbox", "ENTITY_TYPE": "Directory (SOURCE, INDUSTRY…)",
}

// settingViews turns a field's settings into controls, in a stable order.
func (s *Server) settingViews(q *request, uf *crm.UserField) []settingView {
	if cs, ok := uf.Settings.(field.CRMSettings); ok {
		v := settingView{Key: "types", Label: "Items it may link to", Control: "types"}
		for _, o := range s.bindingChoices(q) {
			o.Selected = cs.Types[o.Value]
			v.Options = append(v.Options, o)
		}
		return []settingView{v}
	}
	plain := field.PlainSettings(uf.Settings)
	kind, _ := field.KindByID(uf.Kind)
	var out []settingView
	for _, kt := range field.SettingTypes(kind) {
		key := kt[0]
		v := settingView{Key: key, Label: settingLabels[key], Control: "text"}
		if v.Label == "" {
			v.Label = key
		}
		switch x := plain[key].(type) {
		case string:
			if kt[1] == "char" {
				v.Control, v.On = "yn", x == "Y"
			} else {
				v.Value = x
			}
		case int:
			v.Control, v.Value = "number", strconv.Itoa(x)
		case float64:
			v.Control, v.Value = "number", strconv.FormatFloat(x, 'f', -1, 64)
		case []string:
			v.Control, v.Value = "list", strings.Join(x, ", ")
		case map[string]any:
			v.Control = "date"
			typ, _ := x["TYPE"].(string)
			v.Value, _ = x["VALUE"].(string)
			for _, o := range []optionView{{Value: "NONE", Label: "none"}, {Value: "NOW", Label: "the moment it is created"}, {Value: "FIXED", Label: "this date:"}} {
				o.Selected = strings.EqualFold(o.Value, typ)
				v.Options = append(v.Options, o)
			}
		case nil:
		default:
			v.Value = fmt.Sprint(x)
		}
		out = append(out, v)
	}
	return out
}

// bindingChoices are the types a CRM link may point at, keyed as its settings key them.
func (s *Server) bindingChoices(q *request) []optionView {
	out := []optionView{{Value: "LEAD", Label: "Leads"}, {Value: "DEAL", Label: "Deals"}, {Value: "CONTACT", Label: "Contacts"}, {Value: "COMPANY", Label: "Companies"}}
	if types, err := s.crm.AllTypes(q.ctx, q.actor); err == nil {
		for _, t := range types {
			out = append(out, optionView{Value: "DYNAMIC_" + itoa(t.EntityTypeID), Label: t.Title})
		}
	}
	return out
}

// readSettings reads the settings controls back into the kind's settings.
func (s *Server) readSettings(q *request, uf *crm.UserField) (field.Settings, error) {
	f := q.r.PostForm
	raw := map[string]any{}
	if _, ok := uf.Settings.(field.CRMSettings); ok {
		for _, o := range s.bindingChoices(q) {
			raw[o.Value] = string(field.YesNo(f.Get("s-types-"+o.Value) == "Y"))
		}
		kind, _ := field.KindByID(uf.Kind)
		return field.ReadSettings(kind.NewSettings(), raw)
	}
	for _, v := range s.settingViews(q, uf) {
		name := "s-" + v.Key
		switch v.Control {
		case "yn":
			raw[v.Key] = string(field.YesNo(f.Get(name) == "Y"))
		case "list":
			list := []any{}
			for _, e := range strings.Split(f.Get(name), ",") {
				if e = strings.TrimSpace(e); e != "" {
					list = append(list, e)
				}
			}
			raw[v.Key] = list
		case "date":
			raw[v.Key] = map[string]any{"TYPE": f.Get(name + "-type"), "VALUE": strings.TrimSpace(f.Get(name))}
		default:
			if !f.Has(name) {
				continue
			}
			raw[v.Key] = strings.TrimSpace(f.Get(name))
		}
	}
	return field.ReadSettings(uf.Settings, raw)
}

func (s *Server) fieldEdit(q *request, t *crm.Type, uf *crm.UserField) {
	page := fieldPage{adminFrame: s.frame(t, "fields")}
	status := http.StatusOK
	if q.r.Method == http.MethodPost {
		if err := s.saveField(q, t, uf); err == nil {
			q.back(SettingsPath(t.EntityTypeID, "fields/"+itoa(uf.ID)), "Saved the field")
			return
		} else {
			status = page.fail("save", err)
		}
	} else if !q.method(http.MethodGet) {
		return
	}
	page.Field = uf
	page.Title = uf.Labels.Title(uf.Name)
	page.KindName = kindName(uf.Kind)
	page.Settings = s.settingViews(q, uf)
	page.DeleteURL = SettingsPath(t.EntityTypeID, "fields/"+itoa(uf.ID)+"/delete")
	if uf.Kind == "enumeration" {
		enums := append([]field.EnumItem(nil), uf.Enums...)
		sort.SliceStable(enums, func(i, j int) bool { return enums[i].Sort < enums[j].Sort })
		for i, e := range enums {
			page.Enums = append(page.Enums, enumView{Index: i, ID: e.ID, Value: e.Value, Sort: int64(i+1) * 10, Def: e.Def})
		}
		for i := 0; i < 2; i++ {
			n := len(page.Enums)
			page.Enums = append(page.Enums, enumView{Index: n, Sort: int64(n+1) * 10})
		}
	}
	if t.HasStages() {
		reqs, err := stagerules.List(q.ctx, s.crm, q.actor, t.EntityTypeID)
		if err != nil {
			q.fail(err)
			return
		}
		name := crm.CamelUFName(uf.Name)
		for _, c := range t.Categories() {
			rv := requirementView{CategoryID: c.ID, Name: c.Name, Stages: []optionView{{Value: "", Label: "never"}}}
			from := ""
			for _, r := range reqs {
				if string(r.Field.Name) == name && r.CategoryID == c.ID {
					from = r.FromStageID
				}
			}
			for _, st := range t.StagesOf(c.ID) {
				if st.Semantics != crm.Failure {
					rv.Stages = append(rv.Stages, optionView{Value: st.StatusID, Label: st.Name, Selected: st.StatusID == from})
				}
			}
			page.Funnels = append(page.Funnels, rv)
		}
	}
	q.render(status, "field", t.Title+": "+page.Title, t.EntityTypeID, &page)
}

// saveField applies the field's form in one unit: the field itself, its list items,
// and its stage rules, all or nothing.
func (s *Server) saveField(q *request, t *crm.Type, uf *crm.UserField) error {
	f := q.r.PostForm
	label := strings.TrimSpace(f.Get("label"))
	if label == "" {
		return &crm.Error{Kind: crm.ErrRequired, Field: "label", Msg: "Give the field a name"}
	}
	settings, err := s.readSettings(q, uf)
	if err != nil {
		return &crm.Error{Kind: crm.ErrInvalidArg, Field: "settings", Msg: err.Error()}
	}
	mandatory, inList := q.checked("mandatory"), q.checked("showInList")
	filter := crm.ShowFilter("N")
	if q.checked("showFilter") {
		filter = "E"
	}
	labels := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		out["en"] = label
		return out
	}
	spec := customfield.Spec{Mandatory: &mandatory, ShowInList: &inList, ShowFilter: &filter, Settings: settings,
		Labels: crm.Labels{EditForm: labels(uf.Labels.EditForm), ListColumn: labels(uf.Labels.ListColumn), ListFilter: labels(uf.Labels.ListFilter)}}
	if uf.Kind == "enumeration" {
		if spec.Enums, err = enumChanges(f, uf); err != nil {
			return err
		}
	}
	name := crm.CamelUFName(uf.Name)
	reqs, err := stagerules.List(q.ctx, s.crm, q.actor, t.EntityTypeID)
	if err != nil {
		return err
	}
	return s.crm.Run(q.ctx, q.actor, func(u *crm.Unit) error {
		if _, err := customfield.UpdateIn(u, uf.ID, spec); err != nil {
			return err
		}
		if !t.HasStages() {
			return nil
		}
		for _, c := range t.Categories() {
			from := f.Get("from-" + itoa(c.ID))
			had := false
			for _, r := range reqs {
				had = had || string(r.Field.Name) == name && r.CategoryID == c.ID
			}
			switch {
			case from != "":
				if t.Stage(c.ID, from) == nil {
					return &crm.Error{Kind: crm.ErrInvalidArg, Field: "from", Msg: fmt.Sprintf("%q is not a stage of the funnel %s", from, c.Name)}
				}
				if err := stagerules.RequireIn(u, t.EntityTypeID, name, from); err != nil {
					return err
				}
			case had:
				if err := stagerules.DropIn(u, t.EntityTypeID, c.ID, name); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// enumChanges reads the list items' rows: each kept one renamed, re-sorted, marked
// default or deleted; a filled new row added.
func enumChanges(f url.Values, uf *crm.UserField) ([]customfield.EnumChange, error) {
	n, _ := strconv.Atoi(f.Get("enums"))
	if n < 0 || n > 1000 {
		return nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: "enums", Msg: "A list holds at most 1000 items"}
	}
	var out []customfield.EnumChange
	for i := 0; i < n; i++ {
		p := "e" + strconv.Itoa(i) + "-"
		id, _ := strconv.ParseInt(f.Get(p+"id"), 10, 64)
		value := strings.TrimSpace(f.Get(p + "value"))
		sortN, err := strconv.ParseInt(strings.TrimSpace(f.Get(p+"sort")), 10, 64)
		if err != nil {
			sortN = int64(i+1) * 10
		}
		def := f.Get(p+"def") == "Y"
		switch {
		case id == 0 && value == "":
			continue // an empty new row
		case id != 0 && f.Get(p+"del") == "Y":
			out = append(out, customfield.EnumChange{ID: id, Delete: true})
		default:
			out = append(out, customfield.EnumChange{ID: id, Value: &value, Sort: &sortN, Def: &def})
		}
	}
	return out, nil
}

type fieldDeletePage struct {
	adminFrame
	Title  string
	Name   string
	Items  int
	Action string
	Back   string
}

// fieldDelete shows how many items hold a value of the field, then deletes it.
func (s *Server) fieldDelete(q *request, t *crm.Type, uf *crm.UserField) {
	page := fieldDeletePage{adminFrame: s.frame(t, "fields"), Title: uf.Labels.Title(uf.Name), Name: uf.Name,
		Action: SettingsPath(t.EntityTypeID, "fields/"+itoa(uf.ID)+"/delete"), Back: SettingsPath(t.EntityTypeID, "fields/"+itoa(uf.ID))}
	status := http.StatusOK
	if q.r.Method == http.MethodPost {
		err := s.cf.Delete(q.ctx, q.actor, uf.ID)
		if err == nil {
			q.back(SettingsPath(t.EntityTypeID, "fields/"), "Deleted the field “"+page.Title+"”")
			return
		}
		status = page.fail("delete", err)
	} else if !q.method(http.MethodGet) {
		return
	}
	f, _ := t.FieldByName(uf.Name)
	_, list, err := s.crm.ListItems(q.ctx, q.actor, t.EntityTypeID, crm.ItemQuery{Select: []*crm.Field{}, Limit: 1,
		Where: query.Group{Items: []query.Expr{query.Cond{Field: t.QueryField(f), Op: field.OpNotEq, Value: nil}}}})
	if err != nil {
		q.fail(err)
		return
	}
	page.Items = list.Total
	q.render(status, "field_delete", t.Title+": delete "+page.Title, t.EntityTypeID, &page)
}
