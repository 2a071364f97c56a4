package crm

import (
	"fmt"
	"strings"
	"time"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Field is one field of an item: how it is named on the wire and in the table, its
// value type, and the attributes the operation applies generically (spec §4.2 and the
// attribute list of Bitrix24's field collection).
type Field struct {
	Name   string // camelCase wire name
	Upper  string // UPPER_SNAKE name
	Column string // column in the items table; "" for fields with no column
	Type   field.Type
	Title  string
	// Gate is the type flag that enables the field. A disabled field is still listed
	// and returned, always as null, and writes to it are ignored.
	Gate string
	// ReadOnly fields are set by the system only; Immutable ones only on add.
	ReadOnly, Immutable bool
	// Required fields must hold a value; NotEmptied ones fall back to their default
	// when a client clears them (title, responsible).
	Required, NotEmptied bool
	Multiple, Deprecated bool
	StatusType           string // for crm_status fields: the directory
	Settings             jsonx.Map
	// tracked fields count as a change on update (system bookkeeping ones do not).
	untracked bool
	// user is the registry row of a custom field (nil for system fields).
	user   *store.UserFieldRecord
	labels ufLabels
	// parentType is the entity type a parentId{N} field links to (0 for other fields).
	parentType int64
	// linkType is the entity type a client link (companyId, contactIds, leadId…) points
	// at: the linked items must exist, and deleting one clears the links.
	linkType int64
	// Legacy is the name crm.deal/contact/company/lead.* use when it differs from Upper;
	// "-" keeps the field out of the legacy methods.
	Legacy string
	// Hidden fields are kept for the engine (a lead's funnel) and never shown.
	Hidden bool
	// money amounts are written with two decimals by the legacy methods.
	money bool
	// defaultValue gives a custom field's value on add when the client sends none
	// (its DEFAULT_VALUE setting, or the default list item); nil when there is none.
	defaultValue func(now time.Time) any
}

// UserField returns the registry row of a custom field, or nil for a system field.
func (f *Field) UserField() *store.UserFieldRecord { return f.user }

// Storage returns the field's column description.
func (f *Field) storageColumn() store.Column {
	return store.Column{Name: f.Column, Storage: f.Type.Storage()}
}

// Enabled reports whether the field is switched on for the type.
func (t *Type) Enabled(f *Field) bool { return f.Gate == "" || t.Flags[f.Gate] }

// Fields returns the item field catalog of the type, in wire order.
func (t *Type) Fields() []*Field { return t.fields }

// FieldByName finds a field by its camelCase or UPPER_SNAKE name, ignoring letter case.
func (t *Type) FieldByName(name string) (*Field, bool) {
	f, ok := t.fieldIndex[strings.ToLower(name)]
	return f, ok
}

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

// settingsParent is the settings of a field that links to an item of type etid.
func settingsParent(etid int64) jsonx.Map { return jsonx.Map{{K: "parentEntityTypeId", V: etid}} }

// LegacyName is the field's name in the crm.deal/contact/company/lead.* methods, "" for
// a field they do not show.
func (f *Field) LegacyName() string {
	switch f.Legacy {
	case "":
		return f.Upper
	case "-":
		return ""
	}
	return f.Legacy
}

// buildFields derives the catalog of a type from its flags and funnels.
func (t *Type) buildFields() {
	if t.std != nil {
		t.setFields(t.std.fields(t))
		return
	}
	stageDir := ""
	if def := t.defaultCategory(); def != nil {
		stageDir = t.StageDirectory(def.ID)
	}
	const (
		stages   = "isStagesEnabled"
		dates    = "isBeginCloseDatesEnabled"
		client   = "isClientEnabled"
		products = "isLinkWithProductsEnabled"
		myco     = "isMycompanyEnabled"
		source   = "isSourceEnabled"
		watchers = "isObserversEnabled"
	)
	fs := []*Field{
		{Name: "id", Upper: "ID", Column: "id", Type: tInt, Title: "ID", ReadOnly: true},
		{Name: "xmlId", Upper: "XML_ID", Column: "xml_id", Type: tString, Title: "External code"},
		{Name: "title", Upper: "TITLE", Column: "title", Type: tString, Title: "Name", NotEmptied: true},
		{Name: "createdBy", Upper: "CREATED_BY", Column: "created_by", Type: tUser, Title: "Created by", ReadOnly: true},
		{Name: "updatedBy", Upper: "UPDATED_BY", Column: "updated_by", Type: tUser, Title: "Updated by", ReadOnly: true, untracked: true},
		{Name: "movedBy", Upper: "MOVED_BY", Column: "moved_by", Type: tUser, Title: "Moved by", ReadOnly: true, Gate: stages, untracked: true},
		{Name: "createdTime", Upper: "CREATED_TIME", Column: "created_time", Type: tDateTime, Title: "Created at", ReadOnly: true},
		{Name: "updatedTime", Upper: "UPDATED_TIME", Column: "updated_time", Type: tDateTime, Title: "Updated at", ReadOnly: true, untracked: true},
		{Name: "movedTime", Upper: "MOVED_TIME", Column: "moved_time", Type: tDateTime, Title: "Moved at", ReadOnly: true, Gate: stages, untracked: true},
		{Name: "categoryId", Upper: "CATEGORY_ID", Column: "category_id", Type: tCategory, Title: "Pipeline", NotEmptied: true},
		{Name: "opened", Upper: "OPENED", Column: "opened", Type: tFlag, Title: "Publicly available", Required: true, NotEmptied: true},
		{Name: "stageId", Upper: "STAGE_ID", Column: "stage_id", Type: tStatus, Title: "Stage", Gate: stages, StatusType: stageDir, NotEmptied: true},
		{Name: "previousStageId", Upper: "PREVIOUS_STAGE_ID", Column: "previous_stage_id", Type: tStatus, Title: "Previous stage", ReadOnly: true, Gate: stages, StatusType: stageDir, untracked: true},
		{Name: "begindate", Upper: "BEGINDATE", Column: "begindate", Type: tDate, Title: "Start date", Gate: dates},
		{Name: "closedate", Upper: "CLOSEDATE", Column: "closedate", Type: tDate, Title: "End date", Gate: dates},
		{Name: "companyId", Upper: "COMPANY_ID", Column: "company_id", Type: tCompany, Title: "Company", Gate: client,
			Settings: settingsParent(4), linkType: 4},
		{Name: "contactId", Upper: "CONTACT_ID", Column: "contact_id", Type: tContact, Title: "Contact", Gate: client, Deprecated: true, linkType: 3},
		{Name: "opportunity", Upper: "OPPORTUNITY", Column: "opportunity", Type: tDouble, Title: "Amount", Gate: products},
		{Name: "isManualOpportunity", Upper: "IS_MANUAL_OPPORTUNITY", Column: "is_manual_opportunity", Type: tFlag, Title: "Amount calculation mode", Gate: products},
		{Name: "taxValue", Upper: "TAX_VALUE", Column: "tax_value", Type: tDouble, Title: "Tax amount", Gate: products},
		{Name: "currencyId", Upper: "CURRENCY_ID", Column: "currency_id", Type: tCurrency, Title: "Currency", Gate: products},
		{Name: "opportunityAccount", Upper: "OPPORTUNITY_ACCOUNT", Type: tDouble, Title: "Amount (account currency)", ReadOnly: true, Gate: products, Deprecated: true},
		{Name: "taxValueAccount", Upper: "TAX_VALUE_ACCOUNT", Type: tDouble, Title: "Tax amount (account currency)", ReadOnly: true, Gate: products, Deprecated: true},
		{Name: "accountCurrencyId", Upper: "ACCOUNT_CURRENCY_ID", Type: tCurrency, Title: "Account currency", ReadOnly: true, Gate: products, Deprecated: true},
		{Name: "mycompanyId", Upper: "MYCOMPANY_ID", Column: "mycompany_id", Type: tCompany, Title: "Your company details", Gate: myco,
			Settings: jsonx.Map{{K: "isMyCompany", V: true}, {K: "parentEntityTypeId", V: 4}, {K: "isEmbeddedEditorEnabled", V: true}}, linkType: 4},
		{Name: "sourceId", Upper: "SOURCE_ID", Column: "source_id", Type: tStatus, Title: "Source", Gate: source, StatusType: "SOURCE"},
		{Name: "sourceDescription", Upper: "SOURCE_DESCRIPTION", Column: "source_description", Type: tText, Title: "Additional source info", Gate: source},
		{Name: "webformId", Upper: "WEBFORM_ID", Column: "webform_id", Type: tInt, Title: "Created by CRM form"},
		{Name: "assignedById", Upper: "ASSIGNED_BY_ID", Column: "assigned_by_id", Type: tUser, Title: "Assigned to", NotEmptied: true},
		{Name: "lastActivityBy", Upper: "LAST_ACTIVITY_BY", Column: "last_activity_by", Type: tUser, Title: "Last activity in timeline by", ReadOnly: true, untracked: true},
		{Name: "lastActivityTime", Upper: "LAST_ACTIVITY_TIME", Column: "last_activity_time", Type: tDateTime, Title: "Last activity", ReadOnly: true, untracked: true},
		ufMarker,
		{Name: "observers", Upper: "OBSERVERS", Column: "observers", Type: field.IntList{TypeName: "user"}, Title: "Observers", Gate: watchers, Multiple: true},
		{Name: "contactIds", Upper: "CONTACT_IDS", Column: "contact_ids", Type: field.IntList{TypeName: "crm_contact"}, Title: "Contacts", Gate: client, Multiple: true, linkType: 3},
		{Name: "entityTypeId", Upper: "ENTITY_TYPE_ID", Type: tInt, Title: "Entity type", ReadOnly: true},
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
		for _, rec := range t.userFields {
			if uf, err := userField(rec); err == nil {
				all = append(all, uf)
			}
		}
		all = append(all, t.parentFields()...)
	}
	fs = all
	t.fields = fs
	t.stored, t.nameField, t.timelineLinks = nil, nil, nil
	for _, f := range fs {
		if f.Column != "" && f.Column != "id" {
			t.stored = append(t.stored, f)
		}
		if f.Column == "title" && t.nameField == nil {
			t.nameField = f
		}
		// The links whose targets' timelines show this item's events: parents and client.
		if f.Column != "" && !f.Deprecated && (f.parentType != 0 || f.Name == "companyId" || f.Name == "contactIds") {
			t.timelineLinks = append(t.timelineLinks, f)
		}
	}
	t.fieldIndex = make(map[string]*Field, len(fs)*2)
	for _, f := range fs {
		t.fieldIndex[strings.ToLower(f.Name)] = f
		t.fieldIndex[strings.ToLower(f.Upper)] = f
	}
	// Legacy spellings (CREATED_BY_ID, DATE_CREATE…) go last: they never shadow a name.
	for _, f := range fs {
		if l := strings.ToLower(f.LegacyName()); l != "" {
			if _, taken := t.fieldIndex[l]; !taken {
				t.fieldIndex[l] = f
			}
		}
	}
}

// ufMarker stands in the system field list where custom fields are inserted.
var ufMarker = &Field{}

// itemColumns are the system columns every items table has, whatever its flags, so that
// switching a flag on later needs no DDL.
func itemColumns(fs []*Field) []store.Column {
	var cols []store.Column
	for _, f := range fs {
		// Custom fields and parent links get their columns when they are added.
		if f.Column != "" && f.Column != "id" && f.user == nil && f.parentType == 0 {
			cols = append(cols, f.storageColumn())
		}
	}
	return cols
}

// itemIndexes serve what lists and the Kanban ask most: a funnel's stage ordered by id
// (stage filters get their funnel added, see narrowByFunnel), the responsible person's
// items, and recent changes. Each index costs every insert, so there are no more.
var itemIndexes = [][]string{
	{"category_id", "stage_id", "id"},
	{"assigned_by_id", "id"},
	{"created_time"},
	{"updated_time"},
}

// queryField is the filter/order view of a field. Fields without a column, and those
// switched off, are neither filterable nor sortable.
func (t *Type) queryField(f *Field) *query.Field {
	qf := &query.Field{Name: f.Name, Column: f.Column, Type: f.Type}
	if _, isFM := f.Type.(field.Multifield); f.Column == "" || !t.Enabled(f) || isFM {
		qf.NoFilter, qf.NoOrder = true, true // multifields are filtered by kind (PHONE…)
	}
	if f.Multiple {
		qf.NoOrder = true
	}
	if f.Name == "categoryId" {
		if def := t.defaultCategory(); def != nil {
			qf.NullMeans = def.ID
		}
	}
	return qf
}

// resolver finds filterable fields for the query parser.
func (t *Type) resolver() query.Resolver {
	cache := map[*Field]*query.Field{}
	return func(name string) (*query.Field, bool) {
		f, ok := t.FieldByName(name)
		if !ok {
			// PHONE, EMAIL…: whether an item has such a multifield entry.
			kind := strings.ToUpper(name)
			if _, isKind := field.MultifieldKinds[kind]; isKind && t.fieldIndex["fm"] != nil {
				return &query.Field{Name: kind, Column: "fm", Type: field.MultifieldKind{Kind: kind}, NoOrder: true}, true
			}
			return nil, false
		}
		if qf, ok := cache[f]; ok {
			return qf, true
		}
		qf := t.queryField(f)
		cache[f] = qf
		return qf, true
	}
}

// FieldsWire describes the fields as crm.item.fields does (spec §5).
func (t *Type) FieldsWire() jsonx.Map {
	out := jsonx.Map{}
	for _, f := range t.fields {
		if !f.Hidden {
			out = append(out, jsonx.KV{K: f.Name, V: t.fieldDescriptor(f)})
		}
	}
	return out
}

// fieldDescriptor is one field's description (spec §5).
func (t *Type) fieldDescriptor(f *Field) jsonx.Map {
	d := jsonx.Map{
		{K: "type", V: f.Type.Name()},
		{K: "isRequired", V: f.Required},
		{K: "isReadOnly", V: f.ReadOnly},
		{K: "isImmutable", V: f.Immutable},
		{K: "isMultiple", V: f.Multiple},
		{K: "isDynamic", V: f.user != nil},
	}
	if f.Deprecated {
		d = append(d, jsonx.KV{K: "isDeprecated", V: true})
	}
	d = append(d, jsonx.KV{K: "title", V: f.Title}, jsonx.KV{K: "upperName", V: f.Upper})
	if f.Settings != nil {
		d = append(d, jsonx.KV{K: "settings", V: f.Settings})
	}
	if f.StatusType != "" {
		d = append(d, jsonx.KV{K: "statusType", V: f.StatusType})
	}
	if f.user != nil {
		if f.user.UserTypeID == "enumeration" {
			items := []jsonx.Map{}
			for _, e := range f.user.Enums {
				items = append(items, jsonx.Map{{K: "ID", V: fmt.Sprint(e.ID)}, {K: "VALUE", V: e.Value}})
			}
			d = append(d, jsonx.KV{K: "items", V: items})
		}
		d = append(d, jsonx.KV{K: "listLabel", V: labelOr(f.labels.ListColumnLabel, f.Title)},
			jsonx.KV{K: "formLabel", V: labelOr(f.labels.EditFormLabel, f.Title)},
			jsonx.KV{K: "filterLabel", V: labelOr(f.labels.ListFilterLabel, f.Title)})
	}
	return d
}

func labelOr(m map[string]string, fallback string) string {
	if s := m["en"]; s != "" {
		return s
	}
	return fallback
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
			Name: fmt.Sprintf("parentId%d", p), Upper: fmt.Sprintf("PARENT_ID_%d", p), Column: store.LinkColumn(p),
			Type: field.Integer{TypeName: "crm_entity", Positive: true}, Title: title,
			Settings: jsonx.Map{{K: "parentEntityTypeId", V: p}}, parentType: p,
		})
	}
	return out
}

// titleField is the field that names an item in lists and links: title, or a
// contact's full name (nil for a type without one).
func (t *Type) titleField() *Field { return t.nameField }
