package processdef

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

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
