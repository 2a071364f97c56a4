package cardlayout

import (
	"context"
	"encoding/json"
	"fmt"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// The fields a type's Kanban cards show below the title, responsible and amount,
// chosen in the card layout editor: common to everyone or a person's own, like the
// card layout itself. Without a choice the cards show the first custom fields marked
// "show in list" (KanbanDefault).

// MaxKanbanFields bounds the fields a Kanban card shows: a card is a glance.
const MaxKanbanFields = 5

// KanbanFields returns the fields the user's cards show and the scope they come from:
// the user's own, else the common choice, else the default (scope "").
func (s *Service) KanbanFields(ctx context.Context, actor access.Actor, etid, userID int64) ([]*crm.Field, Scope, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, "", err
	}
	raw, scope, err := ownOrCommon(userID, func(user int64) (string, error) { return s.crm.Store().KanbanCardFields(ctx, etid, user) })
	if err != nil {
		return nil, "", err
	}
	if scope == "" {
		return KanbanDefault(t), "", nil
	}
	var names []string
	if err := json.Unmarshal([]byte(raw), &names); err != nil {
		return nil, "", err
	}
	out := []*crm.Field{}
	for _, n := range names {
		// A field dropped since the choice was saved is left out.
		if f, ok := t.FieldByName(n); ok && !f.Hidden && t.Enabled(f) {
			out = append(out, f)
		}
	}
	return out, scope, nil
}

// KanbanDefault is what cards show when nobody chose: the first custom fields marked
// "show in list".
func KanbanDefault(t *crm.Type) []*crm.Field {
	var out []*crm.Field
	for _, f := range t.Fields() {
		if uf := f.UserField(); uf != nil && uf.ShowInList && len(out) < 3 {
			out = append(out, f)
		}
	}
	return out
}

// SetKanbanFields saves the fields cards show: the common choice (an administrator's
// setting) or a user's own.
func (s *Service) SetKanbanFields(ctx context.Context, actor access.Actor, etid int64, scope Scope, userID int64, names []crm.FieldName) error {
	t, user, err := s.target(ctx, actor, etid, AllFunnels, scope, userID)
	if err != nil {
		return err
	}
	if len(names) > MaxKanbanFields {
		return &crm.Error{Kind: crm.ErrInvalidArg, Field: "kanban", Msg: fmt.Sprintf("A Kanban card shows at most %d fields", MaxKanbanFields)}
	}
	out := []string{}
	seen := map[crm.FieldName]bool{}
	for _, n := range names {
		f, ok := t.FieldByName(string(n))
		if !ok || f.Hidden {
			return &crm.Error{Kind: crm.ErrInvalidArg, Field: string(n), Msg: fmt.Sprintf("Unknown field %q of %q", n, t.Title)}
		}
		if !seen[f.Name] {
			seen[f.Name] = true
			out = append(out, string(f.Name))
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.SetKanbanCardFields(ctx, etid, user, string(b)) })
}

// ResetKanbanFields drops a user's own choice or the common one.
func (s *Service) ResetKanbanFields(ctx context.Context, actor access.Actor, etid int64, scope Scope, userID int64) error {
	_, user, err := s.target(ctx, actor, etid, AllFunnels, scope, userID)
	if err != nil {
		return err
	}
	return s.crm.Store().InTx(ctx, func(tx *store.Tx) error { return tx.DeleteKanbanCardFields(ctx, etid, user) })
}
