package crm

// Leads (entityTypeId 1): one hidden funnel whose stages are the STATUS directory,
// STATUS_IDs without prefix. crm.item names the stage stageId, legacy methods STATUS_ID.
var leadType = &standardType{
	etid: 1, code: "LEAD", title: "Lead",
	flags:  []Flag{FlagStages, FlagClient, FlagLinkWithProducts, FlagSource, FlagObservers},
	fields: leadFields,
	stages: []defaultStage{
		{"NEW", "Unassigned", "#39A8EF", "", 10, true},
		{"IN_PROCESS", "In progress", "#2FC6F6", "", 20, false},
		{"PROCESSED", "Processed", "#55D0E0", "", 30, false},
		{"CONVERTED", "Good lead", "#7BD500", "S", 40, true},
		{"JUNK", "Junk lead", "#FF5752", "F", 50, true},
	},
	stageDirectory:    func(int64) string { return "STATUS" },
	stagePrefix:       func(int64) string { return "" },
	firstCategoryID:   -1,
	firstCategory:     "Leads",
	maxStatusIDLength: 21,
	indexes:           [][]string{{"category_id", "stage_id", "id"}, {"assigned_by_id", "id"}, {"created_time"}, {"updated_time"}},
}

func leadFields(t *Type) []*Field {
	return concat(
		[]*Field{fID(), fTitle("Lead name")},
		fPerson(),
		[]*Field{
			fText("companyTitle", "Company name"),
			fHiddenCategory(),
			{Name: FieldStageID, Column: "stage_id", Type: tStatus, Title: "Status", Directory: "STATUS", NotEmptied: true},
			{Name: FieldStageSemanticID, Column: "stage_semantic_id", Type: tString, Title: "Status group", ReadOnly: true, untracked: true},
			{Name: FieldPreviousStageID, Column: "previous_stage_id", Type: tStatus, Title: "Previous status", ReadOnly: true, Directory: "STATUS", untracked: true},
			fLongText("statusDescription", "Status information"),
		},
		fProducts(),
		fClient(),
		[]*Field{
			{Name: "isReturnCustomer", Column: "is_return_customer", Type: tFlag, Title: "Repeat lead", ReadOnly: true},
			{Name: FieldClosedate, Column: "closedate", Type: tDate, Title: "Completed on"},
			{Name: FieldOpened, Column: "opened", Type: tFlag, Title: "Available to everyone", Required: true, NotEmptied: true},
			fLongText("comments", "Comment"),
		},
		fCommunication(),
		fAudit(), fMoved(), fSource(), fOrigin(), fActivity(),
		[]*Field{fMultifield(), ufMarker, fObservers(), fEntityTypeID()},
	)
}
