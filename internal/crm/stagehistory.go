package crm

import (
	"context"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// HistoryEntry is one row of an item's stage history: written in the transaction of
// each creation, move and funnel change (Bitrix24 keeps none for smart processes;
// analytics there parse timeline blobs).
type HistoryEntry struct {
	ID           int64
	EntityTypeID int64
	ItemID       int64
	Kind         int64 // 1 created, 2 moved to a stage in progress, 3 moved to a final stage, 5 funnel changed
	CategoryID   int64
	FromStageID  string
	StageID      string
	Semantics    Semantics
	CreatedBy    int64
	CreatedTime  time.Time
}

// HistoryQueryFields is the catalog stage-history lists filter and order on.
func HistoryQueryFields() []query.Field {
	return []query.Field{
		{Name: "id", Column: "id", Type: field.Integer{}},
		{Name: "typeId", Column: "type_id", Type: field.Integer{}},
		{Name: "ownerId", Column: "item_id", Type: field.Integer{}},
		{Name: "createdTime", Column: "created_time", Type: field.DateTime{}},
		{Name: "categoryId", Column: "category_id", Type: field.Integer{}},
		{Name: "stageSemanticId", Column: "stage_semantic_id", Type: field.Text{}},
		{Name: "stageId", Column: "stage_id", Type: field.Text{}},
		{Name: "fromStageId", Column: "from_stage_id", Type: field.Text{}},
		{Name: "createdBy", Column: "created_by", Type: field.Integer{}},
	}
}

// HistoryQuery is a page of a type's stage history.
type HistoryQuery struct {
	Where   query.Group // over HistoryQueryFields
	Order   []query.Order
	Offset  int
	NoCount bool
}

// StageHistory reads a page of a type's stage history, 50 a page.
func (s *Service) StageHistory(ctx context.Context, actor access.Actor, etid int64, q HistoryQuery) ([]*HistoryEntry, int, error) {
	if _, err := s.ItemType(ctx, actor, etid); err != nil {
		if KindOf(err) == ErrTypeNotFound {
			return nil, 0, newErr(ErrNotSupported, "Entity type %d is not supported", etid)
		}
		return nil, 0, err
	}
	order := withIDOrder(HistoryQueryFields(), "id", q.Order)
	rows, err := s.st.ListStageMoves(ctx, etid, q.Where, order, store.Page{Limit: PageSize, Offset: max(q.Offset, 0)})
	if err != nil {
		return nil, 0, err
	}
	out := make([]*HistoryEntry, len(rows))
	for i, m := range rows {
		out[i] = &HistoryEntry{ID: m.ID, EntityTypeID: m.EntityTypeID, ItemID: m.ItemID, Kind: m.TypeID, CategoryID: m.CategoryID,
			FromStageID: m.FromStageID, StageID: m.StageID, Semantics: Semantics(m.Semantic), CreatedBy: m.CreatedBy, CreatedTime: m.CreatedTime}
	}
	total := -1
	if !q.NoCount {
		if total, err = s.st.CountStageMoves(ctx, etid, q.Where); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// StageStat is one stage of a funnel with its item count and amount.
type StageStat struct {
	Stage  *Stage
	Items  int64
	Amount float64
}

// StageStats returns a funnel's stages in order with their counts and amounts, read
// from the counters the write path keeps (no scan of the items). Funnel 0 is the
// type's default one.
func (s *Service) StageStats(ctx context.Context, actor access.Actor, etid, categoryID int64) ([]StageStat, error) {
	t, err := s.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	if categoryID == 0 {
		categoryID = t.DefaultCategory().ID
	}
	if t.Category(categoryID) == nil {
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
	for _, st := range t.StagesOf(categoryID) {
		c := by[st.StatusID]
		out = append(out, StageStat{Stage: st, Items: c.Items, Amount: c.Amount})
	}
	return out, nil
}
