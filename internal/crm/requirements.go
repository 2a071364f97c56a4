package crm

import "fmt"

// Fields required from a stage onward (package stagerules sets the rules): an item
// cannot enter the rule's stage or any later stage of that funnel without the field.
// Failure stages never demand it: a lost deal need not be complete.

// Requirements are the type's rules: a field required from a stage of a funnel on.
func (t *Type) Requirements() []Requirement {
	var out []Requirement
	for _, r := range t.requirements {
		if f, ok := t.FieldByName(r.FieldName); ok {
			out = append(out, Requirement{Field: f, CategoryID: r.CategoryID, FromStageID: r.FromStageID})
		}
	}
	return out
}

// Requirement is a rule: Field is required from stage FromStageID of a funnel on.
type Requirement struct {
	Field       *Field
	CategoryID  int64
	FromStageID string
}

// checkStageRequirements refuses a change that leaves a required field empty in the
// item's stage: when the item enters a stage at or after a rule's stage, every such
// field must hold a value; when it stays, clearing one is refused.
func (op *operation) checkStageRequirements() error {
	if len(op.t.requirements) == 0 {
		return nil
	}
	cat, stageID := op.after.CategoryID(), op.after.StageID()
	target := op.t.Stage(cat, stageID)
	if target == nil || target.Semantics == Failure {
		return nil
	}
	moved := op.before == nil || op.before.CategoryID() != cat || op.before.StageID() != stageID
	for _, r := range op.t.requirements {
		if r.CategoryID != cat {
			continue
		}
		from := op.t.Stage(cat, r.FromStageID)
		f, ok := op.t.FieldByName(r.FieldName)
		if from == nil || !ok || target.Sort < from.Sort {
			continue
		}
		if !moved && sameValue(op.before.values[f.Name], op.after.values[f.Name]) {
			continue // on a plain update only the fields it changes are checked
		}
		if isEmptyValue(op.after.values[f.Name]) {
			return &Error{Kind: ErrRequired, Field: string(f.Name),
				Msg: fmt.Sprintf("The \"%s\" field is required from the stage \"%s\" on", f.Title, from.Name)}
		}
	}
	return nil
}

// isEmptyValue: for a required field, zero is no value either: "amount required from
// Success" means a real amount (Bitrix24 judges with PHP's empty(), which agrees).
func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []int64:
		return len(t) == 0
	case []any:
		return len(t) == 0
	case int64:
		return t == 0
	case float64:
		return t == 0
	}
	return false
}
