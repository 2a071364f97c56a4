package crm

import (
	"context"
	"fmt"
	"strings"

	"smartcrm/internal/field"
)

// checkReferences refuses values that point at nothing: users who do not exist or are
// inactive, CRM items that do not exist, directory codes the directory lacks. It looks
// at the caller's values only (what the system sets exists), inside the transaction
// that writes them, so an item deleted a moment before is not linked to.
func (op *operation) checkReferences(values map[*Field]any) error {
	for f, v := range values {
		if f.ParentType != 0 || f.LinkType != 0 {
			for _, e := range elements(v) {
				id, _ := e.(int64)
				if err := op.checkItemLink(f, id); err != nil {
					return err
				}
			}
			continue
		}
		for _, ref := range field.RefsOf(f.Type, v) {
			if err := op.checkRef(f, ref); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkItemLink checks a parent or client link.
func (op *operation) checkItemLink(f *Field, id int64) error {
	target := max(f.ParentType, f.LinkType)
	ok, err := op.u.ItemExists(target, id)
	if err != nil || ok {
		return err
	}
	what := "parent item"
	if name, known := standardTitle(target); known && f.ParentType == 0 {
		what = strings.ToLower(name)
	}
	return invalidValue(f, fmt.Errorf("the %s %d does not exist", what, id))
}

func (op *operation) checkRef(f *Field, ref field.Ref) error {
	switch ref.Kind {
	case field.RefUser:
		ok, err := op.u.s.users.Exists(op.u.ctx, ref.ID)
		if err != nil || ok {
			return err
		}
		return invalidValue(f, fmt.Errorf("user %d does not exist", ref.ID))
	case field.RefItem:
		ok, err := op.u.ItemExists(ref.EntityTypeID, ref.ID)
		if err != nil || ok {
			return err
		}
		return invalidValue(f, fmt.Errorf("%s: no such item", field.FormatBinding(ref.EntityTypeID, ref.ID)))
	case field.RefDirectory:
		stages, err := op.u.directoryStages(ref.Directory)
		if err != nil {
			return invalidValue(f, fmt.Errorf("directory %s does not exist", ref.Directory))
		}
		for _, st := range stages {
			if st.StatusID == ref.Code {
				return nil
			}
		}
		return invalidValue(f, fmt.Errorf("%v is not a code of %s", ref.Code, ref.Directory))
	}
	return nil
}

// ItemExists reports, inside the unit, whether an item exists. Standard types without
// items on this server (quotes, invoices) hold none, so links to them point at nothing.
func (u *Unit) ItemExists(etid, id int64) (bool, error) {
	if _, err := u.typeOf(etid); err != nil {
		if KindOf(err) == ErrTypeNotFound {
			return false, nil
		}
		return false, err
	}
	return u.tx.ItemExists(u.ctx, etid, id)
}

// UserExists reports whether id is an active user, for the packages beside this one
// that name people; it shares the item fields' cache.
func (s *Service) UserExists(ctx context.Context, id int64) (bool, error) {
	return s.users.Exists(ctx, id)
}
