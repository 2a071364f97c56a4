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
	// Options are what Bitrix24 keeps per element beside its name: optionFlags (1:
	// always shown) and options (defaultAddressType, isPayButtonVisible…); only the
	// fields that have any are here.
	Options map[crm.FieldName]ElementOptions
}

// ElementOptions are one element's optionFlags and options, kept as given.
type ElementOptions struct {
	Flags   int64             `json:"flags,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// Scope says whose layout it is.
type Scope string

// Scopes as Bitrix24 spells them.
const (
	ScopePersonal Scope = "P"
	ScopeCommon   Scope = "C"
)

// AllFunnels is the funnel of layouts that hold for every funnel of a type: what the
// web editor and process files set, and what a funnel without its own layout shows.
const AllFunnels = -1

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
	Name    string                    `json:"name"`
	Title   string                    `json:"title"`
	Fields  []string                  `json:"fields"`
	Options map[string]ElementOptions `json:"options,omitempty"`
}

// Get returns the layout the user sees on the cards of every funnel and its scope:
// the user's own, else the common one, else the default (scope "").
func (s *Service) Get(ctx context.Context, actor access.Actor, etid, userID int64) ([]Section, Scope, error) {
	return s.GetFunnel(ctx, actor, etid, AllFunnels, userID)
}

// GetFunnel is Get for the cards of one funnel (AllFunnels: of every funnel): the
// funnel's own layouts come first, then those of every funnel.
func (s *Service) GetFunnel(ctx context.Context, actor access.Actor, etid, cat, userID int64) ([]Section, Scope, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, "", err
	}
	var raw string
	var scope Scope
	for _, c := range funnelsOf(cat) {
		raw, scope, err = ownOrCommon(userID, func(user int64) (string, error) { return s.crm.Store().CardLayout(ctx, etid, c, user) })
		if err != nil || scope != "" {
			break
		}
	}
	if err != nil {
		return nil, "", err
	}
	if scope == "" {
		return Default(t), "", nil
	}
	secs, err := decode(t, raw)
	return secs, scope, err
}

// funnelsOf lists where a funnel's layouts are looked for, in order.
func funnelsOf(cat int64) []int64 {
	if cat < 0 {
		return []int64{AllFunnels}
	}
	return []int64{cat, AllFunnels}
}

// decode reads a stored layout, leaving out fields dropped since it was saved.
func decode(t *crm.Type, raw string) ([]Section, error) {
	var secs []sectionJSON
	if err := json.Unmarshal([]byte(raw), &secs); err != nil {
		return nil, err
	}
	out := make([]Section, 0, len(secs))
	for _, sec := range secs {
		cs := Section{Name: sec.Name, Title: sec.Title}
		for _, n := range sec.Fields {
			if f, ok := t.FieldByName(n); ok {
				cs.Fields = append(cs.Fields, f.Name)
				if o, has := sec.Options[n]; has {
					if cs.Options == nil {
						cs.Options = map[crm.FieldName]ElementOptions{}
					}
					cs.Options[f.Name] = o
				}
			}
		}
		out = append(out, cs)
	}
	return out, nil
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

// Set saves a layout for every funnel: the common one (an administrator's setting) or
// a user's own (the user's, or an administrator's for them).
func (s *Service) Set(ctx context.Context, actor access.Actor, etid int64, scope Scope, userID int64, sections []Section) error {
	return s.SetFunnel(ctx, actor, etid, AllFunnels, scope, userID, sections)
}

// SetFunnel is Set for the cards of one funnel (AllFunnels: of every funnel).
func (s *Service) SetFunnel(ctx context.Context, actor access.Actor, etid, cat int64, scope Scope, userID int64, sections []Section) error {
	t, user, err := s.target(ctx, actor, etid, cat, scope, userID)
	if err != nil {
		return err
	}
	b, err := encode(t, sections)
	if err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.SetCardLayout(ctx, etid, cat, user, b) })
}

// encode checks a layout against its type and writes it as stored.
func encode(t *crm.Type, sections []Section) (string, error) {
	if len(sections) == 0 || len(sections) > maxSections {
		return "", &crm.Error{Kind: crm.ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("A card layout has 1 to %d sections", maxSections)}
	}
	secs := make([]sectionJSON, len(sections))
	seen := map[string]bool{}
	for i, sec := range sections {
		if sec.Name == "" || utf8.RuneCountInString(sec.Name) > maxCardTitle || utf8.RuneCountInString(sec.Title) > maxCardTitle {
			return "", &crm.Error{Kind: crm.ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("Section %d needs a name and a title of at most %d characters", i+1, maxCardTitle)}
		}
		if seen[sec.Name] {
			return "", &crm.Error{Kind: crm.ErrInvalidArg, Field: "data", Msg: fmt.Sprintf("Two sections are named %q", sec.Name)}
		}
		seen[sec.Name] = true
		secs[i] = sectionJSON{Name: sec.Name, Title: sec.Title, Fields: []string{}}
		for _, n := range sec.Fields {
			f, ok := t.FieldByName(string(n))
			if !ok || f.Hidden {
				return "", &crm.Error{Kind: crm.ErrInvalidArg, Field: string(n), Msg: fmt.Sprintf("Unknown field %q of %q in section %q", n, t.Title, sec.Name)}
			}
			secs[i].Fields = append(secs[i].Fields, string(f.Name))
			if o, has := sec.Options[n]; has && (o.Flags != 0 || len(o.Options) > 0) {
				if secs[i].Options == nil {
					secs[i].Options = map[string]ElementOptions{}
				}
				secs[i].Options[string(f.Name)] = o
			}
		}
	}
	b, err := json.Marshal(secs)
	return string(b), err
}

// Reset drops a layout for every funnel: a user's own, or the common one.
func (s *Service) Reset(ctx context.Context, actor access.Actor, etid int64, scope Scope, userID int64) error {
	return s.ResetFunnel(ctx, actor, etid, AllFunnels, scope, userID)
}

// ResetFunnel is Reset for one funnel's layout (AllFunnels: the one of every funnel).
func (s *Service) ResetFunnel(ctx context.Context, actor access.Actor, etid, cat int64, scope Scope, userID int64) error {
	_, user, err := s.target(ctx, actor, etid, cat, scope, userID)
	if err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.DeleteCardLayouts(ctx, etid, cat, user) })
}

// ForceCommon drops every personal layout of a type's funnel (AllFunnels: those for
// every funnel), so everyone sees the common one.
func (s *Service) ForceCommon(ctx context.Context, actor access.Actor, etid, cat int64) error {
	if _, _, err := s.target(ctx, actor, etid, cat, ScopeCommon, 0); err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.DeleteCardLayouts(ctx, etid, cat, -1) })
}

// Common reads the common layout of every funnel as stored (a process file's export):
// nil when there is none, so the card shows Default.
func (s *Service) Common(ctx context.Context, actor access.Actor, etid int64) ([]Section, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	raw, err := s.crm.Store().CardLayout(ctx, etid, AllFunnels, 0)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decode(t, raw)
}

// SetCommonIn sets, inside a unit, the common layout of every funnel (nil sections:
// none, so the card shows Default): a process file's apply, with the type's new
// fields.
func SetCommonIn(u *crm.Unit, etid int64, sections []Section) error {
	if err := u.Service().Allow(u.Actor(), access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "card"}); err != nil {
		return err
	}
	if sections == nil {
		return u.Tx().DeleteCardLayouts(u.Ctx(), etid, AllFunnels, 0)
	}
	t, err := u.TypeOf(etid)
	if err != nil {
		return err
	}
	b, err := encode(t, sections)
	if err != nil {
		return err
	}
	return u.Tx().SetCardLayout(u.Ctx(), etid, AllFunnels, 0, b)
}

// target checks who may change which layout and returns the user column.
func (s *Service) target(ctx context.Context, actor access.Actor, etid, cat int64, scope Scope, userID int64) (*crm.Type, int64, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, 0, err
	}
	if cat != AllFunnels && t.Category(cat) == nil {
		return nil, 0, &crm.Error{Kind: crm.ErrInvalidArg, Field: "extras", Msg: fmt.Sprintf("%s has no pipeline %d", t.Title, cat)}
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
