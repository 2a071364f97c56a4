// Package store is the only place that speaks SQL. It serves SQLite (the default,
// embedded, pure Go) and PostgreSQL (production) from one code base: statements are
// written once with `?` placeholders and rebound for PostgreSQL, and the few places where
// the two dialects differ (column types, identity columns, case-insensitive LIKE, JSON
// arrays) ask the dialect.
//
// Identifiers in generated SQL come only from the registry (table names built from
// integer type ids, column names declared by the domain's field catalog); every value is
// a bind parameter.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" driver
	"modernc.org/sqlite"             // registers the "sqlite" driver
)

func init() {
	// casefold lower-cases text in every alphabet, for case-insensitive LIKE.
	sqlite.MustRegisterDeterministicScalarFunction("casefold", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		}
		return args[0], nil
	})
}

// Errors the domain distinguishes.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("the row was changed by someone else")
)

// Dialect names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is an open database.
type Store struct {
	conn
	// write is where transactions run. For SQLite it is a pool of one connection:
	// SQLite allows one writer at a time, and queueing writers in Go is far cheaper than
	// letting them spin on SQLITE_BUSY. Reads use the shared pool and never wait for it
	// (WAL mode).
	write *sql.DB
	read  *sql.DB
	// group runs SQLite write transactions (see groupcommit.go); nil on PostgreSQL.
	group *committer
	// writeSlots bounds the write transactions in flight on PostgreSQL (pgWriteSlots
	// says how many, and why); a writer waiting here costs nothing.
	writeSlots chan struct{}
	// writeStmts are the writer's prepared statements (SQLite).
	writeStmts *stmtCache
	// checkpoints copies the write-ahead log into the database file (SQLite).
	checkpoints *checkpointer
	// lanes keeps long lists from starving point reads (lanes.go).
	*lanes
	// maint keeps planner statistics current and folds counter deltas (maintain.go).
	maint *maintainer
	// writes counts write transactions: index builds on SQLite wait for a quiet moment.
	writes atomic.Int64
	// quietBelow overrides QuietWrites (tests; 0: the default).
	quietBelow atomic.Int64
}

// Pools returns the connection pools by name, for metrics.
func (s *Store) Pools() map[string]*sql.DB {
	if s.read == s.write {
		return map[string]*sql.DB{s.d.name: s.read}
	}
	return map[string]*sql.DB{s.d.name + "_read": s.read, s.d.name + "_write": s.write, s.d.name + "_lists": s.lanes.listDB}
}

// Dialect returns SQLite or Postgres.
func (s *Store) Dialect() string { return s.d.name }

// Open connects to dsn: a postgres:// or postgresql:// URL means PostgreSQL, anything
// else is a SQLite file path (its directory is created).
func Open(ctx context.Context, dsn string) (*Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, err
		}
		db := sql.OpenDB(pipeConnector{stdlib.GetConnector(*cfg)})
		// Writes and lists each have a bound, and the pool holds both and then some: a
		// point read finds a connection however many writes and lists run.
		writes := pgWriteSlots()
		pool := writes + pgListConns + pgPointReadConns
		db.SetMaxOpenConns(pool)
		db.SetMaxIdleConns(pool)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s := &Store{write: db, read: db, writeSlots: make(chan struct{}, writes)}
		s.conn = conn{q: db, d: dialectPostgres, search: newSearchSet(), ids: newIDsAhead()}
		s.lanes = newLanes(conn{q: db, d: dialectPostgres, search: s.search}, pgListConns)
		s.lanes.boundSearches(pgSearchSlots(cfg.Host))
		if err := s.ping(ctx); err != nil {
			db.Close()
			return nil, err
		}
		return s, s.startMaintenance(ctx)
	}
	path := strings.TrimPrefix(dsn, "sqlite:")
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("creating the database directory: %w", err)
		}
	}
	uri := sqliteURI(path)
	// Page caches are per connection and live outside the Go heap: the writer gets a
	// large one (it touches every index it writes), each reader a modest one, so that
	// memory stays bounded however many readers run.
	write := SQLiteWriter(path)
	read, err := sql.Open("sqlite", uri+"?"+sqliteReaderPragmas)
	if err != nil {
		write.Close()
		return nil, err
	}
	// Point reads (an item, a Kanban column, counters, sessions, the registry) have a
	// pool of their own that lists never use, so a slow list cannot queue them.
	readers := max(4, 2*runtime.NumCPU())
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	recycleReaders(read)
	lists, err := openSQLiteLists(uri)
	if err != nil {
		write.Close()
		read.Close()
		return nil, err
	}
	search := newSearchSet()
	s := &Store{write: write, read: read, writeStmts: newStmtCache(write)}
	s.conn = conn{q: read, d: dialectSQLite, stmts: newStmtCache(read), search: search}
	s.lanes = newLanes(conn{q: lists, d: dialectSQLite, stmts: newStmtCache(lists), search: search}, sqliteListReaders())
	s.lanes.boundSearches(localSearchSlots(), spareAfterQuiet)
	s.lanes.listDB = lists
	s.group = newCommitter(write, dialectSQLite, s.writeStmts, search)
	ckpt, err := sql.Open("sqlite", uri+"?"+sqlitePragmas+"&_pragma=cache_size(-1024)")
	if err != nil {
		s.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	s.checkpoints = startCheckpointer(ckpt)
	// The writer must exist before readers open the file, so that WAL mode is set.
	if err := write.PingContext(ctx); err != nil {
		return nil, err
	}
	if err := s.ping(ctx); err != nil {
		return nil, err
	}
	if err := s.loadSearchSet(ctx); err != nil {
		return nil, err
	}
	return s, s.startMaintenance(ctx)
}

// pgWriteSlots is how many write transactions run at once on PostgreSQL: eight per core
// of this machine (which the database usually shares), at least 16 and at most 32.
//
// Past some number, more transactions at once only contend inside the database, and
// throughput falls as clients are added. Too few cost as much: transactions that
// commit together share one flush of the write-ahead log, and a bound of eight kept
// those groups small. On this 2-core machine, 32 clients adding items and then moving
// them (pairs of runs, alternating): 1,806–1,869 adds/s under 8 slots, 2,418–2,735
// under 16, 2,081–2,212 under 32; moves 1,713–1,929, 2,034–2,190 and 1,900–2,085.
func pgWriteSlots() int { return min(32, max(16, 8*runtime.NumCPU())) }

const (
	// pgListConns bounds the lists and counts running at once (lanes.go).
	pgListConns = 24
	// pgPointReadConns are the pool's connections that only point reads can take.
	pgPointReadConns = 8
)

func (s *Store) ping(ctx context.Context) error { return s.read.PingContext(ctx) }

// Ping checks that the database answers (for /healthz).
func (s *Store) Ping(ctx context.Context) error { return s.ping(ctx) }

// Close finishes queued writes and closes both pools.
func (s *Store) Close() error {
	s.maint.close()
	if s.group != nil {
		s.group.close()
	}
	if s.checkpoints != nil {
		s.checkpoints.close()
	}
	s.writeStmts.close()
	s.conn.stmts.close()
	s.lanes.close()
	err := s.write.Close()
	if s.read != s.write {
		if e := s.read.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Tx is a write transaction. Every change the domain makes happens inside one.
type Tx struct {
	conn
	tx *sql.Tx
	// locked is the item row GetItemForUpdate last locked (PostgreSQL).
	locked lockedRow
	// assumed is the item row AssumeItemVersion vouched for without reading it.
	assumed lockedRow
}

// lockedRow names a row locked at a version.
type lockedRow struct {
	table       string
	id, version int64
}

// InTx runs fn in a transaction and commits when it returns nil. DDL runs inside too:
// both SQLite and PostgreSQL roll back CREATE/ALTER/DROP TABLE, so a failed step can
// never leave a half-built type behind.
//
// On SQLite, concurrent calls may share one transaction (group commit, see
// groupcommit.go); each still commits or rolls back as a unit.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	defer s.noteWrite()
	if s.group != nil {
		return s.group.submit(ctx, fn)
	}
	select {
	case s.writeSlots <- struct{}{}:
		defer func() { <-s.writeSlots }()
	case <-ctx.Done():
		return ctx.Err()
	}
	statements.Add(2) // BEGIN and COMMIT (or ROLLBACK)
	sqlTx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &Tx{conn: conn{q: sqlTx, d: s.d, tx: sqlTx, search: s.search, ids: s.ids}, tx: sqlTx}
	if err := callSafely(fn, tx); err != nil {
		_ = sqlTx.Rollback()
		return conflictOr(err)
	}
	return conflictOr(sqlTx.Commit())
}

// conflictOr is ErrConflict for PostgreSQL's "redo the transaction" (40001, which an
// assumed item version that no longer holds raises), else err.
func conflictOr(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "40001" {
		redone.Add(1)
		return ErrConflict
	}
	return err
}

// redone counts the transactions PostgreSQL refused with 40001, for /metrics.
var redone atomic.Int64

// StaleAssumptions is how many transactions failed because a row was no longer at the
// version the caller assumed (AssumeItemVersion): each was rolled back and redone.
func StaleAssumptions() int64 { return redone.Load() }

// querier is what both a pool and a transaction offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn binds a querier to its dialect; read methods live on it so that they work both
// on the pool and inside a transaction.
type conn struct {
	q     querier
	d     *dialect
	stmts *stmtCache // nil where the driver caches statements itself
	tx    *sql.Tx    // set inside a transaction
	// search knows which columns have a substring index (search.go).
	search *searchSet
	// written counts the rows a group transaction wrote per items table, whose
	// substring indexes take them in when enough have gathered (SQLite; nil elsewhere).
	written *writtenTables
	// ids are the item ids drawn ahead (pgids.go; PostgreSQL, nil on SQLite).
	ids *idsAhead
}

// prepared returns a cached prepared statement for q, bound to the transaction when
// there is one, or nil.
func (c conn) prepared(ctx context.Context, q string) *sql.Stmt {
	st := c.stmts.get(ctx, q, c.tx != nil)
	if st == nil || c.tx == nil {
		return st
	}
	return c.tx.StmtContext(ctx, st)
}

// statements counts the statements sent to the database (BEGIN and COMMIT of
// PostgreSQL transactions included): the round trips a change costs, for /metrics.
var statements atomic.Int64

// Statements is how many statements this process has sent to its databases.
func Statements() int64 { return statements.Load() }

func (c conn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	statements.Add(1)
	k := c.written.note(q)
	q = c.d.rebind(q)
	var res sql.Result
	var err error
	if st := c.prepared(ctx, q); st != nil {
		res, err = st.ExecContext(ctx, args...)
	} else {
		res, err = c.q.ExecContext(ctx, q, args...)
	}
	c.written.wrote(k, res)
	return res, err
}

// later runs a statement whose result nobody reads. On PostgreSQL it is queued and
// travels with the transaction's next round trip (pgpipeline.go); a failure fails the
// transaction there.
func (tx *Tx) later(ctx context.Context, q string, args ...any) error {
	if tx.d.name == Postgres {
		q = laterMark + q
	}
	_, err := tx.exec(ctx, q, args...)
	return err
}

func (c conn) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	statements.Add(1)
	q = c.d.rebind(q)
	if c.tx != nil && c.d.name == Postgres {
		q = readMark + q
	}
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, q, args...)
}

func (c conn) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	statements.Add(1)
	q = c.d.rebind(q)
	if c.tx != nil && c.d.name == Postgres {
		q = readMark + q
	}
	if st := c.prepared(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, q, args...)
}
