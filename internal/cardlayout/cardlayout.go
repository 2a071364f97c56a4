// Package cardlayout is the card layout of a type (Bitrix24's
// crm.item.details.configuration): the sections an item's card shows and the fields in
// each, common to everyone or a person's own. A person's own layout wins over the
// common one; without either the card shows Default.
package cardlayout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// Section is a titled group of fields on the card.
type Section struct {
	Name   string
	Title  string
	Fields []crm.FieldName
}

// Scope says whose layout it is.
type Scope string

// Scopes as Bitrix24 spells them.
const (
	ScopePersonal Scope = "P"
	ScopeCommon   Scope = "C"
)

// noCategory is the funnel column of layouts that hold for every funnel.
const noCategory = -1

// Bounds of a layout: a card is for people, not for storing data.
const (
	maxSections  = 50
	maxCardTitle = 255
)

// Service reads and writes layouts.
type Service struct{ crm *crm.Service }

// New returns the layouts of the types crmSvc holds.
func New(crmSvc *crm.Service) *Service { return &Service{crm: crmSvc} }

type sectionJSON struct {
	Name   string   `json:"name"`
	Title  string   `json:"title"`
	Fields []string `json:"fields"`
}

// Get returns the layout the user sees and its scope: the user's own, else the
// common one, else the default (scope "").
func (s *Service) Get(ctx context.Context, actor access.Actor, etid, userID int64) ([]Section, Scope, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, "", err
	}
	raw, scope, err := ownOrCommon(userID, func(user int64) (string, error) { return s.crm.Store().CardLayout(ctx, etid, noCategory, user) })
	if err != nil {
		return nil, "", err
	}
	if scope == "" {
		return Default(t), "", nil
	}
	var secs []sectionJSON
	if err := json.Unmarshal([]byte(raw), &secs); err != nil {
		return nil, "", err
	}
	out := make([]Section, 0, len(secs))
	for _, sec := range secs {
		cs := Section{Name: sec.Name, Title: sec.Title}
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
func ownOrCommon(userID int64, read func(user int64) (string, error)) (string, Scope, error) {
	for _, c := range []struct {
		user  int64
		scope Scope
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

// Set saves a layout: the common one (an administrator's setting) or a
// user's own (the user's, or an administrator's for them).
func (s *Service) Set(ctx context.Context, actor access.Actor, etid int64, scope Scope, userID int64, sections []Section) error {
	t, user, err := s.target(ctx, actor, etid, scope, userID)
	if err != nil {
		return err
	}
	if len(sections) == 0 || len(sections) > maxSections {
		return &crm.Error{Kind: crm.ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("A card layout has 1 to %d sections", maxSections)}
	}
	secs := make([]sectionJSON, len(sections))
	seen := map[string]bool{}
	for i, sec := range sections {
		if sec.Name == "" || utf8.RuneCountInString(sec.Name) > maxCardTitle || utf8.RuneCountInString(sec.Title) > maxCardTitle {
			return &crm.Error{Kind: crm.ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("Section %d needs a name and a title of at most %d characters", i+1, maxCardTitle)}
		}
		if seen[sec.Name] {
			return &crm.Error{Kind: crm.ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("Two sections are named %q", sec.Name)}
		}
		seen[sec.Name] = true
		secs[i] = sectionJSON{Name: sec.Name, Title: sec.Title, Fields: []string{}}
		for _, n := range sec.Fields {
			f, ok := t.FieldByName(string(n))
			if !ok || f.Hidden {
				return &crm.Error{Kind: crm.ErrInvalidArg, Field: string(n), Msg: fmt.Sprintf("Unknown field %q of %q in section %q", n, t.Title, sec.Name)}
			}
			secs[i].Fields = append(secs[i].Fields, string(f.Name))
		}
	}
	b, err := json.Marshal(secs)
	if err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.SetCardLayout(ctx, etid, noCategory, user, string(b)) })
}

// Reset drops a layout: a user's own, or the common one.
func (s *Service) Reset(ctx context.Context, actor access.Actor, etid int64, scope Scope, userID int64) error {
	_, user, err := s.target(ctx, actor, etid, scope, userID)
	if err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.DeleteCardLayouts(ctx, etid, noCategory, user) })
}

// ForceCommon drops every personal layout of a type, so everyone sees the
// common one.
func (s *Service) ForceCommon(ctx context.Context, actor access.Actor, etid int64) error {
	if _, _, err := s.target(ctx, actor, etid, ScopeCommon, 0); err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.DeleteCardLayouts(ctx, etid, noCategory, -1) })
}

// target checks who may change which layout and returns the user column.
func (s *Service) target(ctx context.Context, actor access.Actor, etid int64, scope Scope, userID int64) (*crm.Type, int64, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, 0, err
	}
	switch Scope(strings.ToUpper(string(scope))) {
	case ScopeCommon:
		if err := s.crm.Allow(actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "card"}); err != nil {
			return nil, 0, err
		}
		return t, 0, nil
	case ScopePersonal, "":
		if userID == 0 {
			userID = actor.UserID
		}
		if userID != actor.UserID && !actor.IsAdmin {
			return nil, 0, crm.NewError(crm.ErrAccessDenied, "Access denied")
		}
		return t, userID, nil
	}
	return nil, 0, &crm.Error{Kind: crm.ErrInvalidArg, Field: "scope", Msg: fmt.Sprintf("Scope must be P or C, got %q", scope)}
}

// Default is the card of a type nobody has laid out: the main fields, the
// client and links, the dates, then the custom fields.
func Default(t *crm.Type) []Section {
	main := Section{Name: "main", Title: "About"}
	client := Section{Name: "client", Title: "Client and links"}
	more := Section{Name: "additional", Title: "More"}
	custom := Section{Name: "custom", Title: "Custom fields"}
	mainNames := map[crm.FieldName]bool{crm.FieldTitle: true, crm.FieldFirstName: true, crm.FieldLastName: true, crm.FieldSecondName: true,
		crm.FieldStageID: true, crm.FieldOpportunity: true, crm.FieldCurrencyID: true, crm.FieldAssignedByID: true, crm.FieldFM: true,
		crm.FieldBegindate: true, crm.FieldClosedate: true}
	for _, f := range t.Fields() {
		if f.Hidden || f.Deprecated || !t.Enabled(f) || f.Name == crm.FieldID || f.Name == crm.FieldEntityTypeID {
			continue
		}
		if f.Name == crm.FieldFullName || f.Name == crm.FieldCategoryID || f.Name == crm.FieldPreviousStageID || f.Name == crm.FieldIsManualOpportunity ||
			f.Name == crm.FieldTaxValue || f.Name == crm.FieldStageSemanticID || f.Name == crm.FieldClosed || f.Name == crm.FieldIsNew ||
			f.Name == crm.FieldHasPhone || f.Name == crm.FieldHasEmail || f.Name == crm.FieldHasImol || f.Column == "" {
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
	out := []Section{main}
	for _, s := range []Section{client, custom, more} {
		if len(s.Fields) > 0 {
			out = append(out, s)
		}
	}
	return out
}
