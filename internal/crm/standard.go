package crm

import (
	"context"
	"fmt"
	"sort"

	"smartcrm/internal/crm/field"
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
	flags []string
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
	t := &Type{ID: def.etid, EntityTypeID: def.etid, Title: def.title, Code: def.code, Flags: map[string]bool{},
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
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
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
				if _, err := addCategoryRecord(ctx, tx, t, c); err != nil {
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
	s.forgetTypes()
	return nil
}

// Field constructors shared by the built-in types' catalogs. Each returns a new Field,
// since a catalog's fields carry per-type state.

func fID() *Field {
	return &Field{Name: "id", Upper: "ID", Column: "id", Type: tInt, Title: "ID", ReadOnly: true}
}

func fTitle(title string) *Field {
	return &Field{Name: "title", Upper: "TITLE", Column: "title", Type: tString, Title: title, NotEmptied: true}
}

func fText(name, upper, title string) *Field {
	return &Field{Name: name, Upper: upper, Column: column(upper), Type: tString, Title: title}
}

func fLongText(name, upper, title string) *Field {
	return &Field{Name: name, Upper: upper, Column: column(upper), Type: tText, Title: title}
}

func fFlag(name, upper, title string) *Field {
	return &Field{Name: name, Upper: upper, Column: column(upper), Type: tFlag, Title: title}
}

func fDirectory(name, upper, title, dir string) *Field {
	return &Field{Name: name, Upper: upper, Column: column(upper), Type: tStatus, Title: title, StatusType: dir}
}

// fAudit are who created, changed and is responsible for an item, and when; legacy
// methods spell them CREATED_BY_ID, MODIFY_BY_ID, DATE_CREATE, DATE_MODIFY.
func fAudit() []*Field {
	return []*Field{
		{Name: "assignedById", Upper: "ASSIGNED_BY_ID", Column: "assigned_by_id", Type: tUser, Title: "Responsible", NotEmptied: true},
		{Name: "createdBy", Upper: "CREATED_BY", Legacy: "CREATED_BY_ID", Column: "created_by", Type: tUser, Title: "Created by", ReadOnly: true},
		{Name: "updatedBy", Upper: "UPDATED_BY", Legacy: "MODIFY_BY_ID", Column: "updated_by", Type: tUser, Title: "Modified by", ReadOnly: true, untracked: true},
		{Name: "createdTime", Upper: "CREATED_TIME", Legacy: "DATE_CREATE", Column: "created_time", Type: tDateTime, Title: "Created", ReadOnly: true},
		{Name: "updatedTime", Upper: "UPDATED_TIME", Legacy: "DATE_MODIFY", Column: "updated_time", Type: tDateTime, Title: "Modified", ReadOnly: true, untracked: true},
	}
}

// fMoved are the last stage change's author and time.
func fMoved() []*Field {
	return []*Field{
		{Name: "movedBy", Upper: "MOVED_BY", Legacy: "MOVED_BY_ID", Column: "moved_by", Type: tUser, Title: "Stage changed by", ReadOnly: true, untracked: true},
		{Name: "movedTime", Upper: "MOVED_TIME", Column: "moved_time", Type: tDateTime, Title: "Stage changed at", ReadOnly: true, untracked: true},
	}
}

// fActivity are the last timeline activity's author and time.
func fActivity() []*Field {
	return []*Field{
		{Name: "lastActivityBy", Upper: "LAST_ACTIVITY_BY", Column: "last_activity_by", Type: tUser, Title: "Last activity by", ReadOnly: true, untracked: true},
		{Name: "lastActivityTime", Upper: "LAST_ACTIVITY_TIME", Column: "last_activity_time", Type: tDateTime, Title: "Last activity", ReadOnly: true, untracked: true},
	}
}

// fSource is where an item came from.
func fSource() []*Field {
	return []*Field{
		fDirectory("sourceId", "SOURCE_ID", "Source", "SOURCE"),
		fLongText("sourceDescription", "SOURCE_DESCRIPTION", "Source information"),
	}
}

// fOrigin are the ids an external system gave the item, and the UTM marks.
func fOrigin() []*Field {
	return []*Field{
		fText("originatorId", "ORIGINATOR_ID", "External source"),
		fText("originId", "ORIGIN_ID", "Item ID in data source"),
		fText("utmSource", "UTM_SOURCE", "Ad system"),
		fText("utmMedium", "UTM_MEDIUM", "Traffic type"),
		fText("utmCampaign", "UTM_CAMPAIGN", "Ad campaign label"),
		fText("utmContent", "UTM_CONTENT", "Campaign contents"),
		fText("utmTerm", "UTM_TERM", "Campaign search term"),
	}
}

// fPerson are a person's name parts, for leads and contacts.
func fPerson() []*Field {
	return []*Field{
		fDirectory("honorific", "HONORIFIC", "Salutation", "HONORIFIC"),
		fText("name", "NAME", "First name"),
		fText("secondName", "SECOND_NAME", "Second name"),
		fText("lastName", "LAST_NAME", "Last name"),
		{Name: "birthdate", Upper: "BIRTHDATE", Column: "birthdate", Type: tDate, Title: "Date of birth"},
		fText("post", "POST", "Position"),
	}
}

// fCommunication are the multifield entries and the flags derived from them.
func fCommunication() []*Field {
	return []*Field{
		{Name: "hasPhone", Upper: "HAS_PHONE", Column: "has_phone", Type: tFlag, Title: "Has phone", ReadOnly: true, untracked: true},
		{Name: "hasEmail", Upper: "HAS_EMAIL", Column: "has_email", Type: tFlag, Title: "Has e-mail", ReadOnly: true, untracked: true},
		{Name: "hasImol", Upper: "HAS_IMOL", Column: "has_imol", Type: tFlag, Title: "Has Open Channel", ReadOnly: true, untracked: true},
	}
}

// fMultifield is the `fm` field: every phone, e-mail, site and messenger of the item.
func fMultifield() *Field {
	return &Field{Name: "fm", Upper: "FM", Column: "fm", Type: field.Multifield{}, Title: "Multifields", Multiple: true}
}

// fProducts are the amount fields of deals and leads.
func fProducts() []*Field {
	return []*Field{
		{Name: "currencyId", Upper: "CURRENCY_ID", Column: "currency_id", Type: tCurrency, Title: "Currency"},
		{Name: "opportunity", Upper: "OPPORTUNITY", Column: "opportunity", Type: tDouble, Title: "Amount", money: true},
		{Name: "isManualOpportunity", Upper: "IS_MANUAL_OPPORTUNITY", Column: "is_manual_opportunity", Type: tFlag, Title: "Manual amount"},
		{Name: "taxValue", Upper: "TAX_VALUE", Column: "tax_value", Type: tDouble, Title: "Tax rate", money: true},
	}
}

// fClient are the company and contacts of a deal or lead.
func fClient() []*Field {
	return []*Field{
		{Name: "companyId", Upper: "COMPANY_ID", Column: "company_id", Type: tCompany, Title: "Company",
			Settings: settingsParent(4), linkType: 4},
		{Name: "contactId", Upper: "CONTACT_ID", Column: "contact_id", Type: tContact, Title: "Contact", Deprecated: true, linkType: 3},
		{Name: "contactIds", Upper: "CONTACT_IDS", Column: "contact_ids", Type: field.IntList{TypeName: "crm_contact"}, Title: "Contacts",
			Multiple: true, linkType: 3},
	}
}

func fObservers() *Field {
	return &Field{Name: "observers", Upper: "OBSERVERS", Column: "observers", Type: field.IntList{TypeName: "user"}, Title: "Observers", Multiple: true}
}

func fEntityTypeID() *Field {
	return &Field{Name: "entityTypeId", Upper: "ENTITY_TYPE_ID", Type: tInt, Title: "Entity type", ReadOnly: true, Legacy: "-"}
}

// fHiddenCategory keeps the funnel of a type whose clients see none (leads): the stage
// logic needs one, the wire never shows it.
func fHiddenCategory() *Field {
	return &Field{Name: "categoryId", Upper: "CATEGORY_ID", Column: "category_id", Type: field.Integer{TypeName: "crm_category"},
		Title: "Pipeline", ReadOnly: true, Hidden: true}
}

// column is a system field's column: its UPPER name in lower case.
func column(upper string) string {
	b := []byte(upper)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// concat joins field lists.
func concat(parts ...[]*Field) []*Field {
	var out []*Field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
