package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/store"
)

// The card layout of a type (Bitrix24's crm.item.details.configuration): the sections
// an item's card shows and the fields in each, common to everyone or a person's own. A
// person's own layout wins over the common one; without either the card shows
// DefaultCardLayout.

// CardSection is a titled group of fields on the card.
type CardSection struct {
	Name   string
	Title  string
	Fields []FieldName
}

// CardScope says whose layout it is.
type CardScope string

// Scopes as Bitrix24 spells them.
const (
	ScopePersonal CardScope = "P"
	ScopeCommon   CardScope = "C"
)

// noCategory is the funnel column of layouts that hold for every funnel.
const noCategory = -1

// Bounds of a layout: a card is for people, not for storing data.
const (
	maxCardSections = 50
	maxCardTitle    = 255
)

type cardSectionJSON struct {
	Name   string   `json:"name"`
	Title  string   `json:"title"`
	Fields []string `json:"fields"`
}

// CardLayout returns the layout the user sees and its scope: the user's own, else the
// common one, else the default (scope "").
func (s *Service) CardLayout(ctx context.Context, actor access.Actor, etid, userID int64) ([]CardSection, CardScope, error) {
	t, err := s.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, "", err
	}
	raw, scope, err := ownOrCommon(userID, func(user int64) (string, error) { return s.st.CardLayout(ctx, etid, noCategory, user) })
	if err != nil {
		return nil, "", err
	}
	if scope == "" {
		return DefaultCardLayout(t), "", nil
	}
	var secs []cardSectionJSON
	if err := json.Unmarshal([]byte(raw), &secs); err != nil {
		return nil, "", err
	}
	out := make([]CardSection, 0, len(secs))
	for _, sec := range secs {
		cs := CardSection{Name: sec.Name, Title: sec.Title}
		for _, n := range sec.Fields {
			// A field dropped since the layout was saved is left out.
			if f, ok := t.FieldByName(n); ok {
				cs.Fields = append(cs.Fields, f.Name)
			}
		}
		out = append(out, cs)
	}
	return out, scope, nil
}

// ownOrCommon reads a per-type setting a person may have their own of (the card
// layout, the Kanban card fields): the user's own, else the common one (user 0); scope
// "" when there is neither.
func ownOrCommon(userID int64, read func(user int64) (string, error)) (string, CardScope, error) {
	for _, c := range []struct {
		user  int64
		scope CardScope
	}{{userID, ScopePersonal}, {0, ScopeCommon}} {
		if c.user <= 0 && c.scope == ScopePersonal {
			continue
		}
		raw, err := read(c.user)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		return raw, c.scope, nil
	}
	return "", "", nil
}

// SetCardLayout saves a layout: the common one (an administrator's setting) or a
// user's own (the user's, or an administrator's for them).
func (s *Service) SetCardLayout(ctx context.Context, actor access.Actor, etid int64, scope CardScope, userID int64, sections []CardSection) error {
	t, user, err := s.cardLayoutTarget(ctx, actor, etid, scope, userID)
	if err != nil {
		return err
	}
	if len(sections) == 0 || len(sections) > maxCardSections {
		return &Error{Kind: ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("A card layout has 1 to %d sections", maxCardSections)}
	}
	secs := make([]cardSectionJSON, len(sections))
	seen := map[string]bool{}
	for i, sec := range sections {
		if sec.Name == "" || utf8.RuneCountInString(sec.Name) > maxCardTitle || utf8.RuneCountInString(sec.Title) > maxCardTitle {
			return &Error{Kind: ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("Section %d needs a name and a title of at most %d characters", i+1, maxCardTitle)}
		}
		if seen[sec.Name] {
			return &Error{Kind: ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("Two sections are named %q", sec.Name)}
		}
		seen[sec.Name] = true
		secs[i] = cardSectionJSON{Name: sec.Name, Title: sec.Title, Fields: []string{}}
		for _, n := range sec.Fields {
			f, ok := t.FieldByName(string(n))
			if !ok || f.Hidden {
				return &Error{Kind: ErrInvalidArg, Field: string(n), Msg: fmt.Sprintf("Unknown field %q of %q in section %q", n, t.Title, sec.Name)}
			}
			secs[i].Fields = append(secs[i].Fields, string(f.Name))
		}
	}
	b, err := json.Marshal(secs)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error { return tx.SetCardLayout(ctx, etid, noCategory, user, string(b)) })
}

// ResetCardLayout drops a layout: a user's own, or the common one.
func (s *Service) ResetCardLayout(ctx context.Context, actor access.Actor, etid int64, scope CardScope, userID int64) error {
	_, user, err := s.cardLayoutTarget(ctx, actor, etid, scope, userID)
	if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteCardLayouts(ctx, etid, noCategory, user) })
}

// ForceCommonCardLayout drops every personal layout of a type, so everyone sees the
// common one.
func (s *Service) ForceCommonCardLayout(ctx context.Context, actor access.Actor, etid int64) error {
	if _, _, err := s.cardLayoutTarget(ctx, actor, etid, ScopeCommon, 0); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteCardLayouts(ctx, etid, noCategory, -1) })
}

// cardLayoutTarget checks who may change which layout and returns the user column.
func (s *Service) cardLayoutTarget(ctx context.Context, actor access.Actor, etid int64, scope CardScope, userID int64) (*Type, int64, error) {
	t, err := s.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, 0, err
	}
	switch CardScope(strings.ToUpper(string(scope))) {
	case ScopeCommon:
		if err := s.allow(actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "card"}); err != nil {
			return nil, 0, err
		}
		return t, 0, nil
	case ScopePersonal, "":
		if userID == 0 {
			userID = actor.UserID
		}
		if userID != actor.UserID && !actor.IsAdmin {
			return nil, 0, newErr(ErrAccessDenied, "Access denied")
		}
		return t, userID, nil
	}
	return nil, 0, &Error{Kind: ErrInvalidArg, Field: "scope", Msg: fmt.Sprintf("Scope must be P or C, got %q", scope)}
}

// DefaultCardLayout is the card of a type nobody has laid out: the main fields, the
// client and links, the dates, then the custom fields.
func DefaultCardLayout(t *Type) []CardSection {
	main := CardSection{Name: "main", Title: "About"}
	client := CardSection{Name: "client", Title: "Client and links"}
	more := CardSection{Name: "additional", Title: "More"}
	custom := CardSection{Name: "custom", Title: "Custom fields"}
	mainNames := map[FieldName]bool{FieldTitle: true, FieldFirstName: true, FieldLastName: true, FieldSecondName: true,
		FieldStageID: true, FieldOpportunity: true, FieldCurrencyID: true, FieldAssignedByID: true, FieldFM: true,
		FieldBegindate: true, FieldClosedate: true}
	for _, f := range t.Fields() {
		if f.Hidden || f.Deprecated || !t.Enabled(f) || f.Name == FieldID || f.Name == FieldEntityTypeID {
			continue
		}
		if f.Name == FieldFullName || f.Name == FieldCategoryID || f.Name == FieldPreviousStageID || f.Name == FieldIsManualOpportunity ||
			f.Name == FieldTaxValue || f.Name == FieldStageSemanticID || f.Name == FieldClosed || f.Name == FieldIsNew ||
			f.Name == FieldHasPhone || f.Name == FieldHasEmail || f.Name == FieldHasImol || f.Column == "" {
			continue
		}
		switch {
		case mainNames[f.Name]:
			main.Fields = append(main.Fields, f.Name)
		case f.UserField() != nil:
			custom.Fields = append(custom.Fields, f.Name)
		case f.ParentType != 0 || f.LinkType != 0:
			client.Fields = append(client.Fields, f.Name)
		default:
			more.Fields = append(more.Fields, f.Name)
		}
	}
	out := []CardSection{main}
	for _, s := range []CardSection{client, custom, more} {
		if len(s.Fields) > 0 {
			out = append(out, s)
		}
	}
	return out
}
