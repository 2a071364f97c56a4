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

// Requirement is a rule: Field is required from stage FromStageID of a funnel on.
type Requirement struct {
	Field       *Field
	CategoryID  int64
	FromStageID string
}

// Requirements lists a type's rules.
func (s *Service) Requirements(ctx context.Context, actor access.Actor, etid int64) ([]Requirement, error) {
	t, err := s.ItemType(ctx, actor, etid)
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
	return s.Run(ctx, actor, func(u *Unit) error { return u.RequireFromStage(etid, fieldName, stageID) })
}

// RequireFromStage sets a rule inside the unit.
func (u *Unit) RequireFromStage(etid int64, fieldName, stageID string) error {
	t, f, err := u.requirableField(etid, fieldName)
	if err != nil {
		return err
	}
	from := t.StageByStatusID(stageID)
	if from == nil {
		return &Error{Kind: ErrInvalidArg, Field: "stageId", Msg: fmt.Sprintf("Stage %q is not a stage of this smart process", stageID)}
	}
	if from.Semantics == Failure {
		return &Error{Kind: ErrInvalidArg, Field: "stageId", Msg: "Failure stages never demand fields; choose a stage in progress or the success stage"}
	}
	u.RegistryChanged()
	return u.tx.SetStageRequirement(u.ctx, etid, store.StageRequirement{CategoryID: from.CategoryID, FieldName: string(f.Name), FromStageID: from.StatusID})
}

// DropRequirement makes a field optional again in a funnel.
func (s *Service) DropRequirement(ctx context.Context, actor access.Actor, etid, categoryID int64, fieldName string) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.DropRequirement(etid, categoryID, fieldName) })
}

// DropRequirement removes a rule inside the unit.
func (u *Unit) DropRequirement(etid, categoryID int64, fieldName string) error {
	_, f, err := u.requirableField(etid, fieldName)
	if err != nil {
		return err
	}
	found, err := u.tx.DeleteStageRequirement(u.ctx, etid, categoryID, string(f.Name))
	if err == nil && !found {
		err = newErr(ErrItemNotFound, "No rule makes %s required in pipeline %d", f.Name, categoryID)
	}
	u.RegistryChanged()
	return err
}

// requirableField reads a type for a rule change and the field a person fills in (not
// system-set, stored in the table).
func (u *Unit) requirableField(etid int64, name string) (*Type, *Field, error) {
	t, err := u.itemType(etid)
	if err != nil {
		return nil, nil, err
	}
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "field"}); err != nil {
		return nil, nil, err
	}
	f, ok := t.FieldByName(name)
	if !ok || f.ReadOnly || f.Column == "" {
		return nil, nil, &Error{Kind: ErrInvalidArg, Field: "field", Msg: fmt.Sprintf("Field %q cannot be made required: it is unknown or set by the system", name)}
	}
	return t, f, nil
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
