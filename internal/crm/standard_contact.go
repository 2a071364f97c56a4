package crm

import "smartcrm/internal/field"

// Contacts (entityTypeId 3): people, with their phones and e-mails as multifield
// entries and links to companies. No stages.
var contactType = &standardType{
	etid: 3, code: "CONTACT", title: "Contact",
	flags:   []Flag{FlagSource, FlagObservers},
	fields:  contactFields,
	indexes: [][]string{{"assigned_by_id", "id"}, {"company_id"}, {"created_time"}, {"updated_time"}},
}

func contactFields(t *Type) []*Field {
	return concat(
		[]*Field{fID()},
		fPerson(),
		[]*Field{
			// The full name, kept from the name parts: it is what lists and the linked
			// items of a card show as the contact's title.
			{Name: FieldFullName, Column: "title", Type: tString, Title: "Full name", ReadOnly: true, untracked: true},
			fDirectory("typeId", "Contact type", "CONTACT_TYPE"),
			{Name: FieldOpened, Column: "opened", Type: tFlag, Title: "Available to everyone", Required: true, NotEmptied: true},
			fFlag("export", "Included in export"),
			fLongText("comments", "Comment"),
			{Name: FieldCompanyID, Column: "company_id", Type: tCompany, Title: "Company", LinkType: 4, Deprecated: true},
			{Name: FieldCompanyIDs, Column: "company_ids", Type: field.IntList{TypeName: "crm_company"}, Title: "Companies",
				Multiple: true, LinkType: 4},
			fLead(),
		},
		fCommunication(),
		fAudit(), fSource(), fOrigin(), fActivity(),
		[]*Field{fMultifield(), ufMarker, fObservers(), fEntityTypeID()},
	)
}
