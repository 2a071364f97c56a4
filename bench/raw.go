package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the driver the server embeds
)

// The raw baseline answers "how much of the add rate is SQLite itself": the same rows
// written straight through database/sql, with no HTTP, JSON, parameter decoding,
// validation or type lookups in the way.
//
// It copies, by hand and on purpose (a baseline must not share the code it measures),
// what internal/store does for SQLite: the pragmas of store.Open, a single-connection
// write pool with BEGIN IMMEDIATE (_txlock=immediate), the item table DDL of a smart
// process (AUTOINCREMENT id, every system column, the five indexes of
// crm.itemIndexes), the outbox table, and per add one transaction holding
// `INSERT … RETURNING id` into the items table plus one outbox INSERT. If the server's
// pragmas or schema change, update sqlitePragmas / rawItemColumns / rawIndexes here.

// sqlitePragmas are those of store.Open (internal/store/store.go).
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)"

// rawItemColumns are the stored columns of an item (every field with a column but id),
// in the server's insert order, with their SQLite types.
var rawItemColumns = []struct{ name, typ string }{
	{"xml_id", "TEXT"}, {"title", "TEXT"}, {"created_by", "INTEGER"}, {"updated_by", "INTEGER"},
	{"moved_by", "INTEGER"}, {"created_time", "TEXT"}, {"updated_time", "TEXT"}, {"moved_time", "TEXT"},
	{"category_id", "INTEGER"}, {"opened", "TEXT"}, {"stage_id", "TEXT"}, {"previous_stage_id", "TEXT"},
	{"begindate", "TEXT"}, {"closedate", "TEXT"}, {"company_id", "INTEGER"}, {"contact_id", "INTEGER"},
	{"opportunity", "REAL"}, {"is_manual_opportunity", "TEXT"}, {"tax_value", "REAL"}, {"currency_id", "TEXT"},
	{"mycompany_id", "INTEGER"}, {"source_id", "TEXT"}, {"source_description", "TEXT"}, {"webform_id", "INTEGER"},
	{"assigned_by_id", "INTEGER"}, {"last_activity_by", "INTEGER"}, {"last_activity_time", "TEXT"},
	{"observers", "TEXT"}, {"contact_ids", "TEXT"},
}

// rawIndexes are crm.itemIndexes.
var rawIndexes = [][]string{
	{"category_id", "stage_id", "id"}, {"assigned_by_id", "id"}, {"created_time"}, {"updated_time"}, {"stage_id"},
}

const (
	rawEntityTypeID = 1040 // any id: only the table name and the outbox column see it
	rawCategoryID   = 1
	rawBatchRows    = 50 // rows per transaction in the batched variant: one `batch` call's worth
	sqliteTimeFmt   = "2006-01-02T15:04:05Z"
)

// rawReport is the raw baseline in three shapes.
type rawReport struct {
	// PerRowTx is the like-for-like baseline: one transaction per item, item + outbox.
	PerRowTx summary `json:"per_row_tx"`
	// Autocommit runs the same two INSERTs without BEGIN/COMMIT, so each statement is
	// its own implicit transaction: two commits per item instead of one, and item and
	// outbox row are no longer atomic (what the server must not do). It shows what one
	// commit costs, since the statements are otherwise identical.
	Autocommit summary `json:"autocommit"`
	// Batched commits every rawBatchRows items (with their outbox rows) at once. It is
	// the ceiling for a `batch` call of 50 adds if the server ran it in one transaction;
	// today each command of a batch commits on its own. Rows/s counts items.
	Batched summary `json:"batched_50_per_tx"`
}

// benchRaw writes cfg.adds generated rows into fresh SQLite files, once per variant.
func benchRaw(ctx context.Context, dir string, cfg config) (rawReport, error) {
	var rep rawReport
	var err error
	if rep.PerRowTx, err = rawVariant(ctx, filepath.Join(dir, "raw-tx.db"), cfg, 1, true); err != nil {
		return rep, err
	}
	if rep.Autocommit, err = rawVariant(ctx, filepath.Join(dir, "raw-autocommit.db"), cfg, 1, false); err != nil {
		return rep, err
	}
	if rep.Batched, err = rawVariant(ctx, filepath.Join(dir, "raw-batched.db"), cfg, rawBatchRows, true); err != nil {
		return rep, err
	}
	return rep, nil
}

// rawVariant inserts cfg.adds rows in groups of perTx (inTx false: no explicit
// transaction) from cfg.concurrency goroutines sharing a one-connection pool, as the
// server's request goroutines share its write pool.
func rawVariant(ctx context.Context, path string, cfg config, perTx int, inTx bool) (summary, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?"+sqlitePragmas+"&_txlock=immediate")
	if err != nil {
		return summary{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if err := createRawSchema(ctx, db); err != nil {
		return summary{}, err
	}
	insItem, insOutbox := rawInsertSQL()
	table := fmt.Sprintf("crm_items_%d", rawEntityTypeID)

	// A querier is a *sql.DB or a *sql.Tx; autocommit runs statements on the pool.
	type querier interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}
	insertOne := func(ctx context.Context, q querier, i int) error {
		r := genRow(i)
		// The server truncates its clock to seconds and stores UTC text.
		now := time.Now().UTC().Truncate(time.Second).Format(sqliteTimeFmt)
		stage := stageID(rawEntityTypeID, rawCategoryID, r.Stage)
		var id int64
		err := q.QueryRowContext(ctx, insItem,
			nil, r.Title, 1, 1, 1, now, now, now,
			rawCategoryID, "Y", stage, "",
			nil, nil, nil, nil,
			r.Opportunity, "N", 0.0, "USD",
			nil, nil, nil, nil,
			1, 1, now, "[]", "[]",
		).Scan(&id)
		if err != nil {
			return err
		}
		payload := fmt.Sprintf(`{"ENTITY_TYPE_ID":%d,"ID":%d,"USER_ID":1}`, rawEntityTypeID, id)
		_, err = q.ExecContext(ctx, insOutbox, "item.add", rawEntityTypeID, id, payload, now)
		return err
	}

	ops := (cfg.adds + perTx - 1) / perTx
	cpu := startCPU(0) // SQLite runs inside the bench process here: only its CPU counts
	res := runConcurrent(ctx, ops, cfg.concurrency, func(ctx context.Context, op int) error {
		lo, hi := op*perTx, min((op+1)*perTx, cfg.adds)
		if !inTx {
			for i := lo; i < hi; i++ {
				if err := insertOne(ctx, db, i); err != nil {
					return err
				}
			}
			return nil
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for i := lo; i < hi; i++ {
			if err := insertOne(ctx, tx, i); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		return tx.Commit()
	})
	s := summarize(res, cfg.adds-res.errors*perTx)
	s.CPU = cpu.done()
	if res.firstErr != nil {
		return s, res.firstErr
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		return s, err
	}
	if n != cfg.adds {
		return s, fmt.Errorf("raw table holds %d rows, want %d", n, cfg.adds)
	}
	return s, nil
}

func createRawSchema(ctx context.Context, db *sql.DB) error {
	table := fmt.Sprintf("crm_items_%d", rawEntityTypeID)
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n\tid INTEGER PRIMARY KEY AUTOINCREMENT,\n\tversion BIGINT NOT NULL DEFAULT 1", table)
	for _, c := range rawItemColumns {
		fmt.Fprintf(&b, ",\n\t%s %s", c.name, c.typ)
	}
	b.WriteString("\n)")
	stmts := []string{b.String()}
	for _, idx := range rawIndexes {
		stmts = append(stmts, fmt.Sprintf("CREATE INDEX %s_%s ON %s (%s)",
			table, strings.Join(idx, "_"), table, strings.Join(idx, ", ")))
	}
	stmts = append(stmts, `CREATE TABLE outbox (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	topic TEXT NOT NULL,
	entity_type_id BIGINT NOT NULL,
	item_id BIGINT NOT NULL,
	payload TEXT NOT NULL,
	created_time TEXT NOT NULL
)`)
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// rawInsertSQL is the text the server sends: every stored column named, one `?` each,
// RETURNING id; and its outbox insert.
func rawInsertSQL() (item, outbox string) {
	names := make([]string, len(rawItemColumns))
	marks := make([]string, len(rawItemColumns))
	for i, c := range rawItemColumns {
		names[i], marks[i] = c.name, "?"
	}
	item = fmt.Sprintf("INSERT INTO crm_items_%d (%s) VALUES (%s) RETURNING id",
		rawEntityTypeID, strings.Join(names, ", "), strings.Join(marks, ", "))
	outbox = "INSERT INTO outbox (topic, entity_type_id, item_id, payload, created_time) VALUES (?, ?, ?, ?, ?)"
	return item, outbox
}
