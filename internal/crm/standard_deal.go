package crm

import (
	"fmt"

	"smartcrm/internal/field"
)

// Deals (entityTypeId 2): funnels whose default one has id 0, stage directories
// DEAL_STAGE (funnel 0) and DEAL_STAGE_{id}, STATUS_IDs NEW and C{id}:NEW.
var dealType = &standardType{
	etid: 2, code: "DEAL", title: "Deal",
	flags:  []Flag{FlagCategories, FlagStages, FlagBeginCloseDates, FlagClient, FlagLinkWithProducts, FlagSource, FlagObservers},
	fields: dealFields,
	stages: []defaultStage{
		{"NEW", "New", "#39A8EF", "", 10, true},
		{"PREPARATION", "Preparing documents", "#2FC6F6", "", 20, false},
		{"PREPAYMENT_INVOICE", "Prepayment invoice", "#55D0E0", "", 30, false},
		{"EXECUTING", "In progress", "#47E4C2", "", 40, false},
		{"FINAL_INVOICE", "Final invoice", "#FFA900", "", 50, false},
		{"WON", "Deal won", "#7BD500", "S", 60, true},
		{"LOSE", "Deal lost", "#FF5752", "F", 70, true},
		{"APOLOGY", "Analyze failure", "#FF5752", "F", 80, false},
	},
	stageDirectory: func(cat int64) string {
		if cat == 0 {
			return "DEAL_STAGE"
		}
		return fmt.Sprintf("DEAL_STAGE_%d", cat)
	},
	stagePrefix: func(cat int64) string {
		if cat == 0 {
			return ""
		}
		return fmt.Sprintf("C%d", cat)
	},
	firstCategoryID: 0, firstCategory: "General", maxStatusIDLength: 22,
	indexes: [][]string{{"category_id", "stage_id", "id"}, {"assigned_by_id", "id"}, {"company_id"}, {"created_time"}, {"updated_time"}},
}

func dealFields(t *Type) []*Field {
	stageDir := "DEAL_STAGE"
	return concat(
		[]*Field{
			fID(),
			fTitle("Name"),
			fDirectory("typeId", "Type", "DEAL_TYPE"),
			// Deals' default funnel is 0, so 0 is a funnel here, not "no value".
			{Name: FieldCategoryID, Column: "category_id", Type: field.Integer{TypeName: "crm_category"}, Title: "Pipeline", NotEmptied: true},
			{Name: FieldStageID, Column: "stage_id", Type: tStatus, Title: "Stage", Directory: stageDir, NotEmptied: true},
			{Name: FieldStageSemanticID, Column: "stage_semantic_id", Type: tString, Title: "Stage group", ReadOnly: true, untracked: true},
			{Name: FieldPreviousStageID, Column: "previous_stage_id", Type: tStatus, Title: "Previous stage", ReadOnly: true, Directory: stageDir, untracked: true},
			{Name: FieldIsNew, Column: "is_new", Type: tFlag, Title: "New deal", ReadOnly: true, untracked: true},
			fFlag("isRecurring", "Recurring deal"),
			{Name: "isReturnCustomer", Column: "is_return_customer", Type: tFlag, Title: "Repeat deal", ReadOnly: true},
			{Name: "isRepeatedApproach", Column: "is_repeated_approach", Type: tFlag, Title: "Repeat inquiry", ReadOnly: true},
			{Name: "probability", Column: "probability", Type: tPercent, Title: "Probability"},
		},
		fProducts(),
		fClient(),
		[]*Field{
			fLead(),
			{Name: FieldBegindate, Column: "begindate", Type: tDate, Title: "Start date"},
			{Name: FieldClosedate, Column: "closedate", Type: tDate, Title: "Estimated close date"},
			{Name: FieldOpened, Column: "opened", Type: tFlag, Title: "Available to everyone", Required: true, NotEmptied: true},
			{Name: FieldClosed, Column: "closed", Type: tFlag, Title: "Closed", ReadOnly: true, untracked: true},
			fLongText("comments", "Comment"),
			fLongText("additionalInfo", "Additional information"),
		},
		fAudit(), fMoved(), fSource(), fOrigin(), fActivity(),
		[]*Field{ufMarker, fObservers(), fEntityTypeID()},
	)
}
