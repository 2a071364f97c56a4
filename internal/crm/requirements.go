package crm

import (
	"context"
	"fmt"

	"smartcrm/internal/access"
	"smartcrm/internal/store"
)

// Fields required from a stage onward: an administrator says "from Approval on, the
// amount must be filled", and an item cannot enter Approval or any later stage of that
// funnel without it. Failure stages never demand it: a lost deal need not be complete.
// Bitrix24 keeps such rules but offers no REST for them; ours are smartcrm.stage.*.

// Requirement is a rule as clients see it.
type Requirement struct {
	Field       *Field
	CategoryID  int64
	FromStageID string
}

// Requirements lists a type's rules.
func (s *Service) Requirements(ctx context.Context, etid int64) ([]Requirement, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, err
	}
	var out []Requirement
	for _, r := range t.requirements {
		if f, ok := t.FieldByName(r.FieldName); ok {
			out = append(out, Requirement{Field: f, CategoryID: r.CategoryID, FromStageID: r.FromStageID})
		}
	}
	return out, nil
}

// RequireFromStage makes a field required from a stage on, in that stage's funnel.
func (s *Service) RequireFromStage(ctx context.Context, actor access.Actor, etid int64, fieldName, stageID string) error {
	return s.changeRequirement(ctx, actor, etid, fieldName, func(tx *store.Tx, t *Type, f *Field) error {
		var from *store.StageRecord
		for _, st := range t.stages {
			if st.StatusID == stageID {
				from = st
			}
		}
		if from == nil {
			return &Error{Kind: ErrInvalidArg, Field: "stageId", Msg: fmt.Sprintf("Stage %q is not a stage of this smart process", stageID)}
		}
		if from.Semantics == "F" {
			return &Error{Kind: ErrInvalidArg, Field: "stageId", Msg: "Failure stages never demand fields; choose a stage in progress or the success stage"}
		}
		return tx.SetStageRequirement(ctx, etid, store.StageRequirement{CategoryID: from.CategoryID, FieldName: f.Name, FromStageID: from.StatusID})
	})
}

// DropRequirement makes a field optional again in a funnel.
func (s *Service) DropRequirement(ctx context.Context, actor access.Actor, etid, categoryID int64, fieldName string) error {
	return s.changeRequirement(ctx, actor, etid, fieldName, func(tx *store.Tx, t *Type, f *Field) error {
		found, err := tx.DeleteStageRequirement(ctx, etid, categoryID, f.Name)
		if err == nil && !found {
			err = newErr(ErrItemNotFound, "No rule makes %s required in pipeline %d", f.Name, categoryID)
		}
		return err
	})
}

// changeRequirement runs a change to a field's rules as an administrator, in the type's
// funnel transaction, with the field resolved.
func (s *Service) changeRequirement(ctx context.Context, actor access.Actor, etid int64, fieldName string, fn func(tx *store.Tx, t *Type, f *Field) error) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	return s.changeFunnels(ctx, etid, func(tx *store.Tx, t *Type) error {
		f, err := t.requirableField(fieldName)
		if err != nil {
			return err
		}
		return fn(tx, t, f)
	})
}

// requirableField: a field a person fills in (not system-set, stored in the table).
func (t *Type) requirableField(name string) (*Field, error) {
	f, ok := t.FieldByName(name)
	if !ok || f.ReadOnly || f.Column == "" {
		return nil, &Error{Kind: ErrInvalidArg, Field: "field", Msg: fmt.Sprintf("Field %q cannot be made required: it is unknown or set by the system", name)}
	}
	return f, nil
}

// checkStageRequirements refuses a change that leaves a required field empty in the
// item's stage: when the item enters a stage at or after a rule's stage, every such
// field must hold a value; when it stays, clearing one is refused.
func (op *operation) checkStageRequirements() error {
	if len(op.t.requirements) == 0 {
		return nil
	}
	cat, stageID := placement(op.after)
	target := op.t.stage(cat, stageID)
	if target == nil || target.Semantics == "F" {
		return nil
	}
	moved := op.before == nil
	if !moved {
		oldCat, oldStage := placement(op.before)
		moved = oldCat != cat || oldStage != stageID
	}
	for _, r := range op.t.requirements {
		if r.CategoryID != cat {
			continue
		}
		from := op.t.stage(cat, r.FromStageID)
		f, ok := op.t.FieldByName(r.FieldName)
		if from == nil || !ok || target.Sort < from.Sort {
			continue
		}
		if !moved && sameValue(op.before.values[f.Name], op.after.values[f.Name]) {
			continue // on a plain update only the fields it changes are checked
		}
		if isEmptyValue(op.after.values[f.Name]) {
			return &Error{Kind: ErrRequired, Field: f.Name,
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
