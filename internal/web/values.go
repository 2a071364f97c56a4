package web

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// How field values are shown and read back from forms. Values are shown as text and
// links, never as markup: html/template escapes every one of them, whatever a user
// typed into a field.

// valueView is a field's value as a page shows it.
type valueView struct {
	Text  string
	Links []linkView
	Empty bool
}

type linkView struct {
	Text, URL string
}

// ref names an item whose title a page shows (a link's target).
type ref struct{ etid, id int64 }

// titles holds the titles of linked items a page shows, read in one query per type.
type titles map[ref]string

// linkTarget is the type a link field points at (0 for other fields).
func linkTarget(f *crm.Field) int64 {
	if f.ParentType != 0 {
		return f.ParentType
	}
	return f.LinkType
}

// int64s lists the ids a link value holds.
func int64s(v any) []int64 {
	switch x := v.(type) {
	case int64:
		if x > 0 {
			return []int64{x}
		}
	case []int64:
		return x
	case []any:
		var out []int64
		for _, e := range x {
			if n, ok := e.(int64); ok {
				out = append(out, n)
			}
		}
		return out
	}
	return nil
}

// collectRefs adds the link targets of items' values in fields to refs.
func collectRefs(refs map[int64][]int64, fs []*crm.Field, items []*crm.Item) {
	for _, f := range fs {
		target := linkTarget(f)
		if target == 0 {
			continue
		}
		for _, it := range items {
			refs[target] = append(refs[target], int64s(it.Get(f.Name))...)
		}
	}
}

// loadTitles reads the titles of linked items, one query per type and 50 ids.
func (q *request) loadTitles(refs map[int64][]int64) titles {
	out := titles{}
	for etid, ids := range refs {
		t, err := q.s.crm.ItemType(q.ctx, q.actor, etid)
		if err != nil || t.TitleField() == nil {
			continue
		}
		seen := map[int64]bool{}
		var uniq []any
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				uniq = append(uniq, id)
			}
		}
		idf := t.QueryField(mustField(t, crm.FieldID))
		for len(uniq) > 0 {
			chunk := uniq[:min(len(uniq), crm.PageSize)]
			uniq = uniq[len(chunk):]
			_, list, err := q.s.crm.ListItems(q.ctx, q.actor, etid, crm.ItemQuery{
				Where:  query.Group{Items: []query.Expr{query.Cond{Field: idf, Op: field.OpIn, Value: chunk}}},
				Select: []*crm.Field{t.TitleField()}, NoCount: true})
			if err != nil {
				continue
			}
			for _, it := range list.Items {
				out[ref{etid, it.ID}] = it.Title(t)
			}
		}
	}
	return out
}

func mustField(t *crm.Type, name crm.FieldName) *crm.Field {
	f, _ := t.FieldByName(string(name))
	return f
}

// display shows a field's value.
func (q *request) display(t *crm.Type, f *crm.Field, v any, tt titles) valueView {
	if v == nil || isEmptyList(v) || v == "" {
		return valueView{Empty: true, Text: "—"}
	}
	if target := linkTarget(f); target != 0 {
		var out valueView
		for _, id := range int64s(v) {
			title := tt[ref{target, id}]
			if title == "" {
				title = "#" + itoa(id)
			}
			out.Links = append(out.Links, linkView{Text: title, URL: DetailsPath(target, id)})
		}
		return out
	}
	switch f.Name {
	case crm.FieldStageID, crm.FieldPreviousStageID:
		if st := t.StageByStatusID(fmt.Sprint(v)); st != nil {
			return valueView{Text: st.Name}
		}
	case crm.FieldCategoryID:
		if id, ok := v.(int64); ok {
			if c := t.Category(id); c != nil {
				return valueView{Text: c.Name}
			}
		}
	}
	typeName := f.Type.Name()
	if uf := f.UserField(); uf != nil {
		switch uf.Kind {
		case "enumeration":
			labels := map[int64]string{}
			for _, e := range uf.Enums {
				labels[e.ID] = e.Value
			}
			var parts []string
			for _, id := range int64s(v) {
				parts = append(parts, labels[id])
			}
			return valueView{Text: strings.Join(parts, ", ")}
		case "employee":
			typeName = "user"
		case "file":
			var out valueView
			for _, id := range int64s(v) {
				out.Links = append(out.Links, linkView{Text: "File #" + itoa(id), URL: q.s.crm.FileLink(id)})
			}
			return out
		case "url":
			var out valueView
			for _, e := range listOf(v) {
				s := fmt.Sprint(e)
				if u, err := url.Parse(s); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
					out.Links = append(out.Links, linkView{Text: s, URL: s})
				} else {
					out.Text = strings.TrimSpace(out.Text + " " + s)
				}
			}
			return out
		}
	}
	if typeName == "user" {
		var parts []string
		for _, id := range int64s(v) {
			parts = append(parts, q.s.userName(q.ctx, id))
		}
		return valueView{Text: strings.Join(parts, ", ")}
	}
	return valueView{Text: plainText(f, v)}
}

// plainText is a value as text, for pages and exports.
func plainText(f *crm.Field, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		if _, isFlag := f.Type.(field.Flag); isFlag {
			return yesNo(x == "Y")
		}
		return x
	case time.Time:
		if f.Type.Storage() == field.StorageDate {
			return x.Format("2006-01-02")
		}
		return x.Format("2006-01-02 15:04")
	case float64:
		if f.Money || f.Name == crm.FieldOpportunity || f.Name == crm.FieldTaxValue {
			return formatMoney(x)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int64:
		if _, isBool := f.Type.(field.Boolean); isBool {
			return yesNo(x == 1)
		}
		return itoa(x)
	case []field.MultiValue:
		var parts []string
		for _, e := range x {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", kindTitle(e.TypeID), e.Value, strings.ToLower(e.ValueType)))
		}
		return strings.Join(parts, "; ")
	case []int64:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = itoa(n)
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = plainText(f, e)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

func kindTitle(kind string) string {
	switch kind {
	case "PHONE":
		return "Phone"
	case "EMAIL":
		return "E-mail"
	case "WEB":
		return "Site"
	case "IM":
		return "Messenger"
	}
	return kind
}

func listOf(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func isEmptyList(v any) bool {
	switch l := v.(type) {
	case []any:
		return len(l) == 0
	case []int64:
		return len(l) == 0
	case []field.MultiValue:
		return len(l) == 0
	}
	return false
}

// editable reports whether a person edits the field on the card (on add when adding).
func editable(t *crm.Type, f *crm.Field, adding bool) bool {
	if f.ReadOnly || f.Column == "" || f.Hidden || f.Deprecated || !t.Enabled(f) || (f.Immutable && !adding) {
		return false
	}
	switch f.Name {
	case crm.FieldIsManualOpportunity, crm.FieldFullName, crm.FieldWebformID:
		return false
	}
	return true
}

// inputView is a field's form control.
type inputView struct {
	Name     string // the form field: the domain field name
	ID       string
	Label    string
	Kind     string // text, textarea, date, datetime, select, yesno, lines, contacts, file
	Value    string
	Options  []optionView
	Multiple bool
	Required bool
	Hint     string
}

type optionView struct {
	Value, Label string
	Selected     bool
}

// input builds the control of a field holding v (nil on a new item).
func (q *request) input(t *crm.Type, f *crm.Field, v any, idPrefix string) inputView {
	in := inputView{Name: string(f.Name), ID: idPrefix + string(f.Name), Label: f.Title, Kind: "text", Required: f.Required,
		Multiple: f.Multiple}
	uf := f.UserField()
	kind := f.Type.Name()
	if uf != nil {
		kind = uf.Kind
		in.Required = uf.Mandatory
	}
	selected := map[string]bool{}
	for _, e := range listOf(v) {
		if e != nil {
			selected[fmt.Sprint(e)] = true
		}
	}
	if ids, ok := v.([]int64); ok {
		for _, id := range ids {
			selected[itoa(id)] = true
		}
	}
	switch {
	case f.Name == crm.FieldStageID:
		in.Kind = "select"
		cat := int64(0)
		if it, ok := v.(string); ok {
			if st := t.StageByStatusID(it); st != nil {
				cat = st.CategoryID
			}
		} else {
			cat = defaultCategory(t)
		}
		for _, st := range t.StagesOf(cat) {
			in.Options = append(in.Options, optionView{Value: st.StatusID, Label: st.Name, Selected: selected[st.StatusID]})
		}
	case f.Name == crm.FieldCategoryID:
		in.Kind = "select"
		for _, c := range t.Categories() {
			in.Options = append(in.Options, optionView{Value: itoa(c.ID), Label: c.Name, Selected: selected[itoa(c.ID)]})
		}
	case kind == "user" || kind == "employee":
		in.Kind = "select"
		_, users := q.s.usersByID(q.ctx)
		if !f.Required && !f.NotEmptied {
			in.Options = append(in.Options, optionView{Value: "", Label: "—"})
		}
		for _, u := range users {
			if u.Active || selected[itoa(u.ID)] {
				in.Options = append(in.Options, optionView{Value: itoa(u.ID), Label: fullName(u), Selected: selected[itoa(u.ID)]})
			}
		}
	case kind == "enumeration":
		in.Kind = "select"
		if !in.Multiple {
			in.Options = append(in.Options, optionView{Value: "", Label: "—"})
		}
		for _, e := range uf.Enums {
			in.Options = append(in.Options, optionView{Value: itoa(e.ID), Label: e.Value, Selected: selected[itoa(e.ID)]})
		}
	case kind == "boolean" || kind == "char":
		in.Kind = "yesno"
		on := selected["1"] || selected["Y"]
		in.Options = []optionView{{Value: "N", Label: "No", Selected: !on}, {Value: "Y", Label: "Yes", Selected: on}}
	case kind == "date":
		in.Kind = "date"
		if tm, ok := v.(time.Time); ok {
			in.Value = tm.Format("2006-01-02")
		}
	case kind == "datetime":
		in.Kind = "datetime"
		if tm, ok := v.(time.Time); ok {
			in.Value = tm.Format("2006-01-02T15:04")
		}
	case kind == "file":
		in.Kind = "file"
	case kind == "crm_multifield":
		in.Kind = "textarea"
		in.Hint = "One entry a line: PHONE, EMAIL, WEB or IM, then the value, e.g. \"PHONE +1 555 0100\""
		var lines []string
		if mv, ok := v.([]field.MultiValue); ok {
			for _, e := range mv {
				lines = append(lines, e.TypeID+" "+e.Value)
			}
		}
		in.Value = strings.Join(lines, "\n")
	case kind == "text":
		in.Kind = "textarea"
		in.Value = plainValue(f, v)
	case f.Multiple || linkTarget(f) != 0 && f.Multiple:
		in.Kind = "lines"
		in.Hint = "Several values: separate them with commas or new lines"
		in.Value = plainValue(f, v)
	default:
		in.Value = plainValue(f, v)
		if linkTarget(f) != 0 {
			in.Hint = "The id of the item to link"
		}
	}
	return in
}

// plainValue is a value as a form shows it for editing (what parsing reads back).
func plainValue(f *crm.Field, v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []int64:
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = itoa(n)
		}
		return strings.Join(parts, ", ")
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = plainValue(f, e)
		}
		return strings.Join(parts, "\n")
	case time.Time:
		return x.Format("2006-01-02 15:04:05")
	}
	return fmt.Sprint(v)
}

// formPatch reads the fields a form sends into a patch of plain values, for the fields
// named in names (each sent as its domain name). The stored item gives the multifield
// entries a new list replaces. Files come from the multipart form.
func (q *request) formPatch(t *crm.Type, names []string, stored *crm.Item) (crm.Patch, error) {
	patch := crm.Patch{}
	for _, name := range names {
		f, ok := t.FieldByName(name)
		if !ok {
			return nil, crm.NewError(crm.ErrInvalidValue, "Unknown field %q", name)
		}
		vals, sent := q.r.Form[name]
		kind := f.Type.Name()
		if uf := f.UserField(); uf != nil {
			kind = uf.Kind
		}
		if kind == "file" {
			v, err := q.fileValue(name, f.Multiple)
			if err != nil {
				return nil, err
			}
			if v != nil {
				patch[f.Name] = v
			}
			continue
		}
		if !sent {
			if f.Multiple && q.r.Form.Has(name+".present") {
				patch[f.Name] = []any{} // a multiple select with nothing chosen
			}
			continue
		}
		switch {
		case kind == "crm_multifield":
			patch[f.Name] = multifieldPatch(vals[0], stored, f)
		case f.Multiple && len(vals) == 1:
			patch[f.Name] = splitList(vals[0])
		case f.Multiple:
			list := make([]any, 0, len(vals))
			for _, v := range vals {
				if strings.TrimSpace(v) != "" {
					list = append(list, v)
				}
			}
			patch[f.Name] = list
		default:
			patch[f.Name] = strings.TrimSpace(vals[0])
			if kind == "text" || kind == "string" && f.Type.Name() == "text" {
				patch[f.Name] = vals[0]
			}
		}
	}
	return patch, nil
}

// splitList reads "1, 2\n3" as a list.
func splitList(s string) []any {
	out := []any{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// multifieldPatch turns the textarea's lines into a multifield patch that replaces the
// stored entries: every stored one removed, every line added.
func multifieldPatch(text string, stored *crm.Item, f *crm.Field) []any {
	out := []any{}
	if stored != nil {
		if mv, ok := stored.Get(f.Name).([]field.MultiValue); ok {
			for _, e := range mv {
				out = append(out, map[string]any{"ID": e.ID, "DELETE": "Y"})
			}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		kind, value, _ := strings.Cut(line, " ")
		kind = strings.ToUpper(kind)
		if _, known := field.MultifieldKinds[kind]; !known {
			// A bare value: an e-mail when it looks like one, else a phone.
			kind, value = "PHONE", line
			if strings.Contains(line, "@") {
				kind = "EMAIL"
			}
		}
		out = append(out, map[string]any{"TYPE_ID": kind, "VALUE": strings.TrimSpace(value)})
	}
	return out
}

// fileValue reads an uploaded file of a file field as the domain's upload value
// ([name, base64]); nil when none was chosen.
func (q *request) fileValue(name string, multiple bool) (any, error) {
	if q.r.MultipartForm == nil {
		return nil, nil
	}
	var list []any
	for _, fh := range q.r.MultipartForm.File[name] {
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data := make([]byte, fh.Size)
		_, err = readFull(f, data)
		f.Close()
		if err != nil {
			return nil, err
		}
		list = append(list, []any{fh.Filename, base64.StdEncoding.EncodeToString(data)})
	}
	if len(list) == 0 {
		return nil, nil
	}
	if multiple {
		return list, nil
	}
	return list[0], nil
}

// sortedFields orders fields by title, for the filter bar and the column chooser.
func sortedFields(fs []*crm.Field) []*crm.Field {
	out := append([]*crm.Field(nil), fs...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Title < out[j].Title })
	return out
}
