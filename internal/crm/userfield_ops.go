package crm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
)

// UserFieldSpec is what a caller sets on a custom field. On update nil leaves a value as
// it is; Name, Kind and Multiple are fixed once the field exists.
type UserFieldSpec struct {
	Name     string // UF_CRM_{typeId}_{NAME}, or UF_CRM_{NAME} on the built-in types
	Kind     string // a field.Kind id
	Multiple bool

	Sort         *int64
	Mandatory    *bool
	ShowFilter   *ShowFilter
	ShowInList   *bool
	EditInList   *bool
	IsSearchable *bool
	XMLID        *string
	// Settings replace the current ones as a whole (read them with field.ReadSettings
	// onto the kind's NewSettings).
	Settings field.Settings
	// Labels replace the given label maps, each as a whole; nil maps are left as they are.
	Labels Labels
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

// ufNamePattern: what a custom field name may hold (spec §8.1).
var ufNamePattern = regexp.MustCompile(`^UF_CRM_[A-Z0-9_]+$`)

// maxUFNameLength bounds field names, as Bitrix24 does.
const maxUFNameLength = 50

// ufErr is a custom-field error; the protocol answers them with one code.
func ufErr(format string, a ...any) error { return newErr(ErrInvalidArg, format, a...) }

// AddUserField creates a custom field of type etid: its registry row, its column and its
// list items, in one transaction.
func (s *Service) AddUserField(ctx context.Context, actor access.Actor, etid int64, spec UserFieldSpec) (*UserField, error) {
	var out *UserField
	err := s.Run(ctx, actor, func(u *Unit) (err error) {
		out, err = u.AddUserField(etid, spec)
		return err
	})
	return out, err
}

// AddUserField creates a custom field inside the unit.
func (u *Unit) AddUserField(etid int64, spec UserFieldSpec) (*UserField, error) {
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "field"}); err != nil {
		return nil, err
	}
	t, err := u.typeOf(etid)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(spec.Name)
	kind, ok := field.KindByID(spec.Kind)
	switch prefix := t.UFPrefix(); {
	case spec.Kind == "":
		return nil, &Error{Kind: ErrRequired, Field: "userTypeId", Msg: "The 'USER_TYPE_ID' field is not found"}
	case name == "":
		return nil, &Error{Kind: ErrRequired, Field: "fieldName", Msg: "The 'FIELD_NAME' field is not found"}
	case !strings.HasPrefix(name, prefix):
		return nil, ufErr("Incorrect field code: the name must start with %s", prefix)
	case utf8.RuneCountInString(name) > maxUFNameLength:
		return nil, ufErr("Field name is too long: at most %d characters", maxUFNameLength)
	case !ufNamePattern.MatchString(name):
		return nil, ufErr("Field name contains invalid characters: only A-Z, 0-9 and _ are allowed")
	case !ok:
		return nil, newErr(ErrUnknownType, "Invalid user type specified.")
	case spec.Multiple && spec.Kind == "boolean":
		return nil, ufErr("A yes/no field cannot be multiple")
	}
	if _, exists := t.FieldByName(name); exists || t.fieldIndex[strings.ToLower(CamelUFName(name))] != nil {
		return nil, ufErr("The field %s for object %s already exists.", name, t.UFEntityID())
	}
	uf := &UserField{
		EntityTypeID: t.EntityTypeID, Name: name, Column: strings.ToLower(name), Kind: spec.Kind, Multiple: spec.Multiple,
		Sort: 100, ShowFilter: "N", ShowInList: true, EditInList: true, Settings: kind.NewSettings(),
	}
	if err := uf.apply(spec); err != nil {
		return nil, err
	}
	if _, err := uf.check(); err != nil {
		return nil, err
	}
	rec := uf.record()
	if err := u.tx.InsertUserField(u.ctx, rec); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, ufErr("The field %s for object %s already exists.", name, t.UFEntityID())
		}
		return nil, err
	}
	uf.ID = rec.ID
	storage := field.StorageJSON
	if !uf.Multiple {
		typ, _ := kind.Build(uf.Settings, uf.Enums)
		storage = typ.Storage()
	}
	if err := u.tx.AddUserFieldColumn(u.ctx, t.EntityTypeID, uf.Column, storage); err != nil {
		return nil, err
	}
	if err := u.tx.SetUserFieldIndex(u.ctx, t.EntityTypeID, uf.Column, uf.indexed()); err != nil {
		return nil, err
	}
	for i := range uf.Enums {
		e := &rec.Enums[i]
		if err := u.tx.InsertEnum(u.ctx, uf.ID, e); err != nil {
			return nil, err
		}
		uf.Enums[i].ID = e.ID
	}
	u.registryChange()
	return uf, u.Emit(Change{Entity: EntityField, Kind: Added, EntityTypeID: t.EntityTypeID, ID: uf.ID})
}

// apply sets what the spec gives on the field. Enum changes against the field's items
// are validated here; ids of other fields' items are refused.
func (uf *UserField) apply(spec UserFieldSpec) error {
	if spec.Sort != nil {
		uf.Sort = *spec.Sort
	}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&uf.Mandatory, spec.Mandatory)
	set(&uf.ShowInList, spec.ShowInList)
	set(&uf.EditInList, spec.EditInList)
	set(&uf.IsSearchable, spec.IsSearchable)
	if spec.ShowFilter != nil {
		switch sf := ShowFilter(strings.ToUpper(string(*spec.ShowFilter))); sf {
		case "N", "I", "E", "S":
			uf.ShowFilter = sf
		default:
			return ufErr("showFilter must be N, I, E or S")
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
	return uf.applyEnums(spec.Enums)
}

// applyEnums applies list-item changes to uf.Enums. Items keep their ids; new ones get
// theirs when stored.
func (uf *UserField) applyEnums(changes []EnumChange) error {
	for _, ch := range changes {
		i := -1
		if ch.ID != 0 {
			for j, e := range uf.Enums {
				if e.ID == ch.ID {
					i = j
				}
			}
			if i < 0 {
				return ufErr("Enum item %d does not belong to this field", ch.ID)
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
			return ufErr("Each enum item needs a value of at most 255 characters")
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
		if i >= 0 {
			uf.Enums[i] = e
		} else {
			uf.Enums = append(uf.Enums, e)
		}
	}
	return nil
}

// check verifies that the field's type builds from its settings (a REGEXP that does not
// compile is refused now, not at the first item).
func (uf *UserField) check() (field.Type, error) {
	typ, _, err := field.BuildField(uf.Kind, uf.Settings, uf.Enums, uf.Multiple)
	if err != nil {
		return nil, ufErr("Invalid settings: %v", err)
	}
	return typ, nil
}

// indexed reports whether a custom field's column gets a filter index: when the
// administrator puts the field in the filter (showFilter other than N), lists are
// filtered by it, and an index makes a filtered page and its total cheap at any size.
// Fields kept out of the filter cost no index on every write. Multiple fields are JSON
// lists, which a plain index does not serve.
func (uf *UserField) indexed() bool { return uf.ShowFilter != "N" && !uf.Multiple }

// UpdateUserField changes what may change: sort, mandatory, filter and list flags,
// xmlId, labels, settings and list items.
func (s *Service) UpdateUserField(ctx context.Context, actor access.Actor, id int64, spec UserFieldSpec) (*UserField, error) {
	var out *UserField
	err := s.Run(ctx, actor, func(u *Unit) (err error) {
		out, err = u.UpdateUserField(id, spec)
		return err
	})
	return out, err
}

// UpdateUserField changes a custom field inside the unit.
func (u *Unit) UpdateUserField(id int64, spec UserFieldSpec) (*UserField, error) {
	uf, err := u.lockUserField(id, "You cannot change the settings of the user field: field %d not found")
	if err != nil {
		return nil, err
	}
	before := append([]field.EnumItem(nil), uf.Enums...)
	if err := uf.apply(spec); err != nil {
		return nil, err
	}
	if _, err := uf.check(); err != nil {
		return nil, err
	}
	rec := uf.record()
	if err := u.tx.UpdateUserField(u.ctx, rec); err != nil {
		return nil, err
	}
	if err := u.tx.SetUserFieldIndex(u.ctx, uf.EntityTypeID, uf.Column, uf.indexed()); err != nil {
		return nil, err
	}
	enumsChanged, err := u.storeEnums(uf, before)
	if err != nil {
		return nil, err
	}
	u.registryChange()
	if err := u.Emit(Change{Entity: EntityField, Kind: Updated, EntityTypeID: uf.EntityTypeID, ID: uf.ID}); err != nil {
		return nil, err
	}
	if enumsChanged {
		if err := u.Emit(Change{Entity: EntityField, Kind: EnumChanged, EntityTypeID: uf.EntityTypeID, ID: uf.ID}); err != nil {
			return nil, err
		}
	}
	return uf, nil
}

// storeEnums writes the differences between a field's list items before and now.
func (u *Unit) storeEnums(uf *UserField, before []field.EnumItem) (bool, error) {
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
			if err := u.tx.InsertEnum(u.ctx, uf.ID, &rec); err != nil {
				return false, err
			}
			e.ID, changed = rec.ID, true
		case old[e.ID] != *e:
			if err := u.tx.UpdateEnum(u.ctx, &rec); err != nil {
				return false, err
			}
			changed = true
		}
		kept[e.ID] = true
	}
	for _, e := range before {
		if !kept[e.ID] {
			if err := u.tx.DeleteEnum(u.ctx, e.ID); err != nil {
				return false, err
			}
			changed = true
		}
	}
	return changed, nil
}

// DeleteUserField removes a custom field and its column, with the values it held.
func (s *Service) DeleteUserField(ctx context.Context, actor access.Actor, id int64) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.DeleteUserField(id) })
}

// DeleteUserField removes a custom field inside the unit.
func (u *Unit) DeleteUserField(id int64) error {
	uf, err := u.lockUserField(id, "You cannot change the settings of the user field: field %d not found")
	if err != nil {
		return err
	}
	if err := u.tx.DeleteUserField(u.ctx, uf.ID); err != nil {
		return err
	}
	if err := u.tx.DropUserFieldColumn(u.ctx, uf.EntityTypeID, uf.Column); err != nil {
		return err
	}
	u.registryChange()
	return u.Emit(Change{Entity: EntityField, Kind: Deleted, EntityTypeID: uf.EntityTypeID, ID: uf.ID})
}

// lockUserField reads a custom field for change, after the access step.
func (u *Unit) lockUserField(id int64, missing string) (*UserField, error) {
	rec, err := u.tx.UserField(u.ctx, id)
	if isNotFound(err) {
		return nil, ufErr(missing, id)
	}
	if err != nil {
		return nil, err
	}
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: rec.EntityTypeID, Kind: "field"}); err != nil {
		return nil, err
	}
	return userFieldFromRecord(rec)
}

// GetUserField reads a custom field by id.
func (s *Service) GetUserField(ctx context.Context, actor access.Actor, id int64) (*UserField, error) {
	rec, err := s.st.UserField(ctx, id)
	if isNotFound(err) {
		return nil, ufErr("You are not allowed to view custom field settings: field %d not found", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.allow(actor, access.ActRead, access.Resource{EntityTypeID: rec.EntityTypeID, Kind: "field"}); err != nil {
		return nil, err
	}
	return userFieldFromRecord(rec)
}

// UserFieldFilter narrows ListUserFields; zero values match every field.
type UserFieldFilter struct {
	ID           int64
	EntityTypeID int64
	Name         string
	Kind         string
	Multiple     *bool
	Mandatory    *bool
}

// ListUserFields lists the custom fields of every type, or those the filter names.
func (s *Service) ListUserFields(ctx context.Context, actor access.Actor, f UserFieldFilter) ([]*UserField, error) {
	if err := s.allow(actor, access.ActRead, access.Resource{EntityTypeID: f.EntityTypeID, Kind: "field"}); err != nil {
		return nil, err
	}
	recs, err := s.st.UserFields(ctx, f.EntityTypeID)
	if err != nil {
		return nil, err
	}
	var out []*UserField
	for _, rec := range recs {
		if (f.ID != 0 && rec.ID != f.ID) || (f.Name != "" && rec.FieldName != f.Name) || (f.Kind != "" && rec.UserTypeID != f.Kind) ||
			(f.Multiple != nil && rec.Multiple != *f.Multiple) || (f.Mandatory != nil && rec.Mandatory != *f.Mandatory) {
			continue
		}
		uf, err := userFieldFromRecord(rec)
		if err != nil {
			continue
		}
		out = append(out, uf)
	}
	return out, nil
}

func randomXMLID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sortStrings(s []string) { sort.Strings(s) }
