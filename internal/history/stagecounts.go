package history

import (
	"context"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// StageStat is one stage of a funnel with its item count and amount.
type StageStat struct {
	Stage  *crm.Stage
	Items  int64
	Amount float64
}

// StageStats returns a funnel's stages in order with their counts and amounts, read
// from the counters the write path keeps (no scan of the items). Funnel 0 is the
// type's default one.
func (s *Service) StageStats(ctx context.Context, actor access.Actor, etid, categoryID int64) ([]StageStat, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	if categoryID == 0 {
		categoryID = t.DefaultCategory().ID
	}
	if t.Category(categoryID) == nil {
		return nil, crm.NewError(crm.ErrItemNotFound, "Pipeline %d not found", categoryID)
	}
	counts, err := s.crm.Store().StageCounts(ctx, etid, categoryID)
	if err != nil {
		return nil, err
	}
	by := map[string]store.StageCount{}
	for _, c := range counts {
		by[c.StageID] = c
	}
	var out []StageStat
	for _, st := range t.StagesOf(categoryID) {
		c := by[st.StatusID]
		out = append(out, StageStat{Stage: st, Items: c.Items, Amount: c.Amount})
	}
	return out, nil
}
