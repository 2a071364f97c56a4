package crm

// FieldName names a field of an item: a system field (title, stageId) or a custom
// field (ufCrm5Amount). Code addresses system fields by these constants, never by
// string literals, so a rename is one change and a typo does not compile.
type FieldName string

// System fields of smart processes and the built-in types.
const (
	FieldID                  FieldName = "id"
	FieldXMLID               FieldName = "xmlId"
	FieldTitle               FieldName = "title"
	FieldCreatedBy           FieldName = "createdBy"
	FieldUpdatedBy           FieldName = "updatedBy"
	FieldMovedBy             FieldName = "movedBy"
	FieldCreatedTime         FieldName = "createdTime"
	FieldUpdatedTime         FieldName = "updatedTime"
	FieldMovedTime           FieldName = "movedTime"
	FieldCategoryID          FieldName = "categoryId"
	FieldOpened              FieldName = "opened"
	FieldStageID             FieldName = "stageId"
	FieldPreviousStageID     FieldName = "previousStageId"
	FieldStageSemanticID     FieldName = "stageSemanticId"
	FieldBegindate           FieldName = "begindate"
	FieldClosedate           FieldName = "closedate"
	FieldCompanyID           FieldName = "companyId"
	FieldCompanyIDs          FieldName = "companyIds"
	FieldContactID           FieldName = "contactId"
	FieldContactIDs          FieldName = "contactIds"
	FieldOpportunity         FieldName = "opportunity"
	FieldIsManualOpportunity FieldName = "isManualOpportunity"
	FieldTaxValue            FieldName = "taxValue"
	FieldCurrencyID          FieldName = "currencyId"
	FieldMycompanyID         FieldName = "mycompanyId"
	FieldSourceID            FieldName = "sourceId"
	FieldSourceDescription   FieldName = "sourceDescription"
	FieldWebformID           FieldName = "webformId"
	FieldAssignedByID        FieldName = "assignedById"
	FieldLastActivityBy      FieldName = "lastActivityBy"
	FieldLastActivityTime    FieldName = "lastActivityTime"
	FieldObservers           FieldName = "observers"
	FieldEntityTypeID        FieldName = "entityTypeId"
	FieldClosed              FieldName = "closed"
	FieldIsNew               FieldName = "isNew"
	FieldLeadID              FieldName = "leadId"
	FieldFirstName           FieldName = "name"
	FieldSecondName          FieldName = "secondName"
	FieldLastName            FieldName = "lastName"
	FieldFullName            FieldName = "fullName"
	FieldFM                  FieldName = "fm"
	FieldHasPhone            FieldName = "hasPhone"
	FieldHasEmail            FieldName = "hasEmail"
	FieldHasImol             FieldName = "hasImol"
)
