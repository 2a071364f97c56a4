package crm

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"smartcrm/internal/store"
)

// Type is a smart process or a built-in type: its settings, and what the domain
// derives from them (the field catalog, funnels and stages), loaded together so that an
// item call needs no registry query. A Type is a snapshot: a change to the registry
// builds new ones, so callers may keep derived views of one (Memo).
type Type struct {
	ID               int64
	EntityTypeID     int64
	Title            string
	Code             string
	CustomSectionID  *int64
	Flags            Flags
	Relations        Relations
	LinkedUserFields map[string]bool
	CreatedBy        int64
	CreatedTime      time.Time
	UpdatedBy        int64
	UpdatedTime      time.Time

	fields       []*Field
	fieldIndex   map[string]*Field // by lower-case name (and a custom field's registry name)
	stored       []*Field          // fields with a column, id excepted
	categories   []*Category
	stages       []*Stage
	requirements []store.StageRequirement
	userFields   []*UserField
	parentTitles map[int64]string // titles of parent types, for parentId{N} fields
	std          *standardType    // the built-in definition of a lead, deal, contact or company
	// Derived from the catalog by setFields, for the write path.
	nameField     *Field   // the field that names an item (title, a contact's full name)
	timelineLinks []*Field // links to the items whose timelines show this item's events
	memo          sync.Map
}

// Memo returns the value build makes for key, building it once per type snapshot. The
// protocol layers keep their views of a type here (name indexes, field descriptions),
// so they are built once per registry change, not per call.
func (t *Type) Memo(key any, build func() any) any {
	if v, ok := t.memo.Load(key); ok {
		return v
	}
	v, _ := t.memo.LoadOrStore(key, build())
	return v
}

// Flag is a setting of a type that switches a part of it on, named as the type's
// settings name it (isStagesEnabled…).
type Flag string

// Flags are a type's settings, on or off.
type Flags map[Flag]bool

// The settings of a type (spec §3.1).
const (
	FlagCategories         Flag = "isCategoriesEnabled"
	FlagStages             Flag = "isStagesEnabled"
	FlagBeginCloseDates    Flag = "isBeginCloseDatesEnabled"
	FlagClient             Flag = "isClientEnabled"
	FlagUseInUserfield     Flag = "isUseInUserfieldEnabled"
	FlagLinkWithProducts   Flag = "isLinkWithProductsEnabled"
	FlagMycompany          Flag = "isMycompanyEnabled"
	FlagDocuments          Flag = "isDocumentsEnabled"
	FlagSource             Flag = "isSourceEnabled"
	FlagObservers          Flag = "isObserversEnabled"
	FlagRecyclebin         Flag = "isRecyclebinEnabled"
	FlagAutomation         Flag = "isAutomationEnabled"
	FlagBizProc            Flag = "isBizProcEnabled"
	FlagSetOpenPermissions Flag = "isSetOpenPermissions"
	FlagPayments           Flag = "isPaymentsEnabled"
	FlagCounters           Flag = "isCountersEnabled"
)

// AllFlags lists every setting in the order types list them.
func AllFlags() []Flag {
	out := make([]Flag, len(store.TypeFlags))
	for i, f := range store.TypeFlags {
		out[i] = Flag(f.Wire)
	}
	return out
}

// Settable reports whether a caller may set the flag: payments and counters are shown
// but follow from other parts of the CRM.
func (f Flag) Settable() bool {
	if f == FlagPayments || f == FlagCounters {
		return false
	}
	for _, known := range store.TypeFlags {
		if Flag(known.Wire) == f {
			return true
		}
	}
	return false
}

// defaultFlags are the settings of a new type.
func defaultFlags() Flags {
	out := Flags{}
	for _, f := range store.TypeFlags {
		out[Flag(f.Wire)] = f.Default == "Y"
	}
	return out
}

// Flag reports whether a setting is on.
func (t *Type) Flag(f Flag) bool { return t.Flags[f] }

// Relation links this type with another one (spec §3.1).
type Relation struct {
	EntityTypeID          int64
	IsChildrenListEnabled bool
	// IsPredefined marks contacts and companies as parents of a client-enabled type:
	// derived from the flag, never stored.
	IsPredefined bool
}

// Relations are the parent and child types of a type.
type Relations struct {
	Parent []Relation
	Child  []Relation
}

// LinkedUserFieldKeys are the links to other modules a type may switch on, in the
// order they are listed.
var LinkedUserFieldKeys = []string{
	"CALENDAR_EVENT|UF_CRM_CAL_EVENT",
	"TASKS_TASK|UF_CRM_TASK",
	"TASKS_TASK_TEMPLATE|UF_CRM_TASK",
}

func typeFromRecord(r *store.TypeRecord) (*Type, error) {
	t := &Type{
		ID: r.ID, EntityTypeID: r.EntityTypeID, Title: r.Title, Code: r.Code,
		CustomSectionID: r.CustomSectionID, Flags: Flags{}, LinkedUserFields: map[string]bool{},
		CreatedBy: r.CreatedBy, CreatedTime: r.CreatedTime, UpdatedBy: r.UpdatedBy, UpdatedTime: r.UpdatedTime,
	}
	for k, v := range r.Flags {
		t.Flags[Flag(k)] = v == "Y"
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
		r.Flags[f.Wire] = yn(t.Flags[Flag(f.Wire)])
	}
	luf, _ := json.Marshal(t.LinkedUserFields)
	r.LinkedUserFields = string(luf)
	return r
}

// yn is how the registry stores a boolean.
func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

// Category is a funnel of a type.
type Category struct {
	ID           int64
	EntityTypeID int64
	Name         string
	Sort         int64
	IsDefault    bool
	IsSystem     bool
	Code         string
}

func categoryFromRecord(r *store.CategoryRecord) *Category {
	return &Category{ID: r.ID, EntityTypeID: r.EntityTypeID, Name: r.Name, Sort: r.Sort, IsDefault: r.IsDefault, IsSystem: r.IsSystem, Code: r.Code}
}

func (c *Category) record() *store.CategoryRecord {
	return &store.CategoryRecord{ID: c.ID, EntityTypeID: c.EntityTypeID, Name: c.Name, Sort: c.Sort, IsDefault: c.IsDefault, IsSystem: c.IsSystem, Code: c.Code}
}

// Stage is a stage of a funnel.
type Stage struct {
	ID         int64
	Directory  string // the funnel's stage directory: DYNAMIC_{etid}_STAGE_{cat}, DEAL_STAGE…
	StatusID   string // DT{etid}_{cat}:CODE
	Name       string
	NameInit   string // the name it was created with
	Sort       int64
	System     bool
	CategoryID int64
	Color      string
	Semantics  Semantics
}

// Semantics is what reaching a stage means: still in progress, success or failure.
type Semantics string

// Stage semantics. Storage and the stage history spell in-progress as "" and "P".
const (
	InProgress Semantics = "P"
	Success    Semantics = "S"
	Failure    Semantics = "F"
)

func stageFromRecord(r *store.StageRecord) *Stage {
	sem := Semantics(r.Semantics)
	if sem == "" {
		sem = InProgress
	}
	return &Stage{ID: r.ID, Directory: r.EntityID, StatusID: r.StatusID, Name: r.Name, NameInit: r.NameInit, Sort: r.Sort,
		System: r.System, CategoryID: r.CategoryID, Color: r.Color, Semantics: sem}
}

func (s *Stage) record() *store.StageRecord {
	sem := string(s.Semantics)
	if s.Semantics == InProgress {
		sem = ""
	}
	return &store.StageRecord{ID: s.ID, EntityID: s.Directory, StatusID: s.StatusID, Name: s.Name, NameInit: s.NameInit,
		Sort: s.Sort, System: s.System, CategoryID: s.CategoryID, Color: s.Color, Semantics: sem}
}

// Categories lists the type's funnels by sort.
func (t *Type) Categories() []*Category { return t.categories }

// DefaultCategory is the type's default funnel.
func (t *Type) DefaultCategory() *Category {
	for _, c := range t.categories {
		if c.IsDefault {
			return c
		}
	}
	if len(t.categories) > 0 {
		return t.categories[0]
	}
	return nil
}

// Category finds a funnel by id.
func (t *Type) Category(id int64) *Category {
	for _, c := range t.categories {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// StagesOf lists a funnel's stages by sort.
func (t *Type) StagesOf(categoryID int64) []*Stage {
	var out []*Stage
	for _, s := range t.stages {
		if s.CategoryID == categoryID {
			out = append(out, s)
		}
	}
	return out
}

// Stage finds a stage of a funnel by its STATUS_ID.
func (t *Type) Stage(categoryID int64, statusID string) *Stage {
	if s := t.StageByStatusID(statusID); s != nil && s.CategoryID == categoryID {
		return s
	}
	return nil
}

// StageByStatusID finds a stage of any funnel of the type.
func (t *Type) StageByStatusID(statusID string) *Stage {
	for _, s := range t.stages {
		if s.StatusID == statusID {
			return s
		}
	}
	return nil
}

// semanticOf is the semantics of a funnel's stage, in progress when unknown.
func (t *Type) semanticOf(cat int64, stageID string) Semantics {
	if st := t.Stage(cat, stageID); st != nil {
		return st.Semantics
	}
	return InProgress
}
