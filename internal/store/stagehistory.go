package store

import (
	"context"
	"database/sql"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// StageMove is one row of the stage history.
type StageMove struct {
	ID           int64
	EntityTypeID int64
	ItemID       int64
	TypeID       int64 // 1 created, 2 moved to an in-progress stage, 3 moved to a final stage, 5 funnel changed
	CategoryID   int64
	FromStageID  string
	StageID      string
	Semantic     string // P, S or F
	CreatedBy    int64
	CreatedTime  time.Time
}

const stageHistoryTable = "crm_stage_history"

var stageHistoryColumns = []Column{
	{"id", field.StorageInt}, {"entity_type_id", field.StorageInt}, {"item_id", field.StorageInt}, {"type_id", field.StorageInt},
	{"category_id", field.StorageInt}, {"from_stage_id", field.StorageText}, {"stage_id", field.StorageText},
	{"stage_semantic_id", field.StorageText}, {"created_by", field.StorageInt}, {"created_time", field.StorageTime},
}

// StageHistoryColumns are the history's columns as query fields, by wire name.
func StageHistoryColumns() []query.Field {
	return []query.Field{
		{Name: "ID", Column: "id", Type: field.Integer{}},
		{Name: "TYPE_ID", Column: "type_id", Type: field.Integer{}},
		{Name: "OWNER_ID", Column: "item_id", Type: field.Integer{}},
		{Name: "CREATED_TIME", Column: "created_time", Type: field.DateTime{}},
		{Name: "CATEGORY_ID", Column: "category_id", Type: field.Integer{}},
		{Name: "STAGE_SEMANTIC_ID", Column: "stage_semantic_id", Type: field.Text{}},
		{Name: "STAGE_ID", Column: "stage_id", Type: field.Text{}},
		{Name: "FROM_STAGE_ID", Column: "from_stage_id", Type: field.Text{}},
		{Name: "CREATED_BY", Column: "created_by", Type: field.Integer{}},
	}
}

// InsertStageMove appends a history row.
func (tx *Tx) InsertStageMove(ctx context.Context, m *StageMove) error {
	var from any
	if m.FromStageID != "" {
		from = m.FromStageID
	}
	vals := []any{m.EntityTypeID, m.ItemID, m.TypeID, m.CategoryID, from, m.StageID, m.Semantic, m.CreatedBy, m.CreatedTime}
	q, args, err := tx.insertSQL(stageHistoryTable, stageHistoryColumns[1:], vals, nil)
	if err != nil {
		return err
	}
	return tx.later(ctx, q, args...)
}

// ListStageMoves reads history rows of one type.
func (c conn) ListStageMoves(ctx context.Context, entityTypeID int64, where query.Group, order []query.Order, page Page) ([]*StageMove, error) {
	rows, err := c.selectRows(ctx, stageHistoryTable, stageHistoryColumns, ofType(entityTypeID, where), order, page)
	if err != nil {
		return nil, err
	}
	out := make([]*StageMove, len(rows))
	for i, r := range rows {
		m := &StageMove{ID: r[0].(int64), EntityTypeID: r[1].(int64), ItemID: r[2].(int64), TypeID: r[3].(int64), CategoryID: r[4].(int64)}
		m.FromStageID, _ = r[5].(string)
		m.StageID, _ = r[6].(string)
		m.Semantic, _ = r[7].(string)
		m.CreatedBy, _ = r[8].(int64)
		m.CreatedTime, _ = r[9].(time.Time)
		out[i] = m
	}
	return out, nil
}

// CountStageMoves counts history rows of one type.
func (c conn) CountStageMoves(ctx context.Context, entityTypeID int64, where query.Group) (int, error) {
	return c.countRows(ctx, stageHistoryTable, ofType(entityTypeID, where))
}

// DeleteTypeHistory removes a deleted type's history, counters and required-field rules.
func (tx *Tx) DeleteTypeHistory(ctx context.Context, entityTypeID int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM crm_stage_history WHERE entity_type_id = ?`, entityTypeID); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM crm_stage_requirements WHERE entity_type_id = ?`, entityTypeID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM crm_stage_counts WHERE entity_type_id = ?`, entityTypeID)
	return err
}

// ofType restricts a filter to one entity type.
func ofType(entityTypeID int64, where query.Group) query.Group {
	f := &query.Field{Name: "entityTypeId", Column: "entity_type_id", Type: field.Integer{}}
	return query.Group{Items: []query.Expr{query.Cond{Field: f, Op: field.OpEq, Value: entityTypeID}, where}}
}

// StageCount is a stage's number of items and the sum of their amounts.
type StageCount struct {
	StageID string
	Items   int64
	Amount  float64
}

// StageCountDelta moves one stage's counters.
type StageCountDelta struct {
	CategoryID int64
	StageID    string
	Items      int64
	Amount     float64
}

// FunnelMove is a stage-history row as funnel analytics read it.
type FunnelMove struct {
	ItemID   int64
	TypeID   int64
	StageID  string
	Semantic string
	Time     time.Time
}

// EachFunnelMove calls fn for every history row of a funnel, by item and then in the
// order the rows were written, without holding them all in memory: analytics pair each
// row with the item's next one to measure time spent in a stage.
func (c conn) EachFunnelMove(ctx context.Context, entityTypeID, categoryID int64, fn func(FunnelMove) error) error {
	rows, err := c.q.QueryContext(ctx, c.d.rebind(`SELECT item_id, type_id, stage_id, stage_semantic_id, created_time FROM `+stageHistoryTable+
		` WHERE entity_type_id = ? AND category_id = ? ORDER BY item_id, id`), entityTypeID, categoryID)
	if err != nil {
		return err
	}
	defer rows.Close()
	created := c.d.scanTarget(field.StorageTime)
	var sem sql.NullString
	for rows.Next() {
		var m FunnelMove
		if err := rows.Scan(&m.ItemID, &m.TypeID, &m.StageID, &sem, created); err != nil {
			return err
		}
		v, err := c.d.decode(field.StorageTime, created)
		if err != nil {
			return err
		}
		m.Time, _ = v.(time.Time)
		m.Semantic = sem.String
		if err := fn(m); err != nil {
			return err
		}
	}
	return rows.Err()
}
