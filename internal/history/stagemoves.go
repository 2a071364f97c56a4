// Package history reads what the write path recorded about the past: the stage history
// of items (crm.stagehistory.list) and the funnel analytics computed from it.
package history

import (
	"context"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Entry is one row of an item's stage history: written in the transaction of
// each creation, move and funnel change (Bitrix24 keeps none for smart processes;
// analytics there parse timeline blobs).
type Entry struct {
	ID           int64
	EntityTypeID int64
	ItemID       int64
	Kind         int64 // 1 created, 2 moved to a stage in progress, 3 moved to a final stage, 5 funnel changed
	CategoryID   int64
	FromStageID  string
	StageID      string
	Semantics    crm.Semantics
	CreatedBy    int64
	CreatedTime  time.Time
}

// QueryFields is the catalog stage-history lists filter and order on.
func QueryFields() []query.Field {
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

// Query is a page of a type's stage history.
type Query struct {
	Where   query.Group // over QueryFields
	Order   []query.Order
	Offset  int
	NoCount bool
}

// Service reads the history of crm's items.
type Service struct{ crm *crm.Service }

// New returns the history of crmSvc's items.
func New(crmSvc *crm.Service) *Service { return &Service{crm: crmSvc} }

// StageMoves reads a page of a type's stage history, 50 a page.
func (s *Service) StageMoves(ctx context.Context, actor access.Actor, etid int64, q Query) ([]*Entry, int, error) {
	if _, err := s.crm.ItemType(ctx, actor, etid); err != nil {
		if crm.KindOf(err) == crm.ErrTypeNotFound {
			return nil, 0, crm.NewError(crm.ErrNotSupported, "Entity type %d is not supported", etid)
		}
		return nil, 0, err
	}
	order := withIDOrder(q.Order)
	rows, err := s.crm.Store().ListStageMoves(ctx, etid, q.Where, order, store.Page{Limit: crm.PageSize, Offset: max(q.Offset, 0)})
	if err != nil {
		return nil, 0, err
	}
	out := make([]*Entry, len(rows))
	for i, m := range rows {
		out[i] = &Entry{ID: m.ID, EntityTypeID: m.EntityTypeID, ItemID: m.ItemID, Kind: m.TypeID, CategoryID: m.CategoryID,
			FromStageID: m.FromStageID, StageID: m.StageID, Semantics: crm.Semantics(m.Semantic), CreatedBy: m.CreatedBy, CreatedTime: m.CreatedTime}
	}
	total := -1
	if !q.NoCount {
		if total, err = s.crm.Store().CountStageMoves(ctx, etid, q.Where); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// withIDOrder ends an order with the id, so that pages follow one another exactly.
func withIDOrder(order []query.Order) []query.Order {
	idf, _ := crm.CatalogResolver(QueryFields())("id")
	return append(order[:len(order):len(order)], query.Order{Field: idf})
}
