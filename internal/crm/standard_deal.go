package crm

import (
	"fmt"

	"smartcrm/internal/crm/field"
)

// Deals (entityTypeId 2): funnels whose default one has id 0, stage directories
// DEAL_STAGE (funnel 0) and DEAL_STAGE_{id}, STATUS_IDs NEW and C{id}:NEW.
var dealType = &standardType{
	etid: 2, code: "DEAL", title: "Deal",
	flags: []string{"isCategoriesEnabled", "isStagesEnabled", "isBeginCloseDatesEnabled", "isClientEnabled",
		"isLinkWithProductsEnabled", "isSourceEnabled", "isObserversEnabled"},
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
			fDirectory("typeId", "TYPE_ID", "Type", "DEAL_TYPE"),
			// Deals' default funnel is 0, so 0 is a funnel here, not "no value".
			{Name: "categoryId", Upper: "CATEGORY_ID", Column: "category_id", Type: field.Integer{TypeName: "crm_category"}, Title: "Pipeline", NotEmptied: true},
			{Name: "stageId", Upper: "STAGE_ID", Column: "stage_id", Type: tStatus, Title: "Stage", StatusType: stageDir, NotEmptied: true},
			{Name: "stageSemanticId", Upper: "STAGE_SEMANTIC_ID", Column: "stage_semantic_id", Type: tString, Title: "Stage group", ReadOnly: true, untracked: true},
			{Name: "previousStageId", Upper: "PREVIOUS_STAGE_ID", Column: "previous_stage_id", Type: tStatus, Title: "Previous stage", ReadOnly: true, StatusType: stageDir, untracked: true, Legacy: "-"},
			{Name: "isNew", Upper: "IS_NEW", Column: "is_new", Type: tFlag, Title: "New deal", ReadOnly: true, untracked: true},
			fFlag("isRecurring", "IS_RECURRING", "Recurring deal"),
			{Name: "isReturnCustomer", Upper: "IS_RETURN_CUSTOMER", Column: "is_return_customer", Type: tFlag, Title: "Repeat deal", ReadOnly: true},
			{Name: "isRepeatedApproach", Upper: "IS_REPEATED_APPROACH", Column: "is_repeated_approach", Type: tFlag, Title: "Repeat inquiry", ReadOnly: true},
			{Name: "probability", Upper: "PROBABILITY", Column: "probability", Type: tPercent, Title: "Probability"},
		},
		fProducts(),
		fClient(),
		[]*Field{
			{Name: "leadId", Upper: "LEAD_ID", Column: "lead_id", Type: tLead, Title: "Lead", Settings: settingsParent(1), linkType: 1},
			{Name: "begindate", Upper: "BEGINDATE", Column: "begindate", Type: tDate, Title: "Start date"},
			{Name: "closedate", Upper: "CLOSEDATE", Column: "closedate", Type: tDate, Title: "Estimated close date"},
			{Name: "opened", Upper: "OPENED", Column: "opened", Type: tFlag, Title: "Available to everyone", Required: true, NotEmptied: true},
			{Name: "closed", Upper: "CLOSED", Column: "closed", Type: tFlag, Title: "Closed", ReadOnly: true, untracked: true},
			fLongText("comments", "COMMENTS", "Comment"),
			fLongText("additionalInfo", "ADDITIONAL_INFO", "Additional information"),
		},
		fAudit(), fMoved(), fSource(), fOrigin(), fActivity(),
		[]*Field{ufMarker, fObservers(), fEntityTypeID()},
	)
}
