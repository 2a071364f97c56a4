package crm

import "smartcrm/internal/crm/field"

// Contacts (entityTypeId 3): people, with their phones and e-mails as multifield
// entries and links to companies. No stages.
var contactType = &standardType{
	etid: 3, code: "CONTACT", title: "Contact",
	flags:   []string{"isSourceEnabled", "isObserversEnabled"},
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
			{Name: "fullName", Upper: "FULL_NAME", Column: "title", Type: tString, Title: "Full name", ReadOnly: true, untracked: true, Legacy: "-"},
			fDirectory("typeId", "TYPE_ID", "Contact type", "CONTACT_TYPE"),
			{Name: "opened", Upper: "OPENED", Column: "opened", Type: tFlag, Title: "Available to everyone", Required: true, NotEmptied: true},
			fFlag("export", "EXPORT", "Included in export"),
			fLongText("comments", "COMMENTS", "Comment"),
			{Name: "companyId", Upper: "COMPANY_ID", Column: "company_id", Type: tCompany, Title: "Company",
				Settings: settingsParent(4), linkType: 4, Deprecated: true},
			{Name: "companyIds", Upper: "COMPANY_IDS", Column: "company_ids", Type: field.IntList{TypeName: "crm_company"}, Title: "Companies",
				Multiple: true, linkType: 4},
			{Name: "leadId", Upper: "LEAD_ID", Column: "lead_id", Type: tLead, Title: "Lead", Settings: settingsParent(1), linkType: 1},
		},
		fCommunication(),
		fAudit(), fSource(), fOrigin(), fActivity(),
		[]*Field{fMultifield(), ufMarker, fObservers(), fEntityTypeID()},
	)
}
