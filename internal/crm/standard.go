package crm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"smartcrm/internal/access"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
)

// Standard types: leads, deals, contacts and companies run on the same engine as smart
// processes — an items table, the one write operation, funnels and stages, custom fields
// and relations — but their settings and field sets are built in, not stored in the
// registry. Each one's fields are in its own file (standard_deal.go, …).

// OwnerType is an entry of crm.enum.ownertype.
type OwnerType struct {
	ID                 int64
	Title, Code, Short string
}

// StandardOwnerTypes are Bitrix24's built-in types, in the order it lists them. Only
// some of them have items on this server (standardTypeDefs).
var StandardOwnerTypes = []OwnerType{
	{1, "Lead", "LEAD", "L"}, {2, "Deal", "DEAL", "D"}, {3, "Contact", "CONTACT", "C"}, {4, "Company", "COMPANY", "CO"},
	{5, "Invoice (old)", "INVOICE", "I"}, {31, "Invoice", "SMART_INVOICE", "SI"}, {7, "Estimate", "QUOTE", "Q"},
	{8, "Requisite", "REQUISITE", "RQ"}, {36, "Document", "SMART_DOCUMENT", "DO"}, {39, "Company document", "SMART_B2E_DOC", "SBD"},
}

// standardTitle names a built-in type, for relation fields that point at one.
func standardTitle(etid int64) (string, bool) {
	for _, o := range StandardOwnerTypes {
		if o.ID == etid {
			return o.Title, true
		}
	}
	return "", false
}

// standardType describes a built-in type with items.
type standardType struct {
	etid  int64
	code  string // LEAD, DEAL, CONTACT, COMPANY
	title string
	// flags are the smart-process settings the type behaves as if it had.
	flags []Flag
	// fields builds the system field catalog; ufMarker marks where custom fields go.
	fields func(t *Type) []*Field
	// stages are the default stages of each funnel; nil for a type without stages.
	stages []defaultStage
	// stageDirectory and stagePrefix name a funnel's stage directory and the prefix of
	// its STATUS_IDs ("" for none).
	stageDirectory func(categoryID int64) string
	stagePrefix    func(categoryID int64) string
	// firstCategoryID is the id of the funnel created with the type: deals' default
	// funnel is 0 in Bitrix24, and clients rely on it; leads' hidden one is -1, out of
	// the way of the funnel ids smart processes get.
	firstCategoryID int64
	firstCategory   string
	// maxStatusIDLength bounds STATUS_IDs of the directory (spec §7.2).
	maxStatusIDLength int
	// indexes serve the type's common lists (see itemIndexes).
	indexes [][]string
}

// defaultStage is a stage a new funnel gets.
type defaultStage struct {
	code, name, color, semantics string
	sort                         int64
	system                       bool
}

// standardTypeDefs are the built-in types with items, by entityTypeId.
var standardTypeDefs = map[int64]*standardType{
	1: leadType,
	2: dealType,
	3: contactType,
	4: companyType,
}

// standardTypeIDs lists them in a fixed order.
func standardTypeIDs() []int64 {
	ids := make([]int64, 0, len(standardTypeDefs))
	for id := range standardTypeDefs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// standardTypeOf builds the Type of a built-in type (without its catalog).
func standardTypeOf(def *standardType) *Type {
	t := &Type{ID: def.etid, EntityTypeID: def.etid, Title: def.title, Code: def.code, Flags: Flags{},
		LinkedUserFields: map[string]bool{}, std: def}
	for _, f := range def.flags {
		t.Flags[f] = true
	}
	return t
}

// IsStandard reports whether the type is a built-in one (lead, deal, contact, company).
func (t *Type) IsStandard() bool { return t.std != nil }

// EntityName is the symbolic code of the type: DEAL, or DYNAMIC_{entityTypeId}.
func (t *Type) EntityName() string {
	if t.std != nil {
		return t.std.code
	}
	return fmt.Sprintf("DYNAMIC_%d", t.EntityTypeID)
}

// UFEntityID is the object id of the type's custom fields: CRM_DEAL, or CRM_{type id}.
func (t *Type) UFEntityID() string {
	if t.std != nil {
		return "CRM_" + t.std.code
	}
	return fmt.Sprintf("CRM_%d", t.ID)
}

// UFPrefix is what the names of the type's custom fields start with.
func (t *Type) UFPrefix() string {
	if t.std != nil {
		return "UF_CRM_"
	}
	return fmt.Sprintf("UF_CRM_%d_", t.ID)
}

// StageDirectory names the stage directory of a funnel (crm.status ENTITY_ID).
func (t *Type) StageDirectory(categoryID int64) string {
	if t.std != nil {
		return t.std.stageDirectory(categoryID)
	}
	return fmt.Sprintf("DYNAMIC_%d_STAGE_%d", t.EntityTypeID, categoryID)
}

// StagePrefix is what a funnel's STATUS_IDs start with, before the colon; "" when they
// have no prefix (deals' default funnel, leads).
func (t *Type) StagePrefix(categoryID int64) string {
	if t.std != nil {
		return t.std.stagePrefix(categoryID)
	}
	return fmt.Sprintf("DT%d_%d", t.EntityTypeID, categoryID)
}

// stageStatusID joins a funnel's prefix and a stage code.
func (t *Type) stageStatusID(categoryID int64, code string) string {
	if p := t.StagePrefix(categoryID); p != "" {
		return p + ":" + code
	}
	return code
}

// maxStatusID bounds STATUS_IDs of the type's directories.
func (t *Type) maxStatusID() int {
	if t.std != nil && t.std.maxStatusIDLength > 0 {
		return t.std.maxStatusIDLength
	}
	return maxStatusIDLength
}

// hasStages reports whether items of the type sit in a funnel stage.
func (t *Type) hasStages() bool { return t.fieldIndex["stageid"] != nil }

// itemIndexesOf are the indexes of a type's items table.
func (t *Type) itemIndexesOf() [][]string {
	if t.std != nil {
		return t.std.indexes
	}
	return itemIndexes
}

// EnsureStandardTypes creates the tables, funnels and stages of the built-in types that
// do not have them yet. It runs at every start, after the migrations.
func (s *Service) EnsureStandardTypes(ctx context.Context) error {
	for _, etid := range standardTypeIDs() {
		def := standardTypeDefs[etid]
		err := s.Run(ctx, access.System, func(u *Unit) error {
			tx := u.tx
			exists, err := tx.ItemTableExists(ctx, etid)
			if err != nil || exists {
				return err
			}
			t := standardTypeOf(def)
			t.buildFields()
			if err := tx.CreateItemTable(ctx, etid, itemColumns(t.fields), t.itemIndexesOf()); err != nil {
				return fmt.Errorf("creating the %s table: %w", def.code, err)
			}
			if def.stages != nil {
				c := &store.CategoryRecord{ID: def.firstCategoryID, FixedID: true, EntityTypeID: etid, Name: def.firstCategory, IsDefault: true}
				if _, err := u.addCategoryRecord(t, c); err != nil {
					return err
				}
			}
			// Relations set before the table existed get their link columns now.
			edges, err := tx.TypeEdges(ctx)
			if err != nil {
				return err
			}
			for _, e := range edges {
				if e.Child == etid {
					if err := tx.AddLinkColumn(ctx, etid, e.Parent); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Field constructors shared by the built-in types' catalogs. Each returns a new Field,
// since a catalog's fields carry per-type state.

func fID() *Field {
	return &Field{Name: FieldID, Column: "id", Type: tInt, Title: "ID", ReadOnly: true}
}

func fTitle(title string) *Field {
	return &Field{Name: FieldTitle, Column: "title", Type: tString, Title: title, NotEmptied: true}
}

func fText(name FieldName, title string) *Field {
	return &Field{Name: name, Column: column(name), Type: tString, Title: title}
}

func fLongText(name FieldName, title string) *Field {
	return &Field{Name: name, Column: column(name), Type: tText, Title: title}
}

func fFlag(name FieldName, title string) *Field {
	return &Field{Name: name, Column: column(name), Type: tFlag, Title: title}
}

func fDirectory(name FieldName, title, dir string) *Field {
	return &Field{Name: name, Column: column(name), Type: tStatus, Title: title, Directory: dir}
}

// fAudit are who created, changed and is responsible for an item, and when.
func fAudit() []*Field {
	return []*Field{
		{Name: FieldAssignedByID, Column: "assigned_by_id", Type: tUser, Title: "Responsible", NotEmptied: true},
		{Name: FieldCreatedBy, Column: "created_by", Type: tUser, Title: "Created by", ReadOnly: true},
		{Name: FieldUpdatedBy, Column: "updated_by", Type: tUser, Title: "Modified by", ReadOnly: true, untracked: true},
		{Name: FieldCreatedTime, Column: "created_time", Type: tDateTime, Title: "Created", ReadOnly: true},
		{Name: FieldUpdatedTime, Column: "updated_time", Type: tDateTime, Title: "Modified", ReadOnly: true, untracked: true},
	}
}

// fMoved are the last stage change's author and time.
func fMoved() []*Field {
	return []*Field{
		{Name: FieldMovedBy, Column: "moved_by", Type: tUser, Title: "Stage changed by", ReadOnly: true, untracked: true},
		{Name: FieldMovedTime, Column: "moved_time", Type: tDateTime, Title: "Stage changed at", ReadOnly: true, untracked: true},
	}
}

// fActivity are the last timeline activity's author and time.
func fActivity() []*Field {
	return []*Field{
		{Name: FieldLastActivityBy, Column: "last_activity_by", Type: tUser, Title: "Last activity by", ReadOnly: true, untracked: true},
		{Name: FieldLastActivityTime, Column: "last_activity_time", Type: tDateTime, Title: "Last activity", ReadOnly: true, untracked: true},
	}
}

// fSource is where an item came from.
func fSource() []*Field {
	return []*Field{
		fDirectory(FieldSourceID, "Source", "SOURCE"),
		fLongText(FieldSourceDescription, "Source information"),
	}
}

// fOrigin are the ids an external system gave the item, and the UTM marks.
func fOrigin() []*Field {
	return []*Field{
		fText("originatorId", "External source"),
		fText("originId", "Item ID in data source"),
		fText("utmSource", "Ad system"),
		fText("utmMedium", "Traffic type"),
		fText("utmCampaign", "Ad campaign label"),
		fText("utmContent", "Campaign contents"),
		fText("utmTerm", "Campaign search term"),
	}
}

// fPerson are a person's name parts, for leads and contacts.
func fPerson() []*Field {
	return []*Field{
		fDirectory("honorific", "Salutation", "HONORIFIC"),
		fText(FieldFirstName, "First name"),
		fText(FieldSecondName, "Second name"),
		fText(FieldLastName, "Last name"),
		{Name: "birthdate", Column: "birthdate", Type: tDate, Title: "Date of birth"},
		fText("post", "Position"),
	}
}

// fCommunication are the flags derived from the multifield entries.
func fCommunication() []*Field {
	return []*Field{
		{Name: FieldHasPhone, Column: "has_phone", Type: tFlag, Title: "Has phone", ReadOnly: true, untracked: true},
		{Name: FieldHasEmail, Column: "has_email", Type: tFlag, Title: "Has e-mail", ReadOnly: true, untracked: true},
		{Name: FieldHasImol, Column: "has_imol", Type: tFlag, Title: "Has Open Channel", ReadOnly: true, untracked: true},
	}
}

// fMultifield is the `fm` field: every phone, e-mail, site and messenger of the item.
func fMultifield() *Field {
	return &Field{Name: FieldFM, Column: "fm", Type: field.Multifield{}, Title: "Multifields", Multiple: true}
}

// fProducts are the amount fields of deals and leads.
func fProducts() []*Field {
	return []*Field{
		{Name: FieldCurrencyID, Column: "currency_id", Type: tCurrency, Title: "Currency"},
		{Name: FieldOpportunity, Column: "opportunity", Type: tDouble, Title: "Amount", Money: true},
		{Name: FieldIsManualOpportunity, Column: "is_manual_opportunity", Type: tFlag, Title: "Manual amount"},
		{Name: FieldTaxValue, Column: "tax_value", Type: tDouble, Title: "Tax rate", Money: true},
	}
}

// fClient are the company and contacts of a deal or lead.
func fClient() []*Field {
	return []*Field{
		{Name: FieldCompanyID, Column: "company_id", Type: tCompany, Title: "Company", LinkType: 4},
		{Name: FieldContactID, Column: "contact_id", Type: tContact, Title: "Contact", Deprecated: true, LinkType: 3},
		{Name: FieldContactIDs, Column: "contact_ids", Type: field.IntList{TypeName: "crm_contact"}, Title: "Contacts",
			Multiple: true, LinkType: 3},
	}
}

func fObservers() *Field {
	return &Field{Name: FieldObservers, Column: "observers", Type: field.IntList{TypeName: "user"}, Title: "Observers", Multiple: true}
}

func fEntityTypeID() *Field {
	return &Field{Name: FieldEntityTypeID, Type: tInt, Title: "Entity type", ReadOnly: true}
}

// fHiddenCategory keeps the funnel of a type whose clients see none (leads): the stage
// logic needs one, callers never see it.
func fHiddenCategory() *Field {
	return &Field{Name: FieldCategoryID, Column: "category_id", Type: field.Integer{TypeName: "crm_category"},
		Title: "Pipeline", ReadOnly: true, Hidden: true}
}

// fLead is the lead an item came from.
func fLead() *Field {
	return &Field{Name: FieldLeadID, Column: "lead_id", Type: tLead, Title: "Lead", LinkType: 1}
}

// column is a system field's column: its name in snake case (utmSource → utm_source).
func column(name FieldName) string {
	var b strings.Builder
	for i, c := range string(name) {
		if c >= 'A' && c <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return b.String()
}

// concat joins field lists.
func concat(parts ...[]*Field) []*Field {
	var out []*Field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// HasStages reports whether the type's items move through funnel stages.
func (t *Type) HasStages() bool { return t.hasStages() }
