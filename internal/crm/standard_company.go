package crm

// Companies (entityTypeId 4): organisations, with phones and e-mails as multifield
// entries. No stages.
var companyType = &standardType{
	etid: 4, code: "COMPANY", title: "Company",
	flags:   []string{"isSourceEnabled", "isObserversEnabled"},
	fields:  companyFields,
	indexes: [][]string{{"assigned_by_id", "id"}, {"created_time"}, {"updated_time"}},
}

func companyFields(t *Type) []*Field {
	return concat(
		[]*Field{
			fID(),
			fTitle("Company name"),
			{Name: "typeId", Upper: "TYPE_ID", Legacy: "COMPANY_TYPE", Column: "type_id", Type: tStatus, Title: "Company type", StatusType: "COMPANY_TYPE"},
			fDirectory("industry", "INDUSTRY", "Industry", "INDUSTRY"),
			fDirectory("employees", "EMPLOYEES", "Employees", "EMPLOYEES"),
			{Name: "currencyId", Upper: "CURRENCY_ID", Column: "currency_id", Type: tCurrency, Title: "Currency"},
			{Name: "revenue", Upper: "REVENUE", Column: "revenue", Type: tDouble, Title: "Annual revenue", money: true},
			{Name: "opened", Upper: "OPENED", Column: "opened", Type: tFlag, Title: "Available to everyone", Required: true, NotEmptied: true},
			fLongText("comments", "COMMENTS", "Comment"),
			fLongText("bankingDetails", "BANKING_DETAILS", "Payment details"),
			fFlag("isMyCompany", "IS_MY_COMPANY", "My company"),
			{Name: "leadId", Upper: "LEAD_ID", Column: "lead_id", Type: tLead, Title: "Lead", Settings: settingsParent(1), linkType: 1},
		},
		fCommunication(),
		fAudit(), fSource(), fOrigin(), fActivity(),
		[]*Field{fMultifield(), ufMarker, fObservers(), fEntityTypeID()},
	)
}
