package crm

import (
	"fmt"
	"strings"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Field is one field of an item: its name, its column in the type's table, its value
// type, and the attributes the operation applies generically (spec §4.2 and the
// attribute list of Bitrix24's field collection).
type Field struct {
	Name   FieldName
	Column string // column in the items table; "" for fields with no column
	Type   field.Type
	Title  string
	// Gate is the type setting that enables the field. A disabled field is still in the
	// catalog, always empty, and writes to it are ignored.
	Gate Flag
	// ReadOnly fields are set by the system only; Immutable ones only on add.
	ReadOnly, Immutable bool
	// Required fields must hold a value; NotEmptied ones fall back to their default
	// when a caller clears them (title, responsible).
	Required, NotEmptied bool
	Multiple, Deprecated bool
	// Hidden fields are kept for the engine (a lead's funnel) and never shown.
	Hidden bool
	// Directory is the directory the codes of a code field come from (SOURCE, the
	// funnel's stages…).
	Directory string
	// ParentType is the entity type a parentId{N} field links to (0 for other fields).
	ParentType int64
	// LinkType is the entity type a client link (companyId, contactIds, leadId…) points
	// at: the linked items must exist, and deleting one clears the links.
	LinkType int64
	// Money marks an amount of money (shown with two decimals).
	Money bool
	// untracked bookkeeping fields do not count as a change on update.
	untracked bool
	// user is the registry row of a custom field (nil for system fields).
	user *UserField
	// defaultValue gives a custom field's value on add when the caller sends none;
	// nil when there is none.
	defaultValue func(now time.Time) any
}

// UserField returns the registry row of a custom field, or nil for a system field.
func (f *Field) UserField() *UserField { return f.user }

// Stored reports whether the field has a column (computed fields have none).
func (f *Field) Stored() bool { return f.Column != "" }

// inRow tells whether a field is one of the value columns of an item's row: stored,
// and not the id (which rows carry first, with the version).
func (f *Field) inRow() bool { return f.Column != "" && f.Column != "id" }

func (f *Field) storageColumn() store.Column {
	return store.Column{Name: f.Column, Storage: f.Type.Storage()}
}

// Enabled reports whether the field is switched on for the type.
func (t *Type) Enabled(f *Field) bool { return f.Gate == "" || t.Flags[f.Gate] }

// Fields returns the item field catalog of the type, in the order it is listed.
func (t *Type) Fields() []*Field { return t.fields }

// FieldByName finds a field by its name, ignoring letter case; a custom field is also
// found by its registry name (UF_CRM_5_AMOUNT).
func (t *Type) FieldByName(name string) (*Field, bool) {
	f, ok := t.fieldIndex[strings.ToLower(name)]
	return f, ok
}

// field returns a system field of the catalog, or nil when the type lacks it.
func (t *Type) field(name FieldName) *Field { return t.fieldIndex[strings.ToLower(string(name))] }

// Has reports whether the type's catalog has a field.
func (t *Type) Has(name FieldName) bool { return t.field(name) != nil }

var (
	tInt      = field.Integer{}
	tUser     = field.Integer{TypeName: "user", Positive: true}
	tCategory = field.Integer{TypeName: "crm_category", Positive: true}
	tCompany  = field.Integer{TypeName: "crm_company", Positive: true}
	tContact  = field.Integer{TypeName: "crm_contact", Positive: true}
	tString   = field.Text{MaxLen: 255}
	tText     = field.Text{TypeName: "text", MaxLen: 65535}
	tStatus   = field.Text{TypeName: "crm_status", MaxLen: 50}
	tCurrency = field.Text{TypeName: "crm_currency", MaxLen: 3}
	tFlag     = field.Flag{}
	tDouble   = field.Double{}
	tDateTime = field.DateTime{}
	tDate     = field.Date{}
	tLead     = field.Integer{TypeName: "crm_lead", Positive: true}
	tPercent  = field.Integer{}
)

// buildFields derives the catalog of a type from its settings and funnels.
func (t *Type) buildFields() {
	if t.std != nil {
		t.setFields(t.std.fields(t))
		return
	}
	stageDir := ""
	if def := t.DefaultCategory(); def != nil {
		stageDir = t.StageDirectory(def.ID)
	}
	fs := []*Field{
		{Name: FieldID, Column: "id", Type: tInt, Title: "ID", ReadOnly: true},
		{Name: FieldXMLID, Column: "xml_id", Type: tString, Title: "External code"},
		{Name: FieldTitle, Column: "title", Type: tString, Title: "Name", NotEmptied: true},
		{Name: FieldCreatedBy, Column: "created_by", Type: tUser, Title: "Created by", ReadOnly: true},
		{Name: FieldUpdatedBy, Column: "updated_by", Type: tUser, Title: "Updated by", ReadOnly: true, untracked: true},
		{Name: FieldMovedBy, Column: "moved_by", Type: tUser, Title: "Moved by", ReadOnly: true, Gate: FlagStages, untracked: true},
		{Name: FieldCreatedTime, Column: "created_time", Type: tDateTime, Title: "Created at", ReadOnly: true},
		{Name: FieldUpdatedTime, Column: "updated_time", Type: tDateTime, Title: "Updated at", ReadOnly: true, untracked: true},
		{Name: FieldMovedTime, Column: "moved_time", Type: tDateTime, Title: "Moved at", ReadOnly: true, Gate: FlagStages, untracked: true},
		{Name: FieldCategoryID, Column: "category_id", Type: tCategory, Title: "Pipeline", NotEmptied: true},
		{Name: FieldOpened, Column: "opened", Type: tFlag, Title: "Publicly available", Required: true, NotEmptied: true},
		{Name: FieldStageID, Column: "stage_id", Type: tStatus, Title: "Stage", Gate: FlagStages, Directory: stageDir, NotEmptied: true},
		{Name: FieldPreviousStageID, Column: "previous_stage_id", Type: tStatus, Title: "Previous stage", ReadOnly: true, Gate: FlagStages, Directory: stageDir, untracked: true},
		{Name: FieldBegindate, Column: "begindate", Type: tDate, Title: "Start date", Gate: FlagBeginCloseDates},
		{Name: FieldClosedate, Column: "closedate", Type: tDate, Title: "End date", Gate: FlagBeginCloseDates},
		{Name: FieldCompanyID, Column: "company_id", Type: tCompany, Title: "Company", Gate: FlagClient, LinkType: 4},
		{Name: FieldContactID, Column: "contact_id", Type: tContact, Title: "Contact", Gate: FlagClient, Deprecated: true, LinkType: 3},
		{Name: FieldOpportunity, Column: "opportunity", Type: tDouble, Title: "Amount", Gate: FlagLinkWithProducts},
		{Name: FieldIsManualOpportunity, Column: "is_manual_opportunity", Type: tFlag, Title: "Amount calculation mode", Gate: FlagLinkWithProducts},
		{Name: FieldTaxValue, Column: "tax_value", Type: tDouble, Title: "Tax amount", Gate: FlagLinkWithProducts},
		{Name: FieldCurrencyID, Column: "currency_id", Type: tCurrency, Title: "Currency", Gate: FlagLinkWithProducts},
		{Name: "opportunityAccount", Type: tDouble, Title: "Amount (account currency)", ReadOnly: true, Gate: FlagLinkWithProducts, Deprecated: true},
		{Name: "taxValueAccount", Type: tDouble, Title: "Tax amount (account currency)", ReadOnly: true, Gate: FlagLinkWithProducts, Deprecated: true},
		{Name: "accountCurrencyId", Type: tCurrency, Title: "Account currency", ReadOnly: true, Gate: FlagLinkWithProducts, Deprecated: true},
		{Name: FieldMycompanyID, Column: "mycompany_id", Type: tCompany, Title: "Your company details", Gate: FlagMycompany, LinkType: 4},
		{Name: FieldSourceID, Column: "source_id", Type: tStatus, Title: "Source", Gate: FlagSource, Directory: "SOURCE"},
		{Name: FieldSourceDescription, Column: "source_description", Type: tText, Title: "Additional source info", Gate: FlagSource},
		{Name: FieldWebformID, Column: "webform_id", Type: tInt, Title: "Created by CRM form"},
		{Name: FieldAssignedByID, Column: "assigned_by_id", Type: tUser, Title: "Assigned to", NotEmptied: true},
		{Name: FieldLastActivityBy, Column: "last_activity_by", Type: tUser, Title: "Last activity in timeline by", ReadOnly: true, untracked: true},
		{Name: FieldLastActivityTime, Column: "last_activity_time", Type: tDateTime, Title: "Last activity", ReadOnly: true, untracked: true},
		ufMarker,
		{Name: FieldObservers, Column: "observers", Type: field.IntList{TypeName: "user"}, Title: "Observers", Gate: FlagObservers, Multiple: true},
		{Name: FieldContactIDs, Column: "contact_ids", Type: field.IntList{TypeName: "crm_contact"}, Title: "Contacts", Gate: FlagClient, Multiple: true, LinkType: 3},
		{Name: FieldEntityTypeID, Type: tInt, Title: "Entity type", ReadOnly: true},
	}
	t.setFields(fs)
}

// setFields completes a catalog: custom fields and parent links go where ufMarker
// stands (for smart processes: after the system fields, before observers, contacts and
// entityTypeId, where Bitrix24 lists them), and the lookup indexes are built.
func (t *Type) setFields(fs []*Field) {
	var all []*Field
	for _, f := range fs {
		if f != ufMarker {
			all = append(all, f)
			continue
		}
		for _, uf := range t.userFields {
			all = append(all, uf.catalogField())
		}
		all = append(all, t.parentFields()...)
	}
	t.fields = all
	t.stored, t.nameField, t.timelineLinks = nil, nil, nil
	for _, f := range all {
		if f.inRow() {
			t.stored = append(t.stored, f)
		}
		if f.Column == "title" && t.nameField == nil {
			t.nameField = f
		}
		// The links whose targets' timelines show this item's events: parents and client.
		if f.Column != "" && !f.Deprecated && (f.ParentType != 0 || f.Name == FieldCompanyID || f.Name == FieldContactIDs) {
			t.timelineLinks = append(t.timelineLinks, f)
		}
	}
	t.fieldIndex = make(map[string]*Field, len(all)*2)
	for _, f := range all {
		t.fieldIndex[strings.ToLower(string(f.Name))] = f
		if f.user != nil {
			t.fieldIndex[strings.ToLower(f.user.Name)] = f
		}
	}
}

// ufMarker stands in the system field list where custom fields are inserted.
var ufMarker = &Field{}

// itemColumns are the system columns every items table has, whatever its settings, so
// that switching a setting on later needs no DDL.
func itemColumns(fs []*Field) []store.Column {
	var cols []store.Column
	for _, f := range fs {
		// Custom fields and parent links get their columns when they are added.
		if f.inRow() && f.user == nil && f.ParentType == 0 {
			cols = append(cols, f.storageColumn())
		}
	}
	return cols
}

// itemIndexes serve what lists and the Kanban ask most: a funnel's stage ordered by id
// (stage filters get their funnel added, see narrowByFunnel), the responsible person's
// items, and recent additions. Each index costs every insert, so there are no more.
// The update time has none by default: every edit changes it, and an index on it made
// every edit on PostgreSQL write a new entry into each of the table's indexes (its
// trigram index too) where an edit of fields no index holds stays on its page (a HOT
// update: 1.7 times the edits a second in pgbench on the soak's table). Lists of recent
// changes, where they are used, get their index from listindex like any other shape
// (which also drops the one that earlier versions made: listindex.RetireDefaults).
var itemIndexes = [][]string{
	{"category_id", "stage_id", "id"},
	{"assigned_by_id", "id"},
	{"created_time"},
}

// FieldsByColumn maps the columns lists filter and order on to their fields: what
// names an index's or a list shape's columns for people.
func (t *Type) FieldsByColumn() map[string]*Field {
	out := map[string]*Field{}
	for _, f := range t.Fields() {
		if qf := t.QueryField(f); qf != nil && qf.Column != "" {
			out[qf.Column] = f
		}
	}
	return out
}

// QueryField is the filter and order view of a field. Fields without a column, and
// those switched off, are neither filterable nor sortable.
func (t *Type) QueryField(f *Field) *query.Field {
	return t.Memo(f, func() any {
		qf := &query.Field{Name: string(f.Name), Column: f.Column, Type: f.Type}
		if _, isFM := f.Type.(field.Multifield); f.Column == "" || !t.Enabled(f) || isFM {
			qf.NoFilter, qf.NoOrder = true, true // multifields are filtered by kind (PHONE…)
		}
		if f.Multiple {
			qf.NoOrder = true
		}
		if f.Name == FieldCategoryID {
			if def := t.DefaultCategory(); def != nil {
				qf.NullMeans = def.ID
			}
		}
		return qf
	}).(*query.Field)
}

// MultifieldKindField is the filter view of one kind of an item's multifield entries
// (PHONE, EMAIL…): whether the item has an entry of that kind with a value. ok is false
// for a type without multifields or a kind that does not exist.
func (t *Type) MultifieldKindField(kind string) (*query.Field, bool) {
	if _, known := field.MultifieldKinds[kind]; !known || !t.Has(FieldFM) {
		return nil, false
	}
	return &query.Field{Name: kind, Column: t.field(FieldFM).Column, Type: field.MultifieldKind{Kind: kind}, NoOrder: true}, true
}

// parentFields are the parentId{N} fields of the type's parent relations (spec §4.3):
// the parent item's id, in a column of this type's table.
func (t *Type) parentFields() []*Field {
	var out []*Field
	for _, r := range t.Relations.Parent {
		if r.IsPredefined {
			continue // contacts and companies come as contactIds and companyId
		}
		p := r.EntityTypeID
		title := t.parentTitles[p]
		if title == "" {
			title = fmt.Sprintf("Parent (%d)", p)
		}
		out = append(out, &Field{
			Name: ParentField(p), Column: store.LinkColumn(p),
			Type: field.Integer{TypeName: "crm_entity", Positive: true}, Title: title, ParentType: p,
		})
	}
	return out
}

// ParentField names the field that links an item to its parent of type etid.
func ParentField(etid int64) FieldName { return FieldName(fmt.Sprintf("parentId%d", etid)) }

// TitleField is the field that names an item in lists and links: title, or a
// contact's full name (nil for a type without one).
func (t *Type) TitleField() *Field { return t.nameField }

// withFileLinks gives a file type (or a list of files) the signer of download links.
func withFileLinks(t field.Type, link func(int64) string) field.Type {
	switch ft := t.(type) {
	case field.File:
		ft.Link = link
		return ft
	case field.Multiple:
		if el, ok := ft.Elem.(field.File); ok {
			el.Link = link
			return field.Multiple{Elem: el}
		}
	}
	return t
}
