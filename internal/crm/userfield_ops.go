package crm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/store"
)

// ufNamePattern: what a custom field name may hold (spec §8.1).
var ufNamePattern = regexp.MustCompile(`^UF_CRM_[A-Z0-9_]+$`)

// maxUFNameLength bounds field names, as Bitrix24 does.
const maxUFNameLength = 50

var entityIDPattern = regexp.MustCompile(`^CRM_([0-9]{1,10})$`)

// ufErr is a userfieldconfig error: the family answers them all with an empty code.
func ufErr(format string, a ...any) error { return newErr(ErrInvalidArg, format, a...) }

// AddUserField creates a custom field: its registry row, its column and its list items,
// in one transaction.
func (s *Service) AddUserField(ctx context.Context, actor access.Actor, in *params.Object) (*store.UserFieldRecord, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	text := func(name string) string {
		v, _ := params.Lookup(in, name)
		str, _ := params.String(v)
		return strings.TrimSpace(str)
	}
	entityID, fieldName, userType := text("entityId"), text("fieldName"), text("userTypeId")
	if userType == "" {
		return nil, ufErr("The 'USER_TYPE_ID' field is not found")
	}
	if fieldName == "" {
		return nil, ufErr("The 'FIELD_NAME' field is not found")
	}
	// CRM_{type id} for a smart process, CRM_DEAL (…) for a standard type.
	typeID, byEntityType := int64(0), false
	if m := entityIDPattern.FindStringSubmatch(entityID); m != nil {
		typeID, _ = strconv.ParseInt(m[1], 10, 64)
	} else {
		for _, etid := range standardTypeIDs() {
			if entityID == "CRM_"+standardTypeDefs[etid].code {
				typeID, byEntityType = etid, true
			}
		}
		if typeID == 0 {
			return nil, ufErr("You cannot create custom fields for %q: custom fields belong to CRM_{typeId}, CRM_DEAL, CRM_CONTACT, CRM_COMPANY or CRM_LEAD", entityID)
		}
	}
	t, err := s.loadType(ctx, s.st, typeID, byEntityType)
	if err != nil {
		return nil, ufErr("You cannot create custom fields: smart process %d not found", typeID)
	}
	prefix := t.UFPrefix()
	switch {
	case !strings.HasPrefix(fieldName, prefix):
		return nil, ufErr("Incorrect field code: the name must start with %s", prefix)
	case utf8.RuneCountInString(fieldName) > maxUFNameLength:
		return nil, ufErr("Field name is too long: at most %d characters", maxUFNameLength)
	case !ufNamePattern.MatchString(fieldName):
		return nil, ufErr("Field name contains invalid characters: only A-Z, 0-9 and _ are allowed")
	}
	kind, ok := ufKinds[userType]
	if !ok {
		return nil, newErr(ErrUnknownType, "Invalid user type specified.")
	}
	rec := &store.UserFieldRecord{
		FieldName: fieldName, Column: strings.ToLower(fieldName), UserTypeID: userType,
		Sort: 100, ShowFilter: "N", ShowInList: true, EditInList: true,
	}
	settings := kind.defaults()
	if err := readUserFieldInput(rec, settings, in, true); err != nil {
		return nil, err
	}
	if rec.Multiple && userType == "boolean" {
		return nil, ufErr("A yes/no field cannot be multiple")
	}
	enums, err := readEnumInput(in, nil)
	if err != nil {
		return nil, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		t, err := s.loadType(ctx, tx, typeID, byEntityType)
		if err != nil {
			return ufErr("You cannot create custom fields: smart process %d not found", typeID)
		}
		rec.EntityTypeID = t.EntityTypeID
		if _, exists := t.FieldByName(fieldName); exists || t.fieldIndex[strings.ToLower(CamelUFName(fieldName))] != nil {
			return ufErr("The field %s for object %s already exists.", fieldName, entityID)
		}
		if err := finishUserField(rec, settings, enums.added); err != nil {
			return err
		}
		if err := tx.InsertUserField(ctx, rec); err != nil {
			if store.IsUniqueViolation(err) {
				return ufErr("The field %s for object %s already exists.", fieldName, entityID)
			}
			return err
		}
		if err := tx.AddUserFieldColumn(ctx, t.EntityTypeID, rec.Column, storageOf(rec, settings)); err != nil {
			return err
		}
		if err := tx.SetUserFieldIndex(ctx, t.EntityTypeID, rec.Column, indexed(rec)); err != nil {
			return err
		}
		for i := range enums.added {
			if err := tx.InsertEnum(ctx, rec.ID, &enums.added[i]); err != nil {
				return err
			}
		}
		rec.Enums = enums.added
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.forgetTypes()
	return rec, nil
}

// UpdateUserField changes what may change: sort, mandatory, filter/list flags, xmlId,
// labels and settings (replaced wholesale, spec §8.1) and list items.
func (s *Service) UpdateUserField(ctx context.Context, actor access.Actor, id int64, in *params.Object) (*store.UserFieldRecord, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var out *store.UserFieldRecord
	err := s.changeUserField(ctx, id, func(tx *store.Tx, rec *store.UserFieldRecord) error {
		kind := ufKinds[rec.UserTypeID]
		settings := map[string]any{}
		_ = json.Unmarshal([]byte(rec.Settings), &settings)
		if _, given := params.Lookup(in, "settings"); given {
			settings = kind.defaults()
		}
		if err := readUserFieldInput(rec, settings, in, false); err != nil {
			return err
		}
		enums, err := readEnumInput(in, rec.Enums)
		if err != nil {
			return err
		}
		if err := finishUserField(rec, settings, append(keptEnums(rec.Enums, enums), enums.added...)); err != nil {
			return err
		}
		if err := tx.UpdateUserField(ctx, rec); err != nil {
			return err
		}
		if err := tx.SetUserFieldIndex(ctx, rec.EntityTypeID, rec.Column, indexed(rec)); err != nil {
			return err
		}
		for _, id := range enums.deleted {
			if err := tx.DeleteEnum(ctx, id); err != nil {
				return err
			}
		}
		for _, e := range enums.changed {
			if err := tx.UpdateEnum(ctx, &e); err != nil {
				return err
			}
		}
		for i := range enums.added {
			if err := tx.InsertEnum(ctx, rec.ID, &enums.added[i]); err != nil {
				return err
			}
		}
		out = rec
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetUserField(ctx, out.ID)
}

// indexed reports whether a custom field's column gets a filter index: when the
// administrator puts the field in the filter (showFilter other than N), lists are filtered
// by it, and an index makes a filtered page and its total cheap at any size. Fields kept
// out of the filter cost no index on every write. Multiple fields are JSON lists, which
// a plain index does not serve.
func indexed(rec *store.UserFieldRecord) bool { return rec.ShowFilter != "N" && !rec.Multiple }

// DeleteUserField removes a custom field and its column, with the values it held.
func (s *Service) DeleteUserField(ctx context.Context, actor access.Actor, id int64) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.changeUserField(ctx, id, func(tx *store.Tx, rec *store.UserFieldRecord) error {
		if err := tx.DeleteUserField(ctx, rec.ID); err != nil {
			return err
		}
		return tx.DropUserFieldColumn(ctx, rec.EntityTypeID, rec.Column)
	})
}

// GetUserField reads a custom field by id.
func (s *Service) GetUserField(ctx context.Context, id int64) (*store.UserFieldRecord, error) {
	f, err := s.st.UserField(ctx, id)
	if isNotFound(err) {
		return nil, ufErr("You are not allowed to view custom field settings: field %d not found", id)
	}
	return f, err
}

// ListUserFields lists custom fields, in their wire form, matching equality filters on
// the wire names (entityId, fieldName, userTypeId, …).
func (s *Service) ListUserFields(ctx context.Context, filter *params.Object) ([]jsonx.Map, error) {
	all, err := s.st.UserFields(ctx, 0)
	if err != nil {
		return nil, err
	}
	var out []jsonx.Map
	for _, f := range all {
		wire := s.UserFieldWire(ctx, f)
		keep := true
		for _, k := range filter.Keys() {
			want, _ := filter.Get(k)
			ws, _ := params.String(want)
			got, ok := wire.Get(k)
			if !ok {
				return nil, ufErr("Invalid filter: field '%s' is not allowed in filter", k)
			}
			if gs, _ := params.String(got); gs != ws {
				keep = false
			}
		}
		if keep {
			out = append(out, wire)
		}
	}
	return out, nil
}

func (s *Service) changeUserField(ctx context.Context, id int64, fn func(tx *store.Tx, rec *store.UserFieldRecord) error) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		f, err := tx.UserField(ctx, id)
		if isNotFound(err) {
			return ufErr("You cannot change the settings of the user field: field %d not found", id)
		}
		if err != nil {
			return err
		}
		return fn(tx, f)
	})
	if err == nil {
		s.forgetTypes()
	}
	return err
}

// readUserFieldInput reads the changeable keys of a userfieldconfig field object.
// entityId, fieldName, userTypeId and multiple are fixed after add and ignored on update.
func readUserFieldInput(rec *store.UserFieldRecord, settings map[string]any, in *params.Object, adding bool) error {
	var labels ufLabels
	if rec.Labels != "" {
		_ = json.Unmarshal([]byte(rec.Labels), &labels)
	}
	flag := func(v any, name string) (bool, error) {
		b, ok := params.Bool(v)
		if !ok {
			return false, ufErr("%s must be Y or N", name)
		}
		return b, nil
	}
	var err error
	for _, key := range in.Keys() {
		v, _ := in.Get(key)
		switch key {
		case "sort":
			n, ok := params.Int(v)
			if !ok {
				return ufErr("sort must be an integer")
			}
			rec.Sort = n
		case "multiple":
			if adding {
				rec.Multiple, err = flag(v, key)
			}
		case "mandatory":
			rec.Mandatory, err = flag(v, key)
		case "showInList":
			rec.ShowInList, err = flag(v, key)
		case "editInList":
			rec.EditInList, err = flag(v, key)
		case "isSearchable":
			rec.IsSearchable, err = flag(v, key)
		case "showFilter":
			sf, _ := params.String(v)
			switch strings.ToUpper(sf) {
			case "N", "I", "E", "S":
				rec.ShowFilter = strings.ToUpper(sf)
			default:
				return ufErr("showFilter must be N, I, E or S")
			}
		case "xmlId":
			if x, ok := params.String(v); ok && x != "" {
				rec.XMLID = &x
			}
		case "settings":
			obj, isObj := v.(*params.Object)
			if !isObj && !params.IsEmptyContainer(v) {
				return ufErr("settings must be an object")
			}
			var raw map[string]any
			b, _ := json.Marshal(obj)
			_ = json.Unmarshal(b, &raw)
			for k, val := range raw {
				settings[strings.ToUpper(k)] = val
			}
		case "editFormLabel", "listColumnLabel", "listFilterLabel", "errorMessage", "helpMessage":
			m, err := langMap(v, key)
			if err != nil {
				return err
			}
			switch key {
			case "editFormLabel":
				labels.EditFormLabel = m
			case "listColumnLabel":
				labels.ListColumnLabel = m
			case "listFilterLabel":
				labels.ListFilterLabel = m
			case "errorMessage":
				labels.ErrorMessage = m
			case "helpMessage":
				labels.HelpMessage = m
			}
		}
		if err != nil {
			return err
		}
	}
	b, _ := json.Marshal(labels)
	rec.Labels = string(b)
	return nil
}

// langMap reads a label: a {lang: text} map, or one text for English.
func langMap(v any, name string) (map[string]string, error) {
	if s, ok := v.(string); ok {
		return map[string]string{"en": s}, nil
	}
	obj, ok := v.(*params.Object)
	if !ok {
		return nil, ufErr("%s must be a text or a map of languages to texts", name)
	}
	out := map[string]string{}
	for _, lang := range obj.Keys() {
		val, _ := obj.Get(lang)
		s, ok := params.String(val)
		if !ok || len(lang) > 8 {
			return nil, ufErr("%s[%s] must be a text", name, lang)
		}
		out[lang] = s
	}
	return out, nil
}

// enumChanges are the list-item changes of an add or update.
type enumChanges struct {
	added   []store.EnumRecord
	changed []store.EnumRecord
	deleted []int64
}

// readEnumInput reads `enum`: items without id are added; with an id of this field's
// items they are changed, or deleted with del=Y; ids of other fields are refused.
func readEnumInput(in *params.Object, current []store.EnumRecord) (enumChanges, error) {
	var ch enumChanges
	raw, ok := params.Lookup(in, "enum")
	if !ok || raw == nil || params.IsEmptyContainer(raw) {
		return ch, nil
	}
	_, items, isList := params.Entries(raw)
	if !isList {
		return ch, ufErr("enum must be a list of items")
	}
	byID := map[int64]store.EnumRecord{}
	for _, e := range current {
		byID[e.ID] = e
	}
	for _, it := range items {
		obj, isObj := it.(*params.Object)
		if !isObj {
			return ch, ufErr("each enum item must be an object")
		}
		get := func(k string) any { v, _ := params.Lookup(obj, k); return v }
		e := store.EnumRecord{Sort: 500}
		if idv := get("id"); idv != nil && idv != "" {
			id, ok := params.Int(idv)
			cur, mine := byID[id]
			if !ok || !mine {
				return ch, ufErr("Enum item %v does not belong to this field", idv)
			}
			if del, _ := params.Bool(get("del")); del {
				ch.deleted = append(ch.deleted, id)
				continue
			}
			e = cur
		}
		if v := get("value"); v != nil {
			e.Value, _ = params.String(v)
		}
		e.Value = strings.TrimSpace(e.Value)
		if e.Value == "" || utf8.RuneCountInString(e.Value) > 255 {
			return ch, ufErr("Each enum item needs a value of at most 255 characters")
		}
		if v := get("def"); v != nil {
			e.Def, _ = params.Bool(v)
		}
		if v := get("sort"); v != nil {
			if n, ok := params.Int(v); ok {
				e.Sort = n
			}
		}
		if v := get("xmlId"); v != nil {
			e.XMLID, _ = params.String(v)
		}
		if e.XMLID == "" {
			e.XMLID = randomXMLID()
		}
		if e.ID != 0 {
			ch.changed = append(ch.changed, e)
		} else {
			ch.added = append(ch.added, e)
		}
	}
	return ch, nil
}

// keptEnums are the current items an update keeps, with its changes applied.
func keptEnums(current []store.EnumRecord, ch enumChanges) []store.EnumRecord {
	gone := map[int64]bool{}
	for _, id := range ch.deleted {
		gone[id] = true
	}
	changed := map[int64]store.EnumRecord{}
	for _, e := range ch.changed {
		changed[e.ID] = e
	}
	var out []store.EnumRecord
	for _, e := range current {
		if gone[e.ID] {
			continue
		}
		if c, ok := changed[e.ID]; ok {
			e = c
		}
		out = append(out, e)
	}
	return out
}

// finishUserField stores the settings and checks that the field's type can be built
// from them (a REGEXP that does not compile is refused now, not at the first item).
func finishUserField(rec *store.UserFieldRecord, settings map[string]any, enums []store.EnumRecord) error {
	b, _ := json.Marshal(settings)
	rec.Settings = string(b)
	check := *rec
	check.Enums = enums
	if _, err := ufKinds[rec.UserTypeID].build(&check, settings); err != nil {
		return ufErr("Invalid settings: %v", err)
	}
	return nil
}

// storageOf is how a custom field's values are stored (finishUserField has checked
// that its type builds): multiple values as a JSON array.
func storageOf(rec *store.UserFieldRecord, settings map[string]any) field.Storage {
	if rec.Multiple {
		return field.StorageJSON
	}
	t, _ := ufKinds[rec.UserTypeID].build(rec, settings)
	return t.Storage()
}

func randomXMLID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// UserFieldWire is a custom field as userfieldconfig.get answers it: every scalar a
// string (spec §8.1).
func (s *Service) UserFieldWire(ctx context.Context, f *store.UserFieldRecord) jsonx.Map {
	entityID := ""
	if t, err := s.typeByEntityTypeID(ctx, f.EntityTypeID); err == nil {
		entityID = t.UFEntityID()
	}
	var labels ufLabels
	_ = json.Unmarshal([]byte(f.Labels), &labels)
	settings := map[string]any{}
	_ = json.Unmarshal([]byte(f.Settings), &settings)
	settingsWire := jsonx.Map{}
	for _, k := range sortedKeys(settings) {
		settingsWire = append(settingsWire, jsonx.KV{K: k, V: settings[k]})
	}
	langs := map[string]bool{}
	for _, m := range []map[string]string{labels.EditFormLabel, labels.ListColumnLabel, labels.ListFilterLabel, labels.ErrorMessage, labels.HelpMessage} {
		for l := range m {
			langs[l] = true
		}
	}
	langList := make([]string, 0, len(langs))
	for l := range langs {
		langList = append(langList, l)
	}
	sort.Strings(langList)
	langMapWire := func(m map[string]string) jsonx.Map {
		out := jsonx.Map{}
		for _, l := range langList {
			var v any
			if s, ok := m[l]; ok {
				v = s
			}
			out = append(out, jsonx.KV{K: l, V: v})
		}
		return out
	}
	languageID := jsonx.Map{}
	for _, l := range langList {
		languageID = append(languageID, jsonx.KV{K: l, V: l})
	}
	var xml any
	if f.XMLID != nil {
		xml = *f.XMLID
	}
	id := strconv.FormatInt(f.ID, 10)
	out := jsonx.Map{
		{K: "id", V: id}, {K: "entityId", V: entityID}, {K: "fieldName", V: f.FieldName},
		{K: "userTypeId", V: f.UserTypeID}, {K: "xmlId", V: xml}, {K: "sort", V: strconv.FormatInt(f.Sort, 10)},
		{K: "multiple", V: yn(f.Multiple)}, {K: "mandatory", V: yn(f.Mandatory)}, {K: "showFilter", V: f.ShowFilter},
		{K: "showInList", V: yn(f.ShowInList)}, {K: "editInList", V: yn(f.EditInList)}, {K: "isSearchable", V: yn(f.IsSearchable)},
		{K: "settings", V: settingsWire}, {K: "languageId", V: languageID},
		{K: "editFormLabel", V: langMapWire(labels.EditFormLabel)}, {K: "listColumnLabel", V: langMapWire(labels.ListColumnLabel)},
		{K: "listFilterLabel", V: langMapWire(labels.ListFilterLabel)}, {K: "errorMessage", V: langMapWire(labels.ErrorMessage)},
		{K: "helpMessage", V: langMapWire(labels.HelpMessage)},
	}
	if f.UserTypeID == "enumeration" {
		items := []jsonx.Map{}
		for _, e := range f.Enums {
			items = append(items, jsonx.Map{
				{K: "id", V: strconv.FormatInt(e.ID, 10)}, {K: "userFieldId", V: id}, {K: "value", V: e.Value},
				{K: "def", V: yn(e.Def)}, {K: "sort", V: strconv.FormatInt(e.Sort, 10)}, {K: "xmlId", V: e.XMLID},
			})
		}
		out = append(out, jsonx.KV{K: "enum", V: items})
	}
	return out
}
