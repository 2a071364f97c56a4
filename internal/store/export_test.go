package store

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"smartcrm/internal/query"
)

// Hooks for the tests of package store_test. Those that need a database use testdb,
// which imports this package, so they cannot live inside it.

// MigrateTo applies the migrations up to and including version, leaving the database
// as the release that shipped that version left it.
func (s *Store) MigrateTo(ctx context.Context, version int) error {
	return s.migrateTo(ctx, version)
}

// LatestMigration is the newest migration version.
func LatestMigration() int { return migrations[len(migrations)-1].version }

// ExplainItems is the plan of a page of a type's items, as the list readers see it.
func (s *Store) ExplainItems(ctx context.Context, entityTypeID int64, cols []Column, where query.Group, order []query.Order, page Page) (string, error) {
	q, args, _, err := s.lanes.list.selectSQL(ItemTable(entityTypeID), cols, where, order, page, noLock, false)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, q, args)
}

// ExplainCount is the plan of a count of a type's items.
func (s *Store) ExplainCount(ctx context.Context, entityTypeID int64, where query.Group) (string, error) {
	q, args, err := s.lanes.list.countSQL(ItemTable(entityTypeID), where)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, q, args)
}

// ExplainExpireOffline is the plan of ExpireOfflineReservations.
func (s *Store) ExplainExpireOffline(ctx context.Context, beforeMS int64) (string, error) {
	return s.explain(ctx, expireOfflineSQL, []any{beforeMS})
}

// ExplainOfflineEvents is the plan of OfflineEvents (unlocked).
func (s *Store) ExplainOfflineEvents(ctx context.Context, where query.Group, order []query.Order, page Page) (string, error) {
	q, args, _, err := s.lanes.list.selectSQL(offlineTable, offlineColumns, where, order, page, noLock, false)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, q, args)
}

func (s *Store) explain(ctx context.Context, q string, args []any) (string, error) {
	c := s.lanes.list
	if c.d.name == Postgres {
		lines, err := queryColumn[string](ctx, c, "EXPLAIN "+q, args...)
		return strings.Join(lines, "\n"), err
	}
	rows, err := c.q.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			return "", err
		}
		lines = append(lines, detail)
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// HasStatistics reports whether the planner has statistics of a type's table: rows in
// sqlite_stat1 (SQLite); a finished ANALYZE and the table's own auto-analyze threshold
// (PostgreSQL).
func (s *Store) HasStatistics(ctx context.Context, entityTypeID int64) (bool, error) {
	table := ItemTable(entityTypeID)
	if s.d.name == Postgres {
		return s.exists(ctx, `SELECT 1 FROM pg_stat_user_tables t JOIN pg_class c ON c.oid = t.relid
WHERE t.relname = ? AND t.schemaname = current_schema() AND COALESCE(t.last_analyze, t.last_autoanalyze) IS NOT NULL
AND 'autovacuum_analyze_scale_factor=0.02' = ANY(c.reloptions)`, table)
	}
	return s.exists(ctx, `SELECT 1 FROM sqlite_stat1 WHERE tbl = ?`, table)
}

// UseLegacySearchTriggers gives a column's substring index the triggers of versions
// before the pending tables: they wrote the FTS table directly (SQLite).
func (s *Store) UseLegacySearchTriggers(ctx context.Context, entityTypeID int64, col string) error {
	table := ItemTable(entityTypeID)
	fts := ftsTable(table, col)
	return s.InTx(ctx, func(tx *Tx) error {
		for _, st := range []string{
			"DROP TRIGGER " + fts + "_qi", "DROP TRIGGER " + fts + "_qu", "DROP TRIGGER " + fts + "_qd",
			"CREATE TRIGGER " + fts + "_ai AFTER INSERT ON " + table + " WHEN new." + col + " IS NOT NULL BEGIN " +
				"INSERT INTO " + fts + "(rowid, v) VALUES (new.id, casefold(new." + col + ")); END",
			"CREATE TRIGGER " + fts + "_au AFTER UPDATE OF " + col + " ON " + table + " BEGIN " +
				"DELETE FROM " + fts + " WHERE rowid = old.id; " +
				"INSERT INTO " + fts + "(rowid, v) SELECT new.id, casefold(new." + col + ") WHERE new." + col + " IS NOT NULL; END",
			"CREATE TRIGGER " + fts + "_ad AFTER DELETE ON " + table + " BEGIN DELETE FROM " + fts + " WHERE rowid = old.id; END",
		} {
			if _, err := tx.exec(ctx, st); err != nil {
				return err
			}
		}
		return nil
	})
}

// UpgradeSearchTriggers runs what a start does to the triggers of earlier versions.
func (s *Store) UpgradeSearchTriggers(ctx context.Context) error { return s.upgradeSearchTriggers(ctx) }

// TriggerNames lists the database's triggers (SQLite).
func (s *Store) TriggerNames(ctx context.Context) ([]string, error) {
	return queryColumn[string](ctx, s.conn, `SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name`)
}

// Later queues a statement as the store's appends do (pgpipeline.go).
func (tx *Tx) Later(ctx context.Context, q string, args ...any) error {
	return tx.later(ctx, q, args...)
}

// TimeArg is a moment as a bind argument of a hand-written statement.
func (tx *Tx) TimeArg(t time.Time) any { return tx.d.timeArg(t) }

// SetIDClock sets the clock of the ids drawn ahead (PostgreSQL).
func (s *Store) SetIDClock(now func() time.Time) {
	s.ids.mu.Lock()
	s.ids.now = now
	s.ids.mu.Unlock()
}

// DrawItemID draws an id from a type's sequence as another writer would (PostgreSQL).
func (s *Store) DrawItemID(ctx context.Context, entityTypeID int64) (int64, error) {
	var id int64
	err := s.queryRow(ctx, "SELECT nextval(pg_get_serial_sequence('"+ItemTable(entityTypeID)+"', 'id'))").Scan(&id)
	return id, err
}

// HoldSearchLane takes every slot of the substring lane until release.
func (s *Store) HoldSearchLane() (release func()) {
	n := cap(s.lanes.searches)
	for range n {
		s.lanes.searches <- struct{}{}
	}
	if s.lanes.spare != nil {
		s.lanes.spare <- struct{}{}
	}
	return func() {
		for range n {
			<-s.lanes.searches
		}
		if s.lanes.spare != nil {
			<-s.lanes.spare
		}
	}
}

// HoldWritesAndLists takes every write slot and every list slot, each with a
// connection of the pool it uses, as that many writes and lists running at once would,
// until release.
func (s *Store) HoldWritesAndLists(ctx context.Context) (release func(), err error) {
	var conns []*sql.Conn
	var slots []chan struct{}
	release = func() {
		for _, c := range conns {
			c.Close()
		}
		for _, ch := range slots {
			<-ch
		}
	}
	take := func(db *sql.DB, n int, lane chan struct{}) error {
		for range n {
			if lane != nil {
				lane <- struct{}{}
				slots = append(slots, lane)
			}
			c, err := db.Conn(ctx)
			if err != nil {
				return err
			}
			conns = append(conns, c)
		}
		return nil
	}
	if s.d.name == Postgres {
		err = take(s.write, cap(s.writeSlots), s.writeSlots)
		if err == nil {
			err = take(s.write, cap(s.lanes.slots), s.lanes.slots)
		}
	} else {
		err = take(s.write, 1, nil) // SQLite's one writer
		if err == nil {
			err = take(s.lanes.listDB, cap(s.lanes.slots), s.lanes.slots)
		}
	}
	if err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// VacuumDeadRows runs the maintainer's vacuum check now (PostgreSQL).
func (s *Store) VacuumDeadRows(ctx context.Context) { s.vacuumDeadRows(ctx) }

// TableStats reads a table's dead row versions and how often it was vacuumed by hand
// (PostgreSQL's statistics).
func (s *Store) TableStats(ctx context.Context, table string) (dead, vacuums int64, err error) {
	err = s.queryRow(ctx, `SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ?`, table).Scan(&dead, &vacuums)
	return dead, vacuums, err
}

// TableActivity is what PostgreSQL's statistics say of a table's writes and upkeep.
type TableActivity struct {
	InsertedSinceVacuum, Updated, HotUpdated, Vacuums, Analyzes int64
}

// TableActivity reads a table's statistics (PostgreSQL).
func (s *Store) TableActivity(ctx context.Context, table string) (TableActivity, error) {
	var a TableActivity
	err := s.queryRow(ctx, `SELECT n_ins_since_vacuum, n_tup_upd, n_tup_hot_upd, vacuum_count, analyze_count
FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ?`, table).Scan(&a.InsertedSinceVacuum, &a.Updated, &a.HotUpdated, &a.Vacuums, &a.Analyzes)
	return a, err
}

// MakeAsEarlierVersions gives a type's items table what earlier versions made: the
// index on cols, and on PostgreSQL the default fillfactor.
func (s *Store) MakeAsEarlierVersions(ctx context.Context, entityTypeID int64, cols []string) error {
	table := ItemTable(entityTypeID)
	if _, err := s.write.ExecContext(ctx, "CREATE INDEX "+itemIndexName(table, cols)+" ON "+table+" ("+strings.Join(cols, ", ")+")"); err != nil {
		return err
	}
	if s.d.name == Postgres {
		_, err := s.write.ExecContext(ctx, "ALTER TABLE "+table+" RESET (fillfactor)")
		return err
	}
	return nil
}

// Fillfactor reads a PostgreSQL table's fillfactor setting ("" when it has the default).
func (s *Store) Fillfactor(ctx context.Context, table string) (string, error) {
	var opts sql.NullString
	err := s.queryRow(ctx, `SELECT array_to_string(reloptions, ',') FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relname = ?`, table).Scan(&opts)
	for _, o := range strings.Split(opts.String, ",") {
		if v, ok := strings.CutPrefix(o, "fillfactor="); ok {
			return v, err
		}
	}
	return "", err
}

// AppendZeroCountDeltas appends n counter deltas of nothing to a type's delta table
// (PostgreSQL): what n writes leave behind for the fold, without changing a count.
func (s *Store) AppendZeroCountDeltas(ctx context.Context, entityTypeID int64, n int) error {
	_, err := s.write.ExecContext(ctx, "INSERT INTO "+countDeltasTable(entityTypeID)+" (category_id, stage_id, items, amount) SELECT 0, 'zero', 0, 0 FROM generate_series(1, $1)", n)
	return err
}

// TouchAllItems rewrites every item's amount: one dead row version each (PostgreSQL).
func (s *Store) TouchAllItems(ctx context.Context, entityTypeID int64) error {
	_, err := s.write.ExecContext(ctx, "UPDATE "+ItemTable(entityTypeID)+" SET opportunity = COALESCE(opportunity, 0) + 1")
	return err
}

// SetSearchSyncEvery sets how many written rows of a table wait in its pending tables
// before they move into its FTS tables (SQLite).
func (s *Store) SetSearchSyncEvery(n int) {
	s.search.mu.Lock()
	s.search.syncEvery = n
	s.search.mu.Unlock()
}

// LastPointRead is when the latest point read started (zero: none yet).
func (s *Store) LastPointRead() time.Time {
	if n := s.lanes.lastPointRead.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// SetQuietWrites sets the write transactions a second below which the maintainer
// counts a second as quiet (-1: none is).
func (s *Store) SetQuietWrites(n int64) { s.quietBelow.Store(n) }

// SearchSegments is how many segments the FTS table of a column holds (SQLite), read
// from the structure record FTS5 keeps at id 10 of its data table: a 4-byte cookie,
// a 4-byte marker in the record's second version, then the number of levels and of
// segments as varints.
func (s *Store) SearchSegments(ctx context.Context, entityTypeID int64, column string) (int, error) {
	fts := ftsTable(ItemTable(entityTypeID), column)
	var rec []byte
	if err := s.queryRow(ctx, "SELECT block FROM "+fts+"_data WHERE id = 10").Scan(&rec); err != nil {
		return 0, err
	}
	i := 4
	if len(rec) >= 8 && string(rec[4:8]) == "\xff\x00\x00\x01" {
		i = 8
	}
	varint := func() int {
		v := 0
		for i < len(rec) {
			c := rec[i]
			i++
			v = v<<7 | int(c&0x7f)
			if c < 0x80 {
				break
			}
		}
		return v
	}
	varint() // levels
	return varint(), nil
}

// PendingSearchRows is how many rows of a column wait in its pending table to be moved
// into the FTS table (SQLite).
func (s *Store) PendingSearchRows(ctx context.Context, entityTypeID int64, column string) (int, error) {
	var n int
	err := s.queryRow(ctx, "SELECT COUNT(*) FROM "+ftsPending(ftsTable(ItemTable(entityTypeID), column))).Scan(&n)
	return n, err
}
