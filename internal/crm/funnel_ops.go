package crm

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/store"
)

// Funnels: every type with stages has a default funnel from its creation; types with
// isCategoriesEnabled may have more.

// CategorySpec is what a caller sets on a funnel; nil leaves a value as it is.
type CategorySpec struct {
	Name      *string
	Sort      *int64
	IsDefault *bool
	Code      *string // a stable name for process files
}

// Categories lists a type's funnels by sort.
func (s *Service) Categories(ctx context.Context, actor access.Actor, etid int64) ([]*Category, error) {
	t, err := s.funnelType(ctx, etid)
	if err != nil {
		return nil, err
	}
	return t.categories, s.allow(actor, access.ActRead, access.Resource{EntityTypeID: etid, Kind: "category"})
}

// funnelType resolves the type of a funnel call: leads, contacts and companies have no
// funnels a caller can see.
func (s *Service) funnelType(ctx context.Context, etid int64) (*Type, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, err
	}
	return t, t.checkFunnels()
}

func (t *Type) checkFunnels() error {
	if f := t.field(FieldCategoryID); f == nil || f.Hidden {
		return newErr(ErrNotSupported, "Entity type `%s` does not support pipelines", t.EntityName())
	}
	return nil
}

// Category reads one funnel of a type.
func (s *Service) Category(ctx context.Context, actor access.Actor, etid, id int64) (*Category, error) {
	cats, err := s.Categories(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	for _, c := range cats {
		if c.ID == id {
			return c, nil
		}
	}
	return nil, newErr(ErrItemNotFound, "Element not found")
}

// AddCategory creates a funnel with the type's default stages.
func (s *Service) AddCategory(ctx context.Context, actor access.Actor, etid int64, spec CategorySpec) (*Category, error) {
	var out *Category
	err := s.Run(ctx, actor, func(u *Unit) (err error) {
		out, err = u.AddCategory(etid, spec)
		return err
	})
	return out, err
}

// AddCategory creates a funnel inside the unit.
func (u *Unit) AddCategory(etid int64, spec CategorySpec) (*Category, error) {
	t, err := u.funnelType(etid)
	if err != nil {
		return nil, err
	}
	if !t.Flag(FlagCategories) {
		return nil, newErr(ErrNotSupported, "Smart process %q has custom pipelines switched off (isCategoriesEnabled = N)", t.Title)
	}
	if spec.Name == nil {
		return nil, &Error{Kind: ErrRequired, Field: "name", Msg: "Field 'NAME' is required"}
	}
	c := &Category{EntityTypeID: etid, Sort: 500}
	if err := c.apply(spec); err != nil {
		return nil, err
	}
	if c.IsDefault {
		if err := u.tx.ClearDefaultCategory(u.ctx, etid); err != nil {
			return nil, err
		}
	}
	added, err := u.addCategoryRecord(t, c.record())
	if err != nil {
		return nil, err
	}
	return added, u.Emit(change.Change{Entity: change.Category, Kind: change.Added, EntityTypeID: etid, ID: added.ID})
}

// UpdateCategory renames, re-sorts or makes a funnel the default one.
func (s *Service) UpdateCategory(ctx context.Context, actor access.Actor, etid, id int64, spec CategorySpec) (*Category, error) {
	var out *Category
	err := s.Run(ctx, actor, func(u *Unit) (err error) {
		out, err = u.UpdateCategory(etid, id, spec)
		return err
	})
	return out, err
}

// UpdateCategory changes a funnel inside the unit.
func (u *Unit) UpdateCategory(etid, id int64, spec CategorySpec) (*Category, error) {
	t, err := u.funnelType(etid)
	if err != nil {
		return nil, err
	}
	cur := t.Category(id)
	if cur == nil {
		return nil, newErr(ErrItemNotFound, "Element not found")
	}
	c := *cur
	wasDefault := c.IsDefault
	if err := c.apply(spec); err != nil {
		return nil, err
	}
	if wasDefault && !c.IsDefault {
		return nil, &Error{Kind: ErrInvalidArg, Field: "isDefault",
			Msg: "The default pipeline stays the default until another pipeline is made the default"}
	}
	if c.IsDefault && !wasDefault {
		if t.IsStandard() {
			return nil, &Error{Kind: ErrInvalidArg, Field: "isDefault", Msg: "The default deal pipeline cannot be changed"}
		}
		if err := u.tx.ClearDefaultCategory(u.ctx, etid); err != nil {
			return nil, err
		}
	}
	if err := u.tx.UpdateCategory(u.ctx, c.record()); err != nil {
		return nil, err
	}
	u.RegistryChanged()
	return &c, u.Emit(change.Change{Entity: change.Category, Kind: change.Updated, EntityTypeID: etid, ID: id})
}

// DeleteCategory removes a funnel that is not the default and holds no items.
func (s *Service) DeleteCategory(ctx context.Context, actor access.Actor, etid, id int64) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.DeleteCategory(etid, id) })
}

// DeleteCategory removes a funnel inside the unit.
func (u *Unit) DeleteCategory(etid, id int64) error {
	t, err := u.funnelType(etid)
	if err != nil {
		return err
	}
	c := t.Category(id)
	if c == nil {
		return newErr(ErrItemNotFound, "Element not found")
	}
	if c.IsDefault {
		return newErr(ErrHasItems, "The default pipeline cannot be deleted")
	}
	if has, err := u.tx.HasItemsInFunnel(u.ctx, etid, id); err != nil || has {
		if err == nil {
			err = newErr(ErrHasItems, "The pipeline cannot be deleted while it has items")
		}
		return err
	}
	if err := u.tx.DeleteCategory(u.ctx, c.record()); err != nil {
		return err
	}
	u.RegistryChanged()
	return u.Emit(change.Change{Entity: change.Category, Kind: change.Deleted, EntityTypeID: etid, ID: id})
}

// funnelType reads, inside the unit, the type whose funnels or stages change, after the
// access step.
func (u *Unit) funnelType(etid int64) (*Type, error) {
	if etid == 5 {
		return nil, newErr(ErrNotSupported, "Entity type `INVOICE` is not supported")
	}
	t, err := u.s.loadType(u.ctx, u.tx, etid, true)
	if err != nil {
		return nil, err
	}
	if err := t.checkFunnels(); err != nil {
		return nil, err
	}
	return t, u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "category"})
}

// apply sets what a spec gives on a funnel.
func (c *Category) apply(spec CategorySpec) error {
	if spec.Name != nil {
		name := strings.TrimSpace(*spec.Name)
		if name == "" {
			return &Error{Kind: ErrRequired, Field: "name", Msg: "Field 'NAME' is required"}
		}
		if utf8.RuneCountInString(name) > 255 || !utf8.ValidString(name) {
			return &Error{Kind: ErrInvalidArg, Field: "name", Msg: "Field 'NAME' must be at most 255 characters"}
		}
		c.Name = name
	}
	if spec.Sort != nil {
		c.Sort = max(*spec.Sort, 0)
	}
	if spec.IsDefault != nil {
		c.IsDefault = *spec.IsDefault
	}
	if spec.Code != nil {
		c.Code = *spec.Code
	}
	return nil
}

// isNotFound reports a store miss.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
