package crm

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/store"
)

// Funnels (crm.category.*): every type has a default funnel from its creation; types
// with isCategoriesEnabled may have more.

// CategoryWire is a funnel as crm.category.get answers it.
func CategoryWire(c *store.CategoryRecord) jsonx.Map {
	return jsonx.Map{
		{K: "id", V: c.ID}, {K: "name", V: c.Name}, {K: "sort", V: c.Sort}, {K: "entityTypeId", V: c.EntityTypeID},
		{K: "isDefault", V: yn(c.IsDefault)}, {K: "isSystem", V: yn(c.IsSystem)}, {K: "code", V: c.Code},
	}
}

// Categories lists a type's funnels by sort.
func (s *Service) Categories(ctx context.Context, etid int64) ([]*store.CategoryRecord, error) {
	t, err := s.funnelType(ctx, etid)
	if err != nil {
		return nil, err
	}
	return t.categories, nil
}

// funnelType resolves the type of a crm.category call: leads, contacts and companies
// have no funnels a client can see.
func (s *Service) funnelType(ctx context.Context, etid int64) (*Type, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, err
	}
	if f := t.fieldIndex["categoryid"]; f == nil || f.Hidden {
		return nil, newErr(ErrNotSupported, "Entity type `%s` does not support pipelines", t.EntityName())
	}
	return t, nil
}

// Category reads one funnel of a type.
func (s *Service) Category(ctx context.Context, etid, id int64) (*store.CategoryRecord, error) {
	t, err := s.funnelType(ctx, etid)
	if err != nil {
		return nil, err
	}
	if c := t.category(id); c != nil {
		return c, nil
	}
	return nil, newErr(ErrItemNotFound, "Element not found")
}

// AddCategory creates a funnel with the five default stages.
func (s *Service) AddCategory(ctx context.Context, actor access.Actor, etid int64, in *params.Object) (*store.CategoryRecord, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if _, err := s.funnelType(ctx, etid); err != nil {
		return nil, err
	}
	var added *store.CategoryRecord
	err := s.changeFunnels(ctx, etid, func(tx *store.Tx, t *Type) error {
		if !t.Flag("isCategoriesEnabled") {
			return newErr(ErrNotSupported, "Smart process %q has custom pipelines switched off (isCategoriesEnabled = N)", t.Title)
		}
		c := &store.CategoryRecord{EntityTypeID: etid, Sort: 500}
		if err := readCategoryInput(c, in, true); err != nil {
			return err
		}
		if c.IsDefault {
			if err := tx.ClearDefaultCategory(ctx, etid); err != nil {
				return err
			}
		}
		var err error
		added, err = addCategory(ctx, tx, t, c.Name, c.Sort, c.IsDefault)
		return err
	})
	return added, err
}

// UpdateCategory renames, re-sorts or makes a funnel the default one.
func (s *Service) UpdateCategory(ctx context.Context, actor access.Actor, etid, id int64, in *params.Object) (*store.CategoryRecord, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if _, err := s.funnelType(ctx, etid); err != nil {
		return nil, err
	}
	var updated *store.CategoryRecord
	err := s.changeFunnels(ctx, etid, func(tx *store.Tx, t *Type) error {
		cur := t.category(id)
		if cur == nil {
			return newErr(ErrItemNotFound, "Element not found")
		}
		c := *cur
		wasDefault := c.IsDefault
		if err := readCategoryInput(&c, in, false); err != nil {
			return err
		}
		if wasDefault && !c.IsDefault {
			return &Error{Kind: ErrInvalidArg, Field: "isDefault",
				Msg: "The default pipeline stays the default until another pipeline is made the default"}
		}
		if c.IsDefault && !wasDefault && t.IsStandard() {
			return &Error{Kind: ErrInvalidArg, Field: "isDefault", Msg: "The default deal pipeline cannot be changed"}
		}
		if c.IsDefault && !wasDefault {
			if err := tx.ClearDefaultCategory(ctx, etid); err != nil {
				return err
			}
		}
		updated = &c
		return tx.UpdateCategory(ctx, &c)
	})
	return updated, err
}

// DeleteCategory removes a funnel that is not the default and holds no items.
func (s *Service) DeleteCategory(ctx context.Context, actor access.Actor, etid, id int64) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	if _, err := s.funnelType(ctx, etid); err != nil {
		return err
	}
	return s.changeFunnels(ctx, etid, func(tx *store.Tx, t *Type) error {
		c := t.category(id)
		if c == nil {
			return newErr(ErrItemNotFound, "Element not found")
		}
		if c.IsDefault {
			return newErr(ErrHasItems, "The default pipeline cannot be deleted")
		}
		if has, err := tx.HasItemsInFunnel(ctx, etid, id); err != nil || has {
			if err == nil {
				err = newErr(ErrHasItems, "The pipeline cannot be deleted while it has items")
			}
			return err
		}
		return tx.DeleteCategory(ctx, c)
	})
}

// changeFunnels runs a change to a type's funnels or stages in a transaction, with the
// type loaded inside it, and drops the cached types afterwards.
func (s *Service) changeFunnels(ctx context.Context, etid int64, fn func(tx *store.Tx, t *Type) error) error {
	if etid == 5 {
		return newErr(ErrNotSupported, "Entity type `INVOICE` is not supported")
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		t, err := s.loadType(ctx, tx, etid, true)
		if err != nil {
			return err
		}
		return fn(tx, t)
	})
	if err == nil {
		s.forgetTypes()
	}
	return err
}

func readCategoryInput(c *store.CategoryRecord, in *params.Object, adding bool) error {
	if in == nil {
		in = params.NewObject()
	}
	nameSeen := false
	for _, key := range in.Keys() {
		v, _ := in.Get(key)
		switch strings.ToLower(key) {
		case "name":
			nameSeen = true
			name, ok := params.String(v)
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				return &Error{Kind: ErrRequired, Field: "name", Msg: "Field 'NAME' is required"}
			}
			if utf8.RuneCountInString(name) > 255 || !utf8.ValidString(name) {
				return &Error{Kind: ErrInvalidArg, Field: "name", Msg: "Field 'NAME' must be at most 255 characters"}
			}
			c.Name = name
		case "sort":
			n, ok := params.Int(v)
			if !ok {
				return &Error{Kind: ErrInvalidArg, Field: "sort", Msg: "Field 'SORT' must be an integer"}
			}
			c.Sort = max(n, 0)
		case "isdefault":
			b, ok := params.Bool(v)
			if !ok {
				return &Error{Kind: ErrInvalidArg, Field: "isDefault", Msg: "Field 'IS_DEFAULT' must be Y or N"}
			}
			c.IsDefault = b
		}
	}
	if adding && !nameSeen {
		return &Error{Kind: ErrRequired, Field: "name", Msg: "Field 'NAME' is required"}
	}
	return nil
}

// errStageNotFound is the stage directory's own wording.
func errStageNotFound() error { return newErr(ErrItemNotFound, "Status is not found.") }

// isNotFound reports a store miss.
func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
