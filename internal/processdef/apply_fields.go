package processdef

import (
	"strconv"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
)

// applyFields creates, changes, replaces and deletes custom fields.
func (a *applier) applyFields(want, cur *Process) error {
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	have := map[string]*Field{}
	if cur != nil {
		for _, f := range cur.Fields {
			have[f.Key] = f
		}
	}
	wanted := map[string]bool{}
	for i, f := range want.Fields {
		wanted[f.Key] = true
		old := have[f.Key]
		spec, err := a.fieldSpec(t, f, i)
		if err != nil {
			return err
		}
		if old != nil && (old.Type != f.Type || old.Multiple != f.Multiple) {
			if err := a.deleteField(t, f.Key); err != nil {
				return err
			}
			old = nil
		}
		if old == nil {
			spec.Enums = enumChanges(nil, f.Items)
			if _, err := customfield.AddIn(a.u, t.EntityTypeID, spec); err != nil {
				return err
			}
			continue
		}
		if fieldsEqual(old, f, indexOf(cur.Fields, old), i) {
			continue
		}
		uf := userField(t, f.Key)
		if uf == nil {
			continue
		}
		spec.Enums = enumChanges(uf.Enums, f.Items)
		if _, err := customfield.UpdateIn(a.u, uf.ID, spec); err != nil {
			return err
		}
	}
	if cur != nil {
		for _, f := range cur.Fields {
			if !wanted[f.Key] {
				if err := a.deleteField(t, f.Key); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// fieldsEqual tells whether a field needs no change; i and j are its places on the
// server and in the file, which give the sorts left out.
func fieldsEqual(old, f *Field, i, j int) bool {
	a, b := *old, *f
	a.Sort, b.Sort = effSort(a.Sort, i), effSort(b.Sort, j)
	return jsonText(a) == jsonText(b)
}

// effSort is the sort of the i-th thing of a list whose sort s may be left out (0).
func effSort(s int64, i int) int64 {
	if s == 0 {
		return defaultSort(i)
	}
	return s
}

func indexOf[T comparable](list []T, x T) int {
	for i, e := range list {
		if e == x {
			return i
		}
	}
	return -1
}

func userField(t *crm.Type, key string) *crm.UserField {
	f, ok := t.FieldByName(t.UFPrefix() + key)
	if !ok {
		return nil
	}
	return f.UserField()
}

func (a *applier) deleteField(t *crm.Type, key string) error {
	uf := userField(t, key)
	if uf == nil {
		return nil
	}
	return customfield.DeleteIn(a.u, uf.ID)
}

// fieldSpec is what the CRM takes for a field of the file; i is its place.
func (a *applier) fieldSpec(t *crm.Type, f *Field, i int) (customfield.Spec, error) {
	sortValue := effSort(f.Sort, i)
	showFilter := crm.ShowFilter(orDefault(f.ShowFilter, "N"))
	show, edit, search, mandatory := !f.HideInList, !f.NoEditInList, f.Searchable, f.Mandatory
	spec := customfield.Spec{Name: t.UFPrefix() + f.Key, Kind: f.Type, Multiple: f.Multiple, Sort: &sortValue,
		Mandatory: &mandatory, ShowFilter: &showFilter, ShowInList: &show, EditInList: &edit, IsSearchable: &search,
		Labels: labelsFromFile(f)}
	// Labels replace the maps given; an empty map clears one the server has.
	for _, m := range []*map[string]string{&spec.Labels.EditForm, &spec.Labels.ListColumn, &spec.Labels.ListFilter,
		&spec.Labels.ErrorMessage, &spec.Labels.HelpMessage} {
		if *m == nil {
			*m = map[string]string{}
		}
	}
	kind, _ := field.KindByID(f.Type)
	raw := map[string]any{}
	for k, v := range f.Settings {
		if f.Type == "crm" {
			if std, ok := standardBindingKey(k); ok {
				k = std
			} else {
				k = "DYNAMIC_" + strconv.FormatInt(a.reg.etidOf[k], 10)
			}
		}
		raw[k] = v
	}
	settings, err := field.ReadSettings(kind.NewSettings(), raw)
	if err != nil {
		return spec, crm.NewError(crm.ErrInvalidArg, "field %s: settings: %v", f.Key, err)
	}
	spec.Settings = settings
	return spec, nil
}

// enumChanges turns the file's items into changes of the field's: items keep their
// ids by key, new ones are added, those the file leaves out are deleted.
func enumChanges(have []field.EnumItem, items []*Item) []customfield.EnumChange {
	byKey := map[string]field.EnumItem{}
	for _, e := range have {
		byKey[e.XMLID] = e
	}
	var out []customfield.EnumChange
	kept := map[int64]bool{}
	for j, it := range items {
		sortValue := effSort(it.Sort, j)
		value, def, key := strings.TrimSpace(it.Value), it.Default, it.Key
		ch := customfield.EnumChange{Value: &value, Def: &def, Sort: &sortValue, XMLID: &key}
		if e, ok := byKey[it.Key]; ok {
			ch.ID = e.ID
			kept[e.ID] = true
		}
		out = append(out, ch)
	}
	for _, e := range have {
		if !kept[e.ID] {
			out = append(out, customfield.EnumChange{ID: e.ID, Delete: true})
		}
	}
	return out
}
