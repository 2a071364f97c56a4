package store

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"
)

// Planner statistics. Without them SQLite's planner guesses how selective an index is,
// and on a filter plus an order of custom fields it guessed wrong: it read 20,000 rows
// through the filter's index and sorted them, where walking the order's index and
// stopping at a page takes a fiftieth of the time. The maintainer keeps statistics
// current:
//
//   - SQLite: ANALYZE once when the database has none, then PRAGMA optimize (which
//     re-analyzes the tables whose size changed a lot) every optimizeEvery and after
//     optimizeAfterWrites write transactions; readers reconnect every few minutes to
//     load them (recycleReaders); a list index's build analyzes its table at once.
//   - PostgreSQL: each items table asks autovacuum to re-analyze it after 2% of its
//     rows changed (instead of the default 10%), and a list index's build or a bulk
//     seed analyzes at once. The maintainer also folds the stage-counter deltas
//     (counters.go) every foldEvery, and every vacuumCheckEvery vacuums and analyzes
//     the items tables whose dead row versions or rows added since the last vacuum
//     reached a fifth of their live rows, or whose rows changed since the last
//     analysis a tenth (and vacuums their counter delta tables: vacuumDeadRows). An
//     update that leaves the row's page leaves a dead version behind, and
//     autovacuum, which looks at a table once a minute at most and waits for a fifth
//     of it by default, let a busy type carry as many dead versions as live ones —
//     every search and count then stepped over them (a substring count on 47,000
//     items took 20 ms, its heap visits most of it).

const (
	optimizeEvery       = 10 * time.Minute
	optimizeAfterWrites = 20000
	foldEvery           = time.Second
	vacuumCheckEvery    = 10 * time.Second
)

type maintainer struct {
	stop   chan struct{}
	done   chan struct{}
	writes atomic.Int64 // write transactions since the last optimize
	// mergeAfter is when the maintainer may merge substring indexes again (ftsmerge.go).
	mergeAfter time.Time
}

func (m *maintainer) close() {
	if m == nil {
		return
	}
	close(m.stop)
	<-m.done
}

// startMaintenance prepares what the schema needs beyond the migrations (substring
// indexes, counter delta tables, statistics) and starts the background loop.
func (s *Store) startMaintenance(ctx context.Context) error {
	if s.d.name == Postgres {
		s.loadTrgm(ctx)
		if err := s.loadSearchSet(ctx); err != nil {
			return err
		}
		tables, err := s.itemTablesWith(ctx, "id")
		if err != nil {
			return err
		}
		for _, t := range tables {
			if err := s.conn.createCountDeltas(ctx, t); err != nil {
				return err
			}
		}
	} else {
		if err := s.upgradeSearchTriggers(ctx); err != nil {
			return err
		}
		// After the upgrade: databases of earlier versions have no pending tables.
		if err := s.syncAllSearch(ctx); err != nil {
			return err
		}
		if err := s.analyzeIfNever(ctx); err != nil {
			return err
		}
	}
	m := &maintainer{stop: make(chan struct{}), done: make(chan struct{})}
	s.maint = m
	go s.maintain(m)
	return nil
}

func (s *Store) maintain(m *maintainer) {
	defer close(m.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-m.stop
		cancel()
	}()
	s.ensureTitleSearch(ctx)
	if s.d.name == Postgres {
		s.upgradeTrgmOptions(ctx)
	}
	tick := time.NewTicker(foldEvery)
	defer tick.Stop()
	lastOptimize, lastVacuumCheck := time.Now(), time.Now()
	writesThen := s.writes.Load()
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		if s.d.name == Postgres {
			s.foldCountDeltas(ctx)
			if time.Since(lastVacuumCheck) >= vacuumCheckEvery {
				s.vacuumDeadRows(ctx)
				lastVacuumCheck = time.Now()
			}
			continue
		}
		if time.Since(lastOptimize) >= optimizeEvery || m.writes.Load() >= optimizeAfterWrites {
			s.optimizeStats(ctx)
			lastOptimize = time.Now()
		}
		writesNow := s.writes.Load()
		s.mergeWhenQuiet(ctx, m, writesThen, writesNow)
		writesThen = writesNow
	}
}

// noteWrite counts a write transaction towards the next optimize.
func (s *Store) noteWrite() {
	s.writes.Add(1)
	if s.maint != nil {
		s.maint.writes.Add(1)
	}
}

// Optimize prepares the database for reading after a bulk change (the bench's fast
// seed): planner statistics refreshed (optimizeStats) and, on SQLite, every substring
// index merged into one segment (ftsmerge.go).
func (s *Store) Optimize(ctx context.Context) {
	s.optimizeStats(ctx)
	if s.d.name == SQLite {
		s.search.noteAllUnmerged()
		if _, err := s.mergeSearchIndexes(ctx, time.Time{}); err != nil && ctx.Err() == nil {
			slog.Warn("merging substring indexes", "err", err)
		}
	}
}

// optimizeStats refreshes the planner's statistics where they are stale: SQLite's
// PRAGMA optimize (bounded by analysis_limit), PostgreSQL's VACUUM and ANALYZE of the
// items tables.
func (s *Store) optimizeStats(ctx context.Context) {
	if s.maint != nil {
		s.maint.writes.Store(0)
	}
	if s.d.name == Postgres {
		tables, err := s.itemTablesWith(ctx, "id")
		if err != nil {
			return
		}
		for _, t := range tables {
			// VACUUM too: index-only scans (a count from a covering index) need the
			// visibility map it keeps.
			_, _ = s.write.ExecContext(ctx, "VACUUM (ANALYZE) "+t)
		}
		return
	}
	if _, err := s.write.ExecContext(ctx, "PRAGMA analysis_limit=1000; PRAGMA optimize=0x10002"); err != nil && ctx.Err() == nil {
		slog.Warn("sqlite optimize", "err", err)
	}
}

// vacuumDeadRows vacuums the items tables whose dead row versions reached a fifth of
// their live rows (at least 1,000), or that changed as much otherwise (see below), and
// their counter delta tables, PostgreSQL. A delta table is a queue: every add and move
// appends a row, every fold deletes them all, so it holds a handful of live rows and
// as many dead ones as writes since its last vacuum — and every counter read (each
// Kanban and funnel view) scans them all.
// Autovacuum comes by once a minute at most (a minute of a busy type's writes); with
// it off, as this machine's CI runs PostgreSQL, the 5-minute soak's type ended with
// 243,000 dead delta rows (15 MB) for 187 live ones.
func (s *Store) vacuumDeadRows(ctx context.Context) {
	items, err := s.itemTablesWith(ctx, "id")
	if err != nil || len(items) == 0 {
		return
	}
	tables := slices.Clone(items)
	for _, t := range items {
		tables = append(tables, countDeltasTableOf(t))
	}
	in, args := inList(tables)
	// Dead rows, or (items tables) rows added or changed since the last look: new rows
	// are not in the visibility map that index-only counts need, and changed ones move
	// the planner's statistics. Updates that PostgreSQL keeps on their page (HOT) leave
	// no dead rows to count, so a table that is only added to and edited would
	// otherwise never be looked at.
	stale, err := queryColumn[string](ctx, s.conn, `SELECT relname FROM pg_stat_user_tables
WHERE schemaname = current_schema() AND relname IN (`+in+`) AND (
	(n_dead_tup >= 1000 AND n_dead_tup * 5 >= n_live_tup)
	OR relname NOT LIKE '%_count_deltas' AND (
		(n_ins_since_vacuum >= 1000 AND n_ins_since_vacuum * 5 >= n_live_tup)
		OR (n_mod_since_analyze >= 1000 AND n_mod_since_analyze * 10 >= n_live_tup)))`, args...)
	if err != nil {
		return
	}
	for _, t := range stale {
		// A queue's statistics do not matter: its only readers scan it whole.
		vacuum := "VACUUM (ANALYZE) "
		if !slices.Contains(items, t) {
			vacuum = "VACUUM "
		}
		if _, err := s.write.ExecContext(ctx, vacuum+t); err != nil && ctx.Err() == nil {
			slog.Warn("vacuum", "table", t, "err", err)
		}
	}
}

// analyzeIfNever runs ANALYZE on a SQLite database that has no statistics yet, so that
// sqlite_stat1 exists and PRAGMA optimize has a baseline.
func (s *Store) analyzeIfNever(ctx context.Context) error {
	ok, err := s.exists(ctx, `SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'`)
	if err != nil || ok {
		return err
	}
	_, err = s.write.ExecContext(ctx, "PRAGMA analysis_limit=1000; ANALYZE")
	return err
}

// tuneItemTable sets a PostgreSQL items table's storage: autovacuum re-analyzes it after
// 2% of its rows changed (the default waits for 10%, too late for a growing type), and
// its pages keep a tenth free, so that an edit of fields no index holds finds room for
// the new row version on the row's own page (a HOT update, see itemIndexes).
func (tx *Tx) tuneItemTable(ctx context.Context, table string) error {
	if tx.d.name != Postgres {
		return nil
	}
	_, err := tx.exec(ctx, "ALTER TABLE "+table+" SET (fillfactor = 90, autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 500)")
	return err
}
