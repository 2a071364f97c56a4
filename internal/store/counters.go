package store

import (
	"context"
	"log/slog"
	"strings"
)

// Stage counters. Every add and every move in a funnel changes the counter rows of its
// stages. On SQLite the one writer applies the deltas to the rows directly. On
// PostgreSQL that row is a hot lock: each transaction holding it until its commit
// serialised all writers of a funnel. There each transaction appends its deltas as
// new rows of the type's delta table instead (no row is shared, nothing waits); reads
// add the deltas to the counter rows in one statement, and a background fold moves
// them into the counter rows in one atomic statement, so a read never sees a delta
// both folded and not.

// countDeltasTable holds a type's unfolded counter deltas (PostgreSQL).
func countDeltasTable(entityTypeID int64) string { return ItemTable(entityTypeID) + "_count_deltas" }

func countDeltasTableOf(table string) string { return table + "_count_deltas" }

// createCountDeltas makes a type's delta table (PostgreSQL; SQLite needs none).
func (c conn) createCountDeltas(ctx context.Context, table string) error {
	if c.d.name != Postgres {
		return nil
	}
	_, err := c.exec(ctx, "CREATE TABLE IF NOT EXISTS "+countDeltasTableOf(table)+
		" (category_id BIGINT NOT NULL, stage_id TEXT NOT NULL, items BIGINT NOT NULL, amount DOUBLE PRECISION NOT NULL)")
	return err
}

// AddToStageCounts applies counter deltas, rows in the order given (SQLite; callers
// sort them). Each (funnel, stage) may appear once.
func (tx *Tx) AddToStageCounts(ctx context.Context, entityTypeID int64, deltas []StageCountDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	var b strings.Builder
	args := make([]any, 0, len(deltas)*5)
	if tx.d.name == Postgres {
		b.WriteString(`INSERT INTO ` + countDeltasTable(entityTypeID) + ` (category_id, stage_id, items, amount) VALUES `)
	} else {
		b.WriteString(`INSERT INTO crm_stage_counts (entity_type_id, category_id, stage_id, items, amount) VALUES `)
	}
	for i, d := range deltas {
		if i > 0 {
			b.WriteString(", ")
		}
		if tx.d.name == Postgres {
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, d.CategoryID, d.StageID, d.Items, d.Amount)
			continue
		}
		b.WriteString("(?, ?, ?, ?, ?)")
		args = append(args, entityTypeID, d.CategoryID, d.StageID, d.Items, d.Amount)
	}
	if tx.d.name != Postgres {
		b.WriteString(` ON CONFLICT (entity_type_id, category_id, stage_id) DO UPDATE SET items = crm_stage_counts.items + excluded.items, amount = crm_stage_counts.amount + excluded.amount`)
	}
	return tx.later(ctx, b.String(), args...)
}

// StageCounts reads a funnel's counters (with the unfolded deltas on PostgreSQL).
func (c conn) StageCounts(ctx context.Context, entityTypeID, categoryID int64) ([]StageCount, error) {
	q := `SELECT stage_id, items, amount FROM crm_stage_counts WHERE entity_type_id = ? AND category_id = ?`
	args := []any{entityTypeID, categoryID}
	if c.d.name == Postgres {
		q = `SELECT stage_id, SUM(items)::bigint, SUM(amount) FROM (` + q + ` UNION ALL SELECT stage_id, items, amount FROM ` +
			countDeltasTable(entityTypeID) + ` WHERE category_id = ?) c GROUP BY stage_id`
		args = append(args, categoryID)
	}
	rows, err := c.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []StageCount
	for rows.Next() {
		var s StageCount
		if err := rows.Scan(&s.StageID, &s.Items, &s.Amount); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// deleteCountDeltas drops the unfolded deltas of a funnel or of one of its stages
// (stage ""), with the counter rows.
func (tx *Tx) deleteCountDeltas(ctx context.Context, entityTypeID, categoryID int64, stage string) error {
	if tx.d.name != Postgres {
		return nil
	}
	q, args := `DELETE FROM `+countDeltasTable(entityTypeID)+` WHERE category_id = ?`, []any{categoryID}
	if stage != "" {
		q, args = q+` AND stage_id = ?`, append(args, stage)
	}
	_, err := tx.exec(ctx, q, args...)
	return err
}

// foldCountDeltas moves every type's deltas into the counter rows (PostgreSQL). One
// statement per type: the deltas it deletes are the deltas it adds.
func (s *Store) foldCountDeltas(ctx context.Context) {
	tables, err := s.itemTablesWith(ctx, "stage_id")
	if err != nil {
		if ctx.Err() == nil {
			slog.Warn("folding stage counters", "err", err)
		}
		return
	}
	for _, table := range tables {
		etid := strings.TrimPrefix(table, "crm_items_")
		_, err := s.write.ExecContext(ctx, `WITH d AS (DELETE FROM `+countDeltasTableOf(table)+` RETURNING category_id, stage_id, items, amount)
INSERT INTO crm_stage_counts (entity_type_id, category_id, stage_id, items, amount)
SELECT `+etid+`, category_id, stage_id, SUM(items), SUM(amount) FROM d GROUP BY category_id, stage_id ORDER BY category_id, stage_id
ON CONFLICT (entity_type_id, category_id, stage_id) DO UPDATE SET items = crm_stage_counts.items + excluded.items, amount = crm_stage_counts.amount + excluded.amount`)
		if err != nil && ctx.Err() == nil {
			slog.Warn("folding stage counters", "table", table, "err", err)
		}
	}
}

// FoldStageCounts folds the counter deltas now (tests; the maintainer does it
// every second).
func (s *Store) FoldStageCounts(ctx context.Context) {
	if s.d.name == Postgres {
		s.foldCountDeltas(ctx)
	}
}
