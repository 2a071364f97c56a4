package crm

import (
	"encoding/json"
	"fmt"
	"time"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// Type is a smart process: its settings, and what the domain derives from them (the
// field catalog, funnels and stages), cached together so an item call needs no
// registry query.
type Type struct {
	ID               int64
	EntityTypeID     int64
	Title            string
	Code             string
	CustomSectionID  *int64
	Flags            map[string]bool
	Relations        Relations
	LinkedUserFields map[string]bool
	CreatedBy        int64
	CreatedTime      time.Time
	UpdatedBy        int64
	UpdatedTime      time.Time

	fields       []*Field
	fieldIndex   map[string]*Field // by camel name, upper name and lower-case forms
	stored       []*Field          // fields with a column, id excepted
	categories   []*store.CategoryRecord
	stages       []*store.StageRecord
	requirements []store.StageRequirement
	userFields   []*store.UserFieldRecord
	parentTitles map[int64]string // titles of parent types, for parentId{N} fields
	std          *standardType    // the built-in definition of a lead, deal, contact or company
	// Derived from the catalog by setFields, for the write path.
	nameField     *Field   // the field that names an item (title, a contact's full name)
	timelineLinks []*Field // links to the items whose timelines show this item's events
}

// Relation links this type with another one (spec §3.1).
type Relation struct {
	EntityTypeID          int64 `json:"entityTypeId"`
	IsChildrenListEnabled bool  `json:"isChildrenListEnabled"`
	IsPredefined          bool  `json:"isPredefined"`
}

// Relations are the parent and child types of a type.
type Relations struct {
	Parent []Relation `json:"parent"`
	Child  []Relation `json:"child"`
}

// linked user field keys, in the order Bitrix24 lists them.
var linkedUserFieldKeys = []string{
	"CALENDAR_EVENT|UF_CRM_CAL_EVENT",
	"TASKS_TASK|UF_CRM_TASK",
	"TASKS_TASK_TEMPLATE|UF_CRM_TASK",
}

// Flag reports a Y/N setting by its wire name.
func (t *Type) Flag(name string) bool { return t.Flags[name] }

func typeFromRecord(r *store.TypeRecord) (*Type, error) {
	t := &Type{
		ID: r.ID, EntityTypeID: r.EntityTypeID, Title: r.Title, Code: r.Code,
		CustomSectionID: r.CustomSectionID, Flags: map[string]bool{},
		LinkedUserFields: map[string]bool{},
		CreatedBy:        r.CreatedBy, CreatedTime: r.CreatedTime, UpdatedBy: r.UpdatedBy, UpdatedTime: r.UpdatedTime,
	}
	for k, v := range r.Flags {
		t.Flags[k] = v == "Y"
	}
	// Relations come from the edge table (loadType), not from the type's own row.
	if r.LinkedUserFields != "" {
		if err := json.Unmarshal([]byte(r.LinkedUserFields), &t.LinkedUserFields); err != nil {
			return nil, fmt.Errorf("type %d linked user fields: %w", r.ID, err)
		}
	}
	return t, nil
}

func (t *Type) record() *store.TypeRecord {
	r := &store.TypeRecord{
		ID: t.ID, EntityTypeID: t.EntityTypeID, Title: t.Title, Code: t.Code,
		CustomSectionID: t.CustomSectionID, Flags: map[string]string{},
		CreatedBy: t.CreatedBy, CreatedTime: t.CreatedTime, UpdatedBy: t.UpdatedBy, UpdatedTime: t.UpdatedTime,
	}
	for _, f := range store.TypeFlags {
		r.Flags[f.Wire] = yn(t.Flags[f.Wire])
	}
	luf, _ := json.Marshal(t.LinkedUserFields)
	r.LinkedUserFields = string(luf)
	return r
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func wireTime(t time.Time) string { return t.In(time.Local).Format(field.WireTime) }

// Wire is the type as crm.type.get answers it. full adds what list rows leave out:
// relations, linked user fields and custom sections (spec §3.2).
func (t *Type) Wire(full bool) jsonx.Obj {
	o := jsonx.Obj{
		{K: "id", V: t.ID}, {K: "title", V: t.Title}, {K: "code", V: t.Code},
		{K: "createdBy", V: t.CreatedBy}, {K: "entityTypeId", V: t.EntityTypeID},
		{K: "customSectionId", V: t.CustomSectionID},
	}
	for _, f := range store.TypeFlags {
		o.Add(f.Wire, yn(t.Flags[f.Wire]))
	}
	o.Add("createdTime", wireTime(t.CreatedTime))
	o.Add("updatedTime", wireTime(t.UpdatedTime))
	o.Add("updatedBy", t.UpdatedBy)
	if !full {
		return o
	}
	relWire := func(list []Relation) []jsonx.Map {
		out := []jsonx.Map{}
		for _, r := range list {
			out = append(out, jsonx.Map{
				{K: "entityTypeId", V: r.EntityTypeID},
				{K: "isChildrenListEnabled", V: yn(r.IsChildrenListEnabled)},
				{K: "isPredefined", V: yn(r.IsPredefined)},
			})
		}
		return out
	}
	o.Add("relations", jsonx.Map{{K: "parent", V: relWire(t.Relations.Parent)}, {K: "child", V: relWire(t.Relations.Child)}})
	linked := jsonx.Map{}
	for _, k := range linkedUserFieldKeys {
		if v, ok := t.LinkedUserFields[k]; ok {
			linked = append(linked, jsonx.KV{K: k, V: yn(v)})
		}
	}
	o.Add("linkedUserFields", linked)
	o.Add("customSections", []any{})
	return o
}
