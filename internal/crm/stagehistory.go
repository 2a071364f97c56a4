package crm

import (
	"context"

	"smartcrm/internal/store"
)

// StageHistory answers crm.stagehistory.list for a smart process: filter and order by
// the UPPER_CASE fields, 50 a page, start=-1 without counting.
func (s *Service) StageHistory(ctx context.Context, etid int64, filter, order any, start int64) ([]*store.StageMove, int, error) {
	if _, err := s.itemType(ctx, etid); err != nil {
		if KindOf(err) == ErrTypeNotFound {
			return nil, 0, newErr(ErrNotSupported, "Entity type %d is not supported", etid)
		}
		return nil, 0, err
	}
	where, ord, err := parseCatalogQuery(store.StageHistoryColumns(), "ID", filter, order)
	if err != nil {
		return nil, 0, err
	}
	rows, err := s.st.ListStageMoves(ctx, etid, where, ord, store.Page{Limit: PageSize, Offset: int(max(start, 0))})
	if err != nil {
		return nil, 0, err
	}
	total := -1
	if start != -1 {
		if total, err = s.st.CountStageMoves(ctx, etid, where); err != nil {
			return nil, 0, err
		}
	}
	return rows, total, nil
}

// StageStat is one stage of a funnel with its item count and amount.
type StageStat struct {
	Stage  *store.StageRecord
	Items  int64
	Amount float64
}

// StageStats returns a funnel's stages in order with their counts and amounts, read
// from the counters the write path keeps (no scan of the items).
func (s *Service) StageStats(ctx context.Context, etid, categoryID int64) ([]StageStat, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, err
	}
	if categoryID == 0 {
		categoryID = t.defaultCategory().ID
	}
	if t.category(categoryID) == nil {
		return nil, newErr(ErrItemNotFound, "Pipeline %d not found", categoryID)
	}
	counts, err := s.st.StageCounts(ctx, etid, categoryID)
	if err != nil {
		return nil, err
	}
	by := map[string]store.StageCount{}
	for _, c := range counts {
		by[c.StageID] = c
	}
	var out []StageStat
	for _, st := range t.stagesOf(categoryID) {
		c := by[st.StatusID]
		out = append(out, StageStat{Stage: st, Items: c.Items, Amount: c.Amount})
	}
	return out, nil
}
