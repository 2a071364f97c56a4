// Package customfield is the administration of custom fields (userfieldconfig): each
// field is a row of the registry and a real, typed column of its type's items table,
// added, changed and dropped in one transaction with its row. What a field of each kind
// holds lives in the field package; how custom fields join an item's catalog, in crm.
package customfield

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
)

// Spec is what a caller sets on a custom field. On update nil leaves a value as it is;
// Name, Kind and Multiple are fixed once the field exists.
type Spec struct {
	Name     string // UF_CRM_{typeId}_{NAME}, or UF_CRM_{NAME} on the built-in types
	Kind     string // a field.Kind id
	Multiple bool

	Sort         *int64
	Mandatory    *bool
	ShowFilter   *crm.ShowFilter
	ShowInList   *bool
	EditInList   *bool
	IsSearchable *bool
	XMLID        *string
	// Settings replace the current ones as a whole (read them with field.ReadSettings
	// onto the kind's NewSettings).
	Settings field.Settings
	// Labels replace the given label maps, each as a whole; nil maps are left as they are.
	Labels crm.Labels
	// Enums add list items (ID 0), change them, or delete them.
	Enums []EnumChange
}

// EnumChange adds a list item (ID 0), changes one of the field's items, or deletes it.
type EnumChange struct {
	ID     int64
	Delete bool
	Value  *string
	Def    *bool
	Sort   *int64
	XMLID  *string
}

// Service runs the custom-field operations.
type Service struct{ crm *crm.Service }

// New returns the custom-field service.
func New(crmSvc *crm.Service) *Service { return &Service{crm: crmSvc} }

// namePattern: what a custom field name may hold (spec §8.1).
var namePattern = regexp.MustCompile(`^UF_CRM_[A-Z0-9_]+$`)

// maxNameLength bounds field names, as Bitrix24 does.
const maxNameLength = 50

// invalid is a custom-field error; the protocol answers them with one code.
func invalid(format string, a ...any) error { return crm.NewError(crm.ErrInvalidArg, format, a...) }

func allow(u *crm.Unit, etid int64) error {
	return u.Service().Allow(u.Actor(), access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "field"})
}

// Add creates a custom field of type etid: its registry row, its column and its list
// items, in one transaction.
func (s *Service) Add(ctx context.Context, actor access.Actor, etid int64, spec Spec) (*crm.UserField, error) {
	var out *crm.UserField
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) (err error) {
		out, err = AddIn(u, etid, spec)
		return err
	})
	return out, err
}

// AddIn creates a custom field inside the unit.
func AddIn(u *crm.Unit, etid int64, spec Spec) (*crm.UserField, error) {
	if err := allow(u, etid); err != nil {
		return nil, err
	}
	t, err := u.TypeOf(etid)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(spec.Name)
	kind, ok := field.KindByID(spec.Kind)
	switch prefix := t.UFPrefix(); {
	case spec.Kind == "":
		return nil, &crm.Error{Kind: crm.ErrRequired, Field: "userTypeId", Msg: "The 'USER_TYPE_ID' field is not found"}
	case name == "":
		return nil, &crm.Error{Kind: crm.ErrRequired, Field: "fieldName", Msg: "The 'FIELD_NAME' field is not found"}
	case !strings.HasPrefix(name, prefix):
		return nil, invalid("Incorrect field code: the name must start with %s", prefix)
	case utf8.RuneCountInString(name) > maxNameLength:
		return nil, invalid("Field name is too long: at most %d characters", maxNameLength)
	case !namePattern.MatchString(name):
		return nil, invalid("Field name contains invalid characters: only A-Z, 0-9 and _ are allowed")
	case !ok:
		return nil, crm.NewError(crm.ErrUnknownType, "Invalid user type specified.")
	case spec.Multiple && spec.Kind == "boolean":
		return nil, invalid("A yes/no field cannot be multiple")
	}
	_, byName := t.FieldByName(name)
	_, byCamel := t.FieldByName(crm.CamelUFName(name))
	if byName || byCamel {
		return nil, invalid("The field %s for object %s already exists.", name, t.UFEntityID())
	}
	uf := &crm.UserField{
		EntityTypeID: t.EntityTypeID, Name: name, Column: strings.ToLower(name), Kind: spec.Kind, Multiple: spec.Multiple,
		Sort: 100, ShowFilter: "N", ShowInList: true, EditInList: true, Settings: kind.NewSettings(),
	}
	if err := apply(uf, spec); err != nil {
		return nil, err
	}
	typ, err := check(uf)
	if err != nil {
		return nil, err
	}
	rec := uf.Record()
	if err := u.Tx().InsertUserField(u.Ctx(), rec); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, invalid("The field %s for object %s already exists.", name, t.UFEntityID())
		}
		return nil, err
	}
	uf.ID = rec.ID
	if err := u.Tx().AddUserFieldColumn(u.Ctx(), t.EntityTypeID, uf.Column, typ.Storage()); err != nil {
		return nil, err
	}
	if err := u.Tx().SetUserFieldIndex(u.Ctx(), t.EntityTypeID, uf.Column, indexed(uf)); err != nil {
		return nil, err
	}
	if err := u.Tx().SetUserFieldSearch(u.Ctx(), t.EntityTypeID, uf.Column, searchable(uf, typ)); err != nil {
		return nil, err
	}
	for i := range uf.Enums {
		e := &rec.Enums[i]
		if err := u.Tx().InsertEnum(u.Ctx(), uf.ID, e); err != nil {
			return nil, err
		}
		uf.Enums[i].ID = e.ID
	}
	u.RegistryChanged()
	return uf, emitField(u, change.Added, uf)
}

// apply sets what the spec gives on the field. Enum changes against the field's items
// are validated here; ids of other fields' items are refused.
func apply(uf *crm.UserField, spec Spec) error {
	if spec.Sort != nil {
		uf.Sort = *spec.Sort
	}
	for _, b := range []struct{ dst, src *bool }{
		{&uf.Mandatory, spec.Mandatory}, {&uf.ShowInList, spec.ShowInList}, {&uf.EditInList, spec.EditInList},
		{&uf.IsSearchable, spec.IsSearchable},
	} {
		if b.src != nil {
			*b.dst = *b.src
		}
	}
	if spec.ShowFilter != nil {
		switch sf := crm.ShowFilter(strings.ToUpper(string(*spec.ShowFilter))); sf {
		case "N", "I", "E", "S":
			uf.ShowFilter = sf
		default:
			return invalid("showFilter must be N, I, E or S")
		}
	}
	if spec.XMLID != nil && *spec.XMLID != "" {
		x := *spec.XMLID
		uf.XMLID = &x
	}
	if spec.Settings != nil {
		uf.Settings = spec.Settings
	}
	for _, m := range []struct{ dst, src *map[string]string }{
		{&uf.Labels.EditForm, &spec.Labels.EditForm}, {&uf.Labels.ListColumn, &spec.Labels.ListColumn},
		{&uf.Labels.ListFilter, &spec.Labels.ListFilter}, {&uf.Labels.ErrorMessage, &spec.Labels.ErrorMessage},
		{&uf.Labels.HelpMessage, &spec.Labels.HelpMessage},
	} {
		if *m.src != nil {
			*m.dst = *m.src
		}
	}
	return applyEnums(uf, spec.Enums)
}

// applyEnums applies list-item changes to uf.Enums. Items keep their ids; new ones get
// theirs when stored.
func applyEnums(uf *crm.UserField, changes []EnumChange) error {
	touched := map[string]bool{} // the codes of the items added or changed
	for _, ch := range changes {
		i := -1
		if ch.ID != 0 {
			for j, e := range uf.Enums {
				if e.ID == ch.ID {
					i = j
				}
			}
			if i < 0 {
				return invalid("Enum item %d does not belong to this field", ch.ID)
			}
			if ch.Delete {
				uf.Enums = append(uf.Enums[:i], uf.Enums[i+1:]...)
				continue
			}
		}
		e := field.EnumItem{Sort: 500}
		if i >= 0 {
			e = uf.Enums[i]
		}
		if ch.Value != nil {
			e.Value = *ch.Value
		}
		e.Value = strings.TrimSpace(e.Value)
		if e.Value == "" || utf8.RuneCountInString(e.Value) > 255 {
			return invalid("Each enum item needs a value of at most 255 characters")
		}
		if ch.Def != nil {
			e.Def = *ch.Def
		}
		if ch.Sort != nil {
			e.Sort = *ch.Sort
		}
		if ch.XMLID != nil {
			e.XMLID = *ch.XMLID
		}
		if e.XMLID == "" {
			e.XMLID = randomXMLID()
		}
		touched[e.XMLID] = true
		if i >= 0 {
			uf.Enums[i] = e
		} else {
			uf.Enums = append(uf.Enums, e)
		}
	}
	// Clients find list items by their external code (imports map codes to ids), so an
	// item added or changed never takes a code another item of the field has. Items the
	// call leaves alone are not checked: a field stored with a shared code stays editable.
	count := make(map[string]int, len(uf.Enums))
	for _, e := range uf.Enums {
		count[e.XMLID]++
	}
	for _, e := range uf.Enums {
		if touched[e.XMLID] && count[e.XMLID] > 1 {
			return invalid("List element with value XML_ID='%s' already exists", e.XMLID)
		}
	}
	return nil
}

// check verifies that the field's type builds from its settings (a REGEXP that does not
// compile is refused now, not at the first item) and returns its value type.
func check(uf *crm.UserField) (field.Type, error) {
	typ, _, err := field.BuildField(uf.Kind, uf.Settings, uf.Enums, uf.Multiple)
	if err != nil {
		return nil, invalid("Invalid settings: %v", err)
	}
	return typ, nil
}

// searchable reports whether a custom field's column gets a substring index (`%field`
// filters and the search box): a single text field the administrator marked searchable.
func searchable(uf *crm.UserField, typ field.Type) bool {
	return uf.IsSearchable && !uf.Multiple && typ.Storage() == field.StorageText
}

// indexed reports whether a custom field's column gets a filter index: when the
// administrator puts the field in the filter (showFilter other than N), lists are
// filtered by it, and an index makes a filtered page and its total cheap at any size.
// Fields kept out of the filter cost no index on every write. Multiple fields are JSON
// lists, which a plain index does not serve.
func indexed(uf *crm.UserField) bool { return uf.ShowFilter != "N" && !uf.Multiple }

// Update changes what may change: sort, mandatory, filter and list flags, xmlId,
// labels, settings and list items.
func (s *Service) Update(ctx context.Context, actor access.Actor, id int64, spec Spec) (*crm.UserField, error) {
	var out *crm.UserField
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) (err error) {
		out, err = UpdateIn(u, id, spec)
		return err
	})
	return out, err
}

// UpdateIn changes a custom field inside the unit.
func UpdateIn(u *crm.Unit, id int64, spec Spec) (*crm.UserField, error) {
	uf, err := lock(u, id)
	if err != nil {
		return nil, err
	}
	before := append([]field.EnumItem(nil), uf.Enums...)
	if err := apply(uf, spec); err != nil {
		return nil, err
	}
	typ, err := check(uf)
	if err != nil {
		return nil, err
	}
	if err := u.Tx().UpdateUserField(u.Ctx(), uf.Record()); err != nil {
		return nil, err
	}
	if err := u.Tx().SetUserFieldIndex(u.Ctx(), uf.EntityTypeID, uf.Column, indexed(uf)); err != nil {
		return nil, err
	}
	if err := u.Tx().SetUserFieldSearch(u.Ctx(), uf.EntityTypeID, uf.Column, searchable(uf, typ)); err != nil {
		return nil, err
	}
	enumsChanged, err := storeEnums(u, uf, before)
	if err != nil {
		return nil, err
	}
	u.RegistryChanged()
	if err := emitField(u, change.Updated, uf); err != nil {
		return nil, err
	}
	if enumsChanged {
		if err := emitField(u, change.EnumChanged, uf); err != nil {
			return nil, err
		}
	}
	return uf, nil
}

// storeEnums writes the differences between a field's list items before and now.
func storeEnums(u *crm.Unit, uf *crm.UserField, before []field.EnumItem) (bool, error) {
	kept := map[int64]bool{}
	changed := false
	old := map[int64]field.EnumItem{}
	for _, e := range before {
		old[e.ID] = e
	}
	for i := range uf.Enums {
		e := &uf.Enums[i]
		rec := store.EnumRecord{ID: e.ID, Value: e.Value, Def: e.Def, Sort: e.Sort, XMLID: e.XMLID}
		switch {
		case e.ID == 0:
			if err := u.Tx().InsertEnum(u.Ctx(), uf.ID, &rec); err != nil {
				return false, err
			}
			e.ID, changed = rec.ID, true
		case old[e.ID] != *e:
			if err := u.Tx().UpdateEnum(u.Ctx(), &rec); err != nil {
				return false, err
			}
			changed = true
		}
		kept[e.ID] = true
	}
	for _, e := range before {
		if !kept[e.ID] {
			if err := u.Tx().DeleteEnum(u.Ctx(), e.ID); err != nil {
				return false, err
			}
			changed = true
		}
	}
	return changed, nil
}

// Delete removes a custom field and its column, with the values it held.
func (s *Service) Delete(ctx context.Context, actor access.Actor, id int64) error {
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error { return DeleteIn(u, id) })
}

// DeleteIn removes a custom field inside the unit.
func DeleteIn(u *crm.Unit, id int64) error {
	uf, err := lock(u, id)
	if err != nil {
		return err
	}
	if err := u.Tx().DeleteUserField(u.Ctx(), uf.ID); err != nil {
		return err
	}
	if err := u.Tx().DropUserFieldColumn(u.Ctx(), uf.EntityTypeID, uf.Column); err != nil {
		return err
	}
	u.RegistryChanged()
	return emitField(u, change.Deleted, uf)
}

// emitField writes a field's change with what outlives the field: its name and the
// id of its type (Bitrix24's events name the field's entity by the type's id).
func emitField(u *crm.Unit, kind change.Kind, uf *crm.UserField) error {
	t, err := u.TypeOf(uf.EntityTypeID)
	if err != nil {
		return err
	}
	return u.Emit(change.Change{Entity: change.Field, Kind: kind, EntityTypeID: uf.EntityTypeID, ID: uf.ID,
		After: map[string]any{"name": uf.Name, "typeId": t.ID}})
}

// lock reads a custom field for change inside the unit, after the access step.
func lock(u *crm.Unit, id int64) (*crm.UserField, error) {
	rec, err := u.Tx().UserField(u.Ctx(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("You cannot change the settings of the user field: field %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := allow(u, rec.EntityTypeID); err != nil {
		return nil, err
	}
	return crm.UserFieldFromRecord(rec)
}

// Get reads a custom field by id.
func (s *Service) Get(ctx context.Context, actor access.Actor, id int64) (*crm.UserField, error) {
	rec, err := s.crm.Store().UserField(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, invalid("You are not allowed to view custom field settings: field %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.crm.Allow(actor, access.ActRead, access.Resource{EntityTypeID: rec.EntityTypeID, Kind: "field"}); err != nil {
		return nil, err
	}
	return crm.UserFieldFromRecord(rec)
}

// Filter narrows List; zero values match every field.
type Filter struct {
	ID           int64
	EntityTypeID int64
	Name         string
	Kind         string
	Multiple     *bool
	Mandatory    *bool
	// MinID and MaxID bound the ids (both inclusive) when not 0: clients that page by
	// id ask for the fields after the last one they saw.
	MinID, MaxID int64
	XMLID        *string
	Sort         *int64
	ShowFilter   *crm.ShowFilter
	ShowInList   *bool
	EditInList   *bool
	IsSearchable *bool
}

// matches reports whether a registry row passes the filter.
func (f Filter) matches(rec *store.UserFieldRecord) bool {
	flag := func(want *bool, got bool) bool { return want == nil || *want == got }
	xml := ""
	if rec.XMLID != nil {
		xml = *rec.XMLID
	}
	return (f.ID == 0 || rec.ID == f.ID) && (f.MinID == 0 || rec.ID >= f.MinID) && (f.MaxID == 0 || rec.ID <= f.MaxID) &&
		(f.Name == "" || rec.FieldName == f.Name) && (f.Kind == "" || rec.UserTypeID == f.Kind) &&
		flag(f.Multiple, rec.Multiple) && flag(f.Mandatory, rec.Mandatory) && flag(f.ShowInList, rec.ShowInList) &&
		flag(f.EditInList, rec.EditInList) && flag(f.IsSearchable, rec.IsSearchable) &&
		(f.XMLID == nil || *f.XMLID == xml) && (f.Sort == nil || *f.Sort == rec.Sort) &&
		(f.ShowFilter == nil || strings.EqualFold(string(*f.ShowFilter), rec.ShowFilter))
}

// List lists the custom fields of every type, or those the filter names.
func (s *Service) List(ctx context.Context, actor access.Actor, f Filter) ([]*crm.UserField, error) {
	if err := s.crm.Allow(actor, access.ActRead, access.Resource{EntityTypeID: f.EntityTypeID, Kind: "field"}); err != nil {
		return nil, err
	}
	recs, err := s.crm.Store().UserFields(ctx, f.EntityTypeID)
	if err != nil {
		return nil, err
	}
	var out []*crm.UserField
	for _, rec := range recs {
		if !f.matches(rec) {
			continue
		}
		if uf, err := crm.UserFieldFromRecord(rec); err == nil {
			out = append(out, uf)
		}
	}
	return out, nil
}

func randomXMLID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
