package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Substring search. `%title` (contains) and `=%title` with a leading wildcard cannot use
// a B-tree index, so without help every such filter reads the whole table. Title and
// the text fields marked searchable get a trigram index, kept in the row's own
// transaction:
//
//   - SQLite: an FTS5 table with the trigram tokenizer per (table, column), holding the
//     case-folded text (casefold, the function case-insensitive LIKE already uses),
//     without positions (detail=none). The row's triggers only note its id in the
//     column's pending table; the group committer moves the noted rows into the FTS
//     table, just before COMMIT, once the table's groups have written about
//     syncEvery (64) rows since the last time (syncSearch). Three costs made this shape:
//     FTS5 writes its pending terms out as a new segment at every SAVEPOINT, and the
//     committer opens one per change, so triggers writing the FTS table made every add
//     write (and later merge) a segment of its own; a segment per group commit still
//     cost an add more than a fifth of its time; and positions were a third of the
//     bytes each commit wrote. The segments are merged into one when writes pause
//     (ftsmerge.go). A filter becomes `(id IN (SELECT rowid FROM fts WHERE
//     fts MATCH 'trigrams') OR id IN (SELECT id FROM pending)) AND <the LIKE>`: the
//     index narrows to candidates (rows holding every trigram of the pattern, plus the
//     few rows written since the last move, whose index entries may be missing or
//     stale), the LIKE keeps the exact answer; a contains filter of exactly three
//     characters is one trigram, exact without the LIKE for the rows not pending.
//     Folding the stored text with the same function as the LIKE makes the candidates
//     a superset of the matches by construction.
//   - PostgreSQL: a pg_trgm GIN index on the column, with a small pending list
//     (trgmIndexOptions). pg_trgm rechecks every candidate, so a search visits the heap
//     tuple of each match: ~3 ms for 2,000 matches of 200,000 rows, of which case
//     folding is a sixth. A (trigram, id) table answering counts and id pages from
//     its primary key was ten times faster to search, but 26 times the GIN index's
//     size and 45% dearer per INSERT (measured December 2026): not built.
//
// A trigram needs three characters: a pattern without a literal run of three falls back
// to the plain LIKE (a scan), with the same answer.

// trgmIndexOptions keeps GIN's pending list, at its smallest (64 kB). Without it
// (fastupdate = off) every add, and every move (a new row version in every index),
// put each of the title's dozen trigrams into the index tree one by one; with the
// default 4 MB list every search of a type that is being written scanned the pending
// entries, and searches slowed down as the list grew under a steady stream of adds.
// With 64 kB the entries of a couple of hundred rows wait and go into the tree
// sorted, together: on a 120,000-row copy of an items table (pgbench -M prepared
// -c 8, two interleaved runs each) INSERTs ran at 6,470–7,380/s against 4,790–5,130/s
// without the list, non-HOT UPDATEs at 7,920–8,110/s against 7,310–7,460/s, and a
// '%zqx%' count took 1.44–1.53 ms against 1.36.
const trgmIndexOptions = "fastupdate = on, " + trgmPendingList

// trgmPendingList is the pending list's limit as PostgreSQL lists it in reloptions,
// which tells an index made with trgmIndexOptions from one an earlier version made.
const trgmPendingList = "gin_pending_list_limit=64"

// searchSet records which columns have an FTS table (SQLite).
type searchSet struct {
	mu sync.RWMutex
	m  map[string]map[string]bool // table → columns
	// trgmOps is pg_trgm's GIN operator class, schema-qualified ("" without the
	// extension: substring filters then scan).
	trgmOps string
	// unsynced counts, per items table, the rows its transactions wrote since its FTS
	// tables last took in their pending rows (SQLite); syncEvery is where they do.
	unsynced  map[string]int
	syncEvery int
	// unmerged holds the FTS tables that may have more than one segment, each with the
	// generation (segmentGen) of its latest (ftsmerge.go).
	unmerged   map[string]int64
	segmentGen int64
}

// syncEvery is how many written rows of a table wait in its pending tables before the
// committer moves them into the FTS tables: each move writes one FTS segment, and a
// search reads the pending rows themselves. Measured (adds bench, 5-minute soak): 64
// keeps most of the adds' gain of 256, and the soak's searches as fast as with a move
// at every commit; with 256 they slowed down as the table grew.
const syncEvery = 64

// due adds the rows a transaction wrote to a table's count and tells whether its
// pending rows are to move now (the count then starts again).
func (s *searchSet) due(table string, rows int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.unsynced[table] + rows
	if n >= s.syncEvery {
		delete(s.unsynced, table)
		return true
	}
	s.unsynced[table] = n
	return false
}

func (s *searchSet) trgmOpclass() string {
	if s == nil {
		return ""
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.trgmOps
}

// loadTrgm installs pg_trgm where it can and learns its schema.
func (s *Store) loadTrgm(ctx context.Context) {
	// Another server (or test) may create it at the same moment: the error of the
	// loser does not matter, only whether it is there afterwards.
	_, _ = s.write.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public`)
	var schema string
	err := s.queryRow(ctx, `SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`).Scan(&schema)
	if err != nil {
		slog.Warn("pg_trgm is not available: substring filters will scan", "err", err)
		return
	}
	s.search.mu.Lock()
	s.search.trgmOps = schema + ".gin_trgm_ops"
	s.search.mu.Unlock()
}

func newSearchSet() *searchSet {
	return &searchSet{m: map[string]map[string]bool{}, unsynced: map[string]int{}, syncEvery: syncEvery, unmerged: map[string]int64{}}
}

func (s *searchSet) set(table, col string, on bool) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if on {
		if s.m[table] == nil {
			s.m[table] = map[string]bool{}
		}
		s.m[table][col] = true
		return
	}
	delete(s.m[table], col)
	delete(s.unmerged, ftsTable(table, col))
}

// columns lists a table's columns that have a substring index.
func (s *searchSet) columns(table string) []string {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	cols := make([]string, 0, len(s.m[table]))
	for c := range s.m[table] {
		cols = append(cols, c)
	}
	return cols
}

func (s *searchSet) has(table, col string) bool {
	if s == nil {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.m[table][col]
}

// ftsOf returns the lookup of a table's FTS tables, nil when it has none.
func (s *searchSet) ftsOf(table string) func(col string) string {
	if s == nil || table == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.m[table]) == 0 {
		return nil
	}
	return func(col string) string {
		if s.has(table, col) {
			return ftsTable(table, col)
		}
		return ""
	}
}

func ftsTable(table, col string) string { return table + "_fts_" + col }

// ftsPending is the table of rows written since the FTS table last took them in.
func ftsPending(fts string) string { return fts + "_pending" }

// pendingMatch keeps the pending rows of an FTS table that match a LIKE: their index
// entries may be missing or stale, so the LIKE decides for them.
func pendingMatch(fts, like string) string {
	return "(id IN (SELECT id FROM " + ftsPending(fts) + ") AND " + like + ")"
}

// trgmIndex names a column's pg_trgm index; hashed, as PostgreSQL cuts names at 63 bytes.
func trgmIndex(table, col string) string {
	sum := sha256.Sum256([]byte(col))
	return table + "_tg_" + hex.EncodeToString(sum[:4])
}

// ftsFilter returns the FTS table of col and the MATCH query that finds candidates for
// a LIKE pattern (backslash escapes), or "" when there is no index or no literal run of
// three characters in the pattern. exact reports that the candidates are the matches.
func (d whereCompiler) ftsFilter(col, pattern string) (table, match string, exact bool) {
	if d.fts == nil {
		return "", "", false
	}
	if table = d.fts(col); table == "" {
		return "", "", false
	}
	match, exact = ftsMatch(pattern)
	if match == "" {
		return "", "", false
	}
	return table, match, exact
}

// ftsMatch turns a LIKE pattern into an FTS5 query: the trigrams that cover every
// literal run of three or more characters (at 0, 3, 6, … and the last), case-folded,
// all required. Without positions in the index the trigrams of a run are not checked
// to be adjacent, so the query is exact only when it is one trigram.
func ftsMatch(pattern string) (match string, exact bool) {
	var terms []string
	var cur strings.Builder
	runs := 0
	flush := func() {
		run := []rune(strings.ToLower(cur.String()))
		cur.Reset()
		if len(run) < 3 {
			return
		}
		runs++
		for i := 0; ; i += 3 {
			i = min(i, len(run)-3)
			terms = append(terms, `"`+strings.ReplaceAll(string(run[i:i+3]), `"`, `""`)+`"`)
			if i == len(run)-3 {
				return
			}
		}
	}
	for i := 0; i < len(pattern); i++ {
		switch ch := pattern[i]; {
		case ch == '\\' && i+1 < len(pattern):
			i++
			cur.WriteByte(pattern[i])
		case ch == '%' || ch == '_':
			flush()
		default:
			cur.WriteByte(ch)
		}
	}
	flush()
	return strings.Join(terms, " AND "), runs == 1 && len(terms) == 1
}

// ftsHasTrigram reports whether a LIKE pattern has a literal run of three characters,
// which a trigram index can look up.
func ftsHasTrigram(pattern string) bool {
	match, _ := ftsMatch(pattern)
	return match != ""
}

// createSearch gives a text column its substring index, filled from the rows there are.
func (tx *Tx) createSearch(ctx context.Context, table, col string) error {
	if tx.d.name == Postgres {
		ops := tx.search.trgmOpclass()
		if ops == "" {
			return nil // without the extension, substring filters scan
		}
		_, err := tx.exec(ctx, "CREATE INDEX IF NOT EXISTS "+trgmIndex(table, col)+" ON "+table+" USING gin ("+col+" "+ops+") WITH ("+trgmIndexOptions+")")
		if err == nil {
			tx.search.set(table, col, true)
		}
		return err
	}
	fts := ftsTable(table, col)
	if _, err := tx.exec(ctx, "CREATE VIRTUAL TABLE IF NOT EXISTS "+fts+" USING fts5(v, content='', contentless_delete=1, detail=none, tokenize='trigram case_sensitive 1')"); err != nil {
		return fmt.Errorf("substring index of %s.%s: %w", table, col, err)
	}
	if err := tx.searchTriggers(ctx, table, col); err != nil {
		return err
	}
	for _, st := range []string{
		"DELETE FROM " + fts,
		"DELETE FROM " + ftsPending(fts),
		"INSERT INTO " + fts + "(rowid, v) SELECT id, casefold(" + col + ") FROM " + table + " WHERE " + col + " IS NOT NULL",
	} {
		if _, err := tx.exec(ctx, st); err != nil {
			return fmt.Errorf("substring index of %s.%s: %w", table, col, err)
		}
	}
	tx.search.set(table, col, true)
	return nil
}

// dropSearch removes a column's substring index (before the column goes: SQLite will not
// drop a column a trigger names).
func (tx *Tx) dropSearch(ctx context.Context, table, col string) error {
	if tx.d.name == Postgres {
		tx.search.set(table, col, false)
		_, err := tx.exec(ctx, "DROP INDEX IF EXISTS "+trgmIndex(table, col))
		return err
	}
	fts := ftsTable(table, col)
	for _, st := range []string{
		"DROP TRIGGER IF EXISTS " + fts + "_qi", "DROP TRIGGER IF EXISTS " + fts + "_qu",
		"DROP TRIGGER IF EXISTS " + fts + "_qd", "DROP TABLE IF EXISTS " + fts, "DROP TABLE IF EXISTS " + ftsPending(fts),
	} {
		if _, err := tx.exec(ctx, st); err != nil {
			return err
		}
	}

	tx.search.set(table, col, false)
	return nil
}

// SetUserFieldSearch gives a custom text field's column a substring index or drops it.
func (tx *Tx) SetUserFieldSearch(ctx context.Context, entityTypeID int64, column string, on bool) error {
	if !columnPattern.MatchString(column) {
		return fmt.Errorf("invalid column name %q", column)
	}
	table := ItemTable(entityTypeID)
	if !on {
		return tx.dropSearch(ctx, table, column)
	}
	if tx.d.name == SQLite && tx.search.has(table, column) {
		return nil
	}
	return tx.createSearch(ctx, table, column)
}

// dropTableSearch drops the FTS tables of a table about to be dropped (its triggers go
// with it).
func (tx *Tx) dropTableSearch(ctx context.Context, table string) error {
	if tx.d.name == Postgres {
		return nil
	}
	names, err := queryColumn[string](ctx, tx.conn, `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%' AND name LIKE ? ESCAPE '\'`,
		strings.ReplaceAll(table, "_", `\_`)+`\_fts\_%`)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := tx.exec(ctx, "DROP TABLE IF EXISTS "+n); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, "DROP TABLE IF EXISTS "+ftsPending(n)); err != nil {
			return err
		}
		tx.search.set(table, strings.TrimPrefix(n, table+"_fts_"), false)
	}
	return nil
}

// loadSearchSet reads which columns have a substring index, at start.
func (s *Store) loadSearchSet(ctx context.Context) error {
	if s.d.name == Postgres {
		rows, err := s.query(ctx, `SELECT t.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = i.indkey[0]
WHERE n.nspname = current_schema() AND c.relname LIKE 'crm\_items\_%\_tg\_%' AND i.indisvalid`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				return err
			}
			s.search.set(table, col, true)
		}
		return rows.Err()
	}
	names, err := queryColumn[string](ctx, s.conn, `SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%' AND name LIKE 'crm\_items\_%\_fts\_%' ESCAPE '\'`)
	if err != nil {
		return err
	}
	for _, n := range names {
		if m := ftsTableName.FindStringSubmatch(n); m != nil {
			s.search.set(m[1], m[2], true)
		}
	}
	s.search.noteAllUnmerged()
	return nil
}

// ensureTitleSearch gives the title of every items table a substring index, for tables
// made before search existed. On PostgreSQL the indexes are built CONCURRENTLY in the
// background; on SQLite in one transaction at start.
func (s *Store) ensureTitleSearch(ctx context.Context) {
	tables, err := s.itemTablesWith(ctx, "title")
	if err != nil {
		slog.Warn("substring indexes", "err", err)
		return
	}
	for _, table := range tables {
		if s.search.has(table, "title") {
			continue
		}
		if s.d.name == Postgres {
			ops := s.search.trgmOpclass()
			if ops == "" {
				return
			}
			if _, err := s.write.ExecContext(ctx, "CREATE INDEX CONCURRENTLY IF NOT EXISTS "+trgmIndex(table, "title")+" ON "+table+" USING gin (title "+ops+") WITH ("+trgmIndexOptions+")"); err != nil {
				slog.Warn("substring index", "table", table, "err", err)
				continue
			}
			s.search.set(table, "title", true)
			continue
		}
		if err := s.InTx(ctx, func(tx *Tx) error { return tx.createSearch(ctx, table, "title") }); err != nil {
			slog.Warn("substring index", "table", table, "err", err)
		}
	}
}

var itemTableName = regexp.MustCompile(`^crm_items_[0-9]+$`)

// itemTablesWith lists the items tables that have a column.
func (s *Store) itemTablesWith(ctx context.Context, col string) ([]string, error) {
	q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name LIKE 'crm\_items\_%' ESCAPE '\' AND p.name = ?`
	if s.d.name == Postgres {
		q = `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name LIKE 'crm\_items\_%' AND column_name = ?`
	}
	tables, err := queryColumn[string](ctx, s.conn, q, col)
	if err != nil {
		return nil, err
	}
	out := tables[:0]
	for _, t := range tables {
		if itemTableName.MatchString(t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// upgradeTrgmOptions gives the substring indexes that earlier versions made without
// the pending list their trgmIndexOptions (PostgreSQL), in the background: changing
// fastupdate locks the index against every query of its table until the ALTER commits,
// so each waits for a second at most behind the queries already running and is left
// for the next start if it cannot get the lock (the index answers the same either way).
func (s *Store) upgradeTrgmOptions(ctx context.Context) {
	older, err := queryColumn[string](ctx, s.conn, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'i' AND c.relname LIKE 'crm\_items\_%\_tg\_%'
AND NOT COALESCE(c.reloptions @> ARRAY[?], false)`, trgmPendingList)
	if err != nil {
		if ctx.Err() == nil {
			slog.Warn("substring index options", "err", err)
		}
		return
	}
	for _, index := range older {
		err := func() error {
			tx, err := s.write.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '1s'"); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "ALTER INDEX "+index+" SET ("+trgmIndexOptions+")"); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err != nil && ctx.Err() == nil {
			slog.Info("substring index options left for the next start", "index", index, "err", err)
		}
	}
}

// searchTriggers (re)creates the triggers that note a column's changed rows in its
// pending table (fresh = 1: inserted since the last commit, so the FTS table holds
// nothing of it yet), replacing those of earlier versions that wrote the FTS table
// directly.
func (tx *Tx) searchTriggers(ctx context.Context, table, col string) error {
	fts := ftsTable(table, col)
	note := func(id string, fresh int) string {
		return fmt.Sprintf("INSERT OR IGNORE INTO %s (id, fresh) VALUES (%s, %d); END", ftsPending(fts), id, fresh)
	}
	for _, st := range []string{
		"CREATE TABLE IF NOT EXISTS " + ftsPending(fts) + " (id INTEGER PRIMARY KEY, fresh INTEGER NOT NULL)",
		"DROP TRIGGER IF EXISTS " + fts + "_ai", "DROP TRIGGER IF EXISTS " + fts + "_au", "DROP TRIGGER IF EXISTS " + fts + "_ad",
		"CREATE TRIGGER IF NOT EXISTS " + fts + "_qi AFTER INSERT ON " + table + " WHEN new." + col + " IS NOT NULL BEGIN " + note("new.id", 1),
		"CREATE TRIGGER IF NOT EXISTS " + fts + "_qu AFTER UPDATE OF " + col + " ON " + table + " BEGIN " + note("old.id", 0),
		"CREATE TRIGGER IF NOT EXISTS " + fts + "_qd AFTER DELETE ON " + table + " BEGIN " + note("old.id", 0),
	} {
		if _, err := tx.exec(ctx, st); err != nil {
			return fmt.Errorf("substring index of %s.%s: %w", table, col, err)
		}
	}
	return nil
}

var ftsTableName = regexp.MustCompile(`^(crm_items_[0-9]+)_fts_([a-z0-9_]+)$`)

// writtenTables counts the rows a transaction's statements wrote per items table.
type writtenTables struct {
	names []string
	rows  []int
}

// note finds the items table a write statement names (the first one: the table an
// INSERT, UPDATE or DELETE writes) and returns its place, -1 for none.
func (w *writtenTables) note(q string) int {
	if w == nil {
		return -1
	}
	i := strings.Index(q, "crm_items_")
	if i < 0 {
		return -1
	}
	j := i + len("crm_items_")
	for j < len(q) && q[j] >= '0' && q[j] <= '9' {
		j++
	}
	if j < len(q) && q[j] == '_' {
		return -1 // a table of the items table's own (its FTS or pending rows)
	}
	table := q[i:j]
	if k := slices.Index(w.names, table); k >= 0 {
		return k
	}
	w.names, w.rows = append(w.names, table), append(w.rows, 0)
	return len(w.names) - 1
}

// wrote adds the rows a statement noted at k changed.
func (w *writtenTables) wrote(k int, res sql.Result) {
	if k < 0 || res == nil {
		return
	}
	if n, err := res.RowsAffected(); err == nil {
		w.rows[k] += int(n)
	}
}

// syncSearch moves the rows noted in the pending tables of the items tables this
// transaction wrote into their FTS tables, just before COMMIT, once a table's writes
// since the last move reach syncEvery rows. Execs only: a query inside a transaction
// costs database/sql a goroutine, and this runs for every group.
func (tx *Tx) syncSearch(ctx context.Context) error {
	if tx.written == nil {
		return nil
	}
	for k, table := range tx.written.names {
		cols := tx.search.columns(table)
		if len(cols) == 0 || !tx.search.due(table, tx.written.rows[k]) {
			continue
		}
		if err := tx.movePending(ctx, table, cols); err != nil {
			return err
		}
	}
	return nil
}

// movePending brings the FTS tables of a table's columns up to date with their pending
// rows: the stale entries out, the rows' current text in.
func (tx *Tx) movePending(ctx context.Context, table string, cols []string) error {
	for _, col := range cols {
		fts := ftsTable(table, col)
		pending := ftsPending(fts)
		for _, st := range []string{
			"DELETE FROM " + fts + " WHERE rowid IN (SELECT id FROM " + pending + " WHERE fresh = 0)",
			"INSERT INTO " + fts + "(rowid, v) SELECT t.id, casefold(t." + col + ") FROM " + pending + " p CROSS JOIN " + table + " t ON t.id = p.id WHERE t." + col + " IS NOT NULL",
			"DELETE FROM " + pending,
		} {
			if _, err := tx.exec(ctx, st); err != nil {
				return fmt.Errorf("substring index of %s.%s: %w", table, col, err)
			}
		}
		tx.search.noteSegment(fts)
	}
	return nil
}

// syncAllSearch moves the pending rows of every table at start, so that a search never
// reads more than about syncEvery of them.
func (s *Store) syncAllSearch(ctx context.Context) error {
	return s.InTx(ctx, func(tx *Tx) error {
		s.search.mu.RLock()
		tables := make([]string, 0, len(s.search.m))
		for t := range s.search.m {
			tables = append(tables, t)
		}
		s.search.mu.RUnlock()
		for _, t := range tables {
			if err := tx.movePending(ctx, t, s.search.columns(t)); err != nil {
				return err
			}
		}
		return nil
	})
}

// upgradeSearchTriggers gives the substring indexes of a database made by an earlier
// version the triggers that note rows instead of writing the FTS table (SQLite).
func (s *Store) upgradeSearchTriggers(ctx context.Context) error {
	old, err := queryColumn[string](ctx, s.conn, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'crm\_items\_%\_fts\_%\_ai' ESCAPE '\'`)
	if err != nil || len(old) == 0 {
		return err
	}
	return s.InTx(ctx, func(tx *Tx) error {
		for _, trigger := range old {
			m := ftsTableName.FindStringSubmatch(strings.TrimSuffix(trigger, "_ai"))
			if m == nil {
				continue
			}
			if err := tx.searchTriggers(ctx, m[1], m[2]); err != nil {
				return err
			}
		}
		return nil
	})
}
