package crm

// Companies (entityTypeId 4): organisations, with phones and e-mails as multifield
// entries. No stages.
var companyType = &standardType{
	etid: 4, code: "COMPANY", title: "Company",
	flags:   []Flag{FlagSource, FlagObservers},
	fields:  companyFields,
	indexes: [][]string{{"assigned_by_id", "id"}, {"created_time"}, {"updated_time"}},
}

func companyFields(t *Type) []*Field {
	return concat(
		[]*Field{
			fID(),
			fTitle("Company name"),
			fDirectory("typeId", "Company type", "COMPANY_TYPE"),
			fDirectory("industry", "Industry", "INDUSTRY"),
			fDirectory("employees", "Employees", "EMPLOYEES"),
			{Name: FieldCurrencyID, Column: "currency_id", Type: tCurrency, Title: "Currency"},
			{Name: "revenue", Column: "revenue", Type: tDouble, Title: "Annual revenue", Money: true},
			{Name: FieldOpened, Column: "opened", Type: tFlag, Title: "Available to everyone", Required: true, NotEmptied: true},
			fLongText("comments", "Comment"),
			fLongText("bankingDetails", "Payment details"),
			fFlag("isMyCompany", "My company"),
			fLead(),
		},
		fCommunication(),
		fAudit(), fSource(), fOrigin(), fActivity(),
		[]*Field{fMultifield(), ufMarker, fObservers(), fEntityTypeID()},
	)
}
