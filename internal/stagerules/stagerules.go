// Package stagerules sets the fields required from a stage onward: an administrator
// says "from Approval on, the amount must be filled", and an item cannot enter Approval
// or any later stage of that funnel without it (crm's write path enforces the rules).
// Bitrix24 keeps such rules but offers no REST for them; ours are smartcrm.stage.*.
package stagerules

import (
	"context"
	"fmt"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// List lists a type's rules.
func List(ctx context.Context, svc *crm.Service, actor access.Actor, etid int64) ([]crm.Requirement, error) {
	t, err := svc.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	return t.Requirements(), nil
}

// Require makes a field required from a stage on, in that stage's funnel.
func Require(ctx context.Context, svc *crm.Service, actor access.Actor, etid int64, fieldName, stageID string) error {
	return svc.Run(ctx, actor, func(u *crm.Unit) error { return RequireIn(u, etid, fieldName, stageID) })
}

// RequireIn sets a rule inside the unit.
func RequireIn(u *crm.Unit, etid int64, fieldName, stageID string) error {
	t, f, err := requirableField(u, etid, fieldName)
	if err != nil {
		return err
	}
	from := t.StageByStatusID(stageID)
	if from == nil {
		return &crm.Error{Kind: crm.ErrInvalidArg, Field: "stageId", Msg: fmt.Sprintf("Stage %q is not a stage of this smart process", stageID)}
	}
	if from.Semantics == crm.Failure {
		return &crm.Error{Kind: crm.ErrInvalidArg, Field: "stageId", Msg: "Failure stages never demand fields; choose a stage in progress or the success stage"}
	}
	u.RegistryChanged()
	return u.Tx().SetStageRequirement(u.Ctx(), etid, store.StageRequirement{CategoryID: from.CategoryID, FieldName: string(f.Name), FromStageID: from.StatusID})
}

// Drop makes a field optional again in a funnel.
func Drop(ctx context.Context, svc *crm.Service, actor access.Actor, etid, categoryID int64, fieldName string) error {
	return svc.Run(ctx, actor, func(u *crm.Unit) error { return DropIn(u, etid, categoryID, fieldName) })
}

// DropIn removes a rule inside the unit.
func DropIn(u *crm.Unit, etid, categoryID int64, fieldName string) error {
	_, f, err := requirableField(u, etid, fieldName)
	if err != nil {
		return err
	}
	found, err := u.Tx().DeleteStageRequirement(u.Ctx(), etid, categoryID, string(f.Name))
	if err == nil && !found {
		err = crm.NewError(crm.ErrItemNotFound, "No rule makes %s required in pipeline %d", f.Name, categoryID)
	}
	u.RegistryChanged()
	return err
}

// requirableField reads a type for a rule change and the field a person fills in (not
// system-set, stored in the table).
func requirableField(u *crm.Unit, etid int64, name string) (*crm.Type, *crm.Field, error) {
	t, err := u.TypeOf(etid)
	if err != nil {
		return nil, nil, err
	}
	if err := u.Service().Allow(u.Actor(), access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "field"}); err != nil {
		return nil, nil, err
	}
	f, ok := t.FieldByName(name)
	if !ok || f.ReadOnly || f.Column == "" {
		return nil, nil, &crm.Error{Kind: crm.ErrInvalidArg, Field: "field", Msg: fmt.Sprintf("Field %q cannot be made required: it is unknown or set by the system", name)}
	}
	return t, f, nil
}
