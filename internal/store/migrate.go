package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"smartcrm/internal/field"
)

// TypeFlags are the Y/N settings of a smart process, in wire order, with their columns
// and defaults (spec §3.1). The registry table has one column each, so crm.type.list
// can filter and sort on them.
//
// The code reads and writes flags through this list, but the schema does not come from
// it: each column is created by a migration (migration 1 for these). Adding a flag
// means adding it here AND a new migration that adds its column; a test fails when a
// flag has no column.
var TypeFlags = []struct{ Wire, Column, Default string }{
	{"isCategoriesEnabled", "is_categories_enabled", "N"},
	{"isStagesEnabled", "is_stages_enabled", "N"},
	{"isBeginCloseDatesEnabled", "is_begin_close_dates_enabled", "N"},
	{"isClientEnabled", "is_client_enabled", "N"},
	{"isUseInUserfieldEnabled", "is_use_in_userfield_enabled", "N"},
	{"isLinkWithProductsEnabled", "is_link_with_products_enabled", "N"},
	{"isMycompanyEnabled", "is_mycompany_enabled", "N"},
	{"isDocumentsEnabled", "is_documents_enabled", "N"},
	{"isSourceEnabled", "is_source_enabled", "N"},
	{"isObserversEnabled", "is_observers_enabled", "N"},
	{"isRecyclebinEnabled", "is_recyclebin_enabled", "N"},
	{"isAutomationEnabled", "is_automation_enabled", "N"},
	{"isBizProcEnabled", "is_biz_proc_enabled", "N"},
	{"isSetOpenPermissions", "is_set_open_permissions", "Y"},
	{"isPaymentsEnabled", "is_payments_enabled", "N"},
	{"isCountersEnabled", "is_counters_enabled", "N"},
}

// The migrations are frozen SQL, one embedded file per version, never built from Go
// values: a schema generated from live code changes when the code changes, which
// rewrites history for new databases and never reaches existing ones.
//
// migrations/NNNN_name.sql is version NNNN; versions run from 1 without gaps. A file
// holds statements, each introduced by a line that is exactly migrationSeparator. The
// whole comment lines that open or close a chunk describe a statement and are not sent
// to the database; the rest of the chunk, trimmed, is sent as is. Text before the first
// separator may only be comments. Statements use the placeholders of expandDDL ({ID},
// {TIME}, {DATE}, {JSON}, {WITHOUT_ROWID}) so that one file serves both databases.
//
// A separator line rather than ";" because a statement may one day hold semicolons of
// its own (a trigger body, a function, a string), and splitting on them would be wrong.
//
// A statement introduced by postgresSeparator instead runs on PostgreSQL only: what one
// database needs and the other has no words for (a PL/pgSQL function).
//
// A file that has shipped must never change, not even in a comment or its whitespace:
// databases already migrated past it would not see the change, and SQLite keeps each
// CREATE statement's text in its schema. migrate_frozen_test.go holds their hashes.
// Change the schema with a new file, and add its hash to that test.

//go:embed migrations/*.sql
var migrationFiles embed.FS

const (
	migrationSeparator = "-- statement"
	postgresSeparator  = "-- statement on postgres"
)

// migration is one schema step.
type migration struct {
	version int
	name    string // the file it comes from
	stmts   []migrationStmt
}

// migrationStmt is one statement of a migration.
type migrationStmt struct {
	sql string
	// only names the one database the statement runs on ("" for both).
	only string
}

// migrations are the schema steps in version order. Reading them cannot fail at run
// time once a build has passed its tests (the files are compiled in), so a bad file
// stops the program at start rather than half-migrating a database.
var migrations = mustLoadMigrations(migrationFiles)

func mustLoadMigrations(fsys fs.FS) []migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic(err)
	}
	return ms
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

// loadMigrations reads migrations/*.sql from fsys, in version order.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration %s: the name must be NNNN_name.sql (lower case, digits, underscores)", e.Name())
		}
		version, _ := strconv.Atoi(m[1])
		// ReadDir sorts by name, and the numbers have a fixed width, so versions
		// arrive in order: a gap or a repeated number shows as a mismatch here.
		if version != len(out)+1 {
			return nil, fmt.Errorf("migration %s: version %d expected (versions run from 1 without gaps or repeats)", e.Name(), len(out)+1)
		}
		src, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		stmts, err := splitMigration(string(src))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		out = append(out, migration{version: version, name: e.Name(), stmts: stmts})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no migrations embedded")
	}
	return out, nil
}

// splitMigration cuts a migration file into its statements (see migrationFiles for the
// format). It refuses anything it could misread, such as SQL before the first
// separator or a separator spelled differently, rather than guess.
func splitMigration(src string) ([]migrationStmt, error) {
	isComment := func(line string) bool {
		line = strings.TrimSpace(line)
		return line == "" || strings.HasPrefix(line, "--")
	}
	var stmts []migrationStmt
	var chunk []string // lines of the current statement; nil before the first separator
	started, only := false, ""
	flush := func(lineNo int) error {
		if !started {
			return nil
		}
		// Drop the comment lines that describe the statement, and any that trail it
		// (they belong to the next one), so that only SQL is sent.
		i, j := 0, len(chunk)
		for i < j && isComment(chunk[i]) {
			i++
		}
		for j > i && isComment(chunk[j-1]) {
			j--
		}
		stmt := strings.TrimSpace(strings.Join(chunk[i:j], "\n"))
		if stmt == "" {
			return fmt.Errorf("line %d: a %q line with no statement after it", lineNo, migrationSeparator)
		}
		stmts = append(stmts, migrationStmt{sql: stmt, only: only})
		return nil
	}
	lines := strings.Split(src, "\n")
	sepLine := 0
	for n, line := range lines {
		if line == migrationSeparator || line == postgresSeparator {
			if err := flush(sepLine); err != nil {
				return nil, err
			}
			started, chunk, sepLine, only = true, nil, n+1, ""
			if line == postgresSeparator {
				only = Postgres
			}
			continue
		}
		// A near miss ("--statement", "-- Statement ", "  -- statement") would be read
		// as a comment and glue two statements together.
		if spaced := strings.Join(strings.Fields(strings.Replace(line, "--", "-- ", 1)), " "); strings.EqualFold(spaced, migrationSeparator) || strings.EqualFold(spaced, postgresSeparator) {
			return nil, fmt.Errorf("line %d: write the separator as exactly %q", n+1, migrationSeparator)
		}
		if !started {
			if !isComment(line) {
				return nil, fmt.Errorf("line %d: SQL before the first %q line", n+1, migrationSeparator)
			}
			continue
		}
		chunk = append(chunk, line)
	}
	if !started {
		return nil, fmt.Errorf("no %q line: the file holds no statement", migrationSeparator)
	}
	if err := flush(sepLine); err != nil {
		return nil, err
	}
	return stmts, nil
}

// Migrate brings the schema up to date. It is safe to run at every start, and safe when
// several processes start at once: on PostgreSQL an advisory lock serialises them, on
// SQLite the write transaction does (BEGIN IMMEDIATE); the second finds the versions
// applied and does nothing.
func (s *Store) Migrate(ctx context.Context) error {
	return s.migrateTo(ctx, migrations[len(migrations)-1].version)
}

// migrateTo applies the migrations not yet applied, up to and including version, all in
// one transaction. Tests use it to build a database as an older release left it.
func (s *Store) migrateTo(ctx context.Context, version int) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if s.d.name == Postgres {
			if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock(727431)`); err != nil {
				return err
			}
		}
		if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY)`); err != nil {
			return err
		}
		var current int
		if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		for _, m := range migrations {
			if m.version <= current || m.version > version {
				continue
			}
			for _, stmt := range m.stmts {
				if stmt.only != "" && stmt.only != s.d.name {
					continue
				}
				if _, err := tx.exec(ctx, s.d.expandDDL(stmt.sql)); err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			if _, err := tx.exec(ctx, `INSERT INTO schema_migrations (version) VALUES (?)`, m.version); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *dialect) expandDDL(stmt string) string {
	return strings.NewReplacer(
		"{ID}", d.identity,
		"{TIME}", d.columns[field.StorageTime],
		"{DATE}", d.columns[field.StorageDate],
		"{JSON}", d.columns[field.StorageJSON],
		// SQLite keeps a table with a rowid and, beside it, its primary key index; a
		// table read only by its key is cheaper to write clustered on that key.
		"{WITHOUT_ROWID}", map[string]string{SQLite: " WITHOUT ROWID"}[d.name],
	).Replace(stmt)
}
