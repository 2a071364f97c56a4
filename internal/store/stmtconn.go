package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// The SQLite writer's connection keeps every statement it runs prepared, by its SQL
// text. The job queue (River) sends the same large statements for every job — an
// insert, a fetch, a completion — through plain ExecContext and QueryContext calls,
// and SQLite parsed each anew: a third of the server's CPU under a steady flow of
// robots went to the SQL parser. Prepared once per connection, a statement is only
// bound and stepped.

// sqlitePragmas are the settings of every connection to a database file.
const sqlitePragmas = "_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(1)&_pragma=temp_store(MEMORY)"

// sqliteReaderPragmas add a reader's settings: a modest page cache, so that memory stays
// bounded however many readers run, and no writes. Readers do not map the file
// (mmap_size): a read transaction that finds the database changed since its last one
// unmaps the whole file and faults each page in again, and under a steady flow of
// writes that cost a third of the server's CPU in the mixed soak (munmap and first
// touches); pread into the page cache is cheaper, and a cached page stays parsed.
// Measured on the bench's soak: end throughput 1,500-1,860 -> 2,890-3,620 calls/s.
const sqliteReaderPragmas = sqlitePragmas + "&_pragma=cache_size(-8192)&_pragma=query_only(1)"

// SQLiteWriter opens the one writing connection of a database file: a large page
// cache (it touches every index it writes), checkpoints left to the checkpointer,
// transactions that take the write lock at once, statements kept prepared. The
// benchmarks open River's bare baseline with it too, so both measure the same
// connection.
func SQLiteWriter(path string) *sql.DB {
	db := sql.OpenDB(stmtConnector{driver: registeredSQLite(), dsn: sqliteURI(path) + "?" + sqlitePragmas +
		"&_pragma=cache_size(-32768)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(67108864)&_txlock=immediate"})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	return db
}

// sqliteURI is a file path as the driver reads it, a URI: a '#' or '?' in the path (a
// test's temporary directory "TestXsqlite#01") would cut it short and open another
// file.
func sqliteURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "#", "%23", "?", "%3F").Replace(path)
}

// registeredSQLite is the driver registered as "sqlite", with the functions the
// schema uses (casefold).
func registeredSQLite() *sqlite.Driver {
	db, _ := sql.Open("sqlite", "")
	defer db.Close()
	return db.Driver().(*sqlite.Driver)
}

// stmtConnector opens SQLite connections that keep their statements.
type stmtConnector struct {
	dsn    string
	driver *sqlite.Driver
}

func (c stmtConnector) Connect(context.Context) (driver.Conn, error) {
	inner, err := c.driver.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &stmtConn{Conn: inner, stmts: map[string]*keptStmt{}}, nil
}

func (c stmtConnector) Driver() driver.Driver { return c.driver }

// maxKeptStmts bounds a connection's statements: list queries vary with their filters,
// and ever-new shapes must not grow memory without end. Past it, statements are
// prepared per use.
const maxKeptStmts = 1024

type stmtConn struct {
	driver.Conn
	stmts map[string]*keptStmt
}

type keptStmt struct {
	st driver.Stmt
	// busy is set while rows of the statement are open: the same text run again
	// meanwhile gets a statement of its own.
	busy bool
}

// kept returns the prepared statement of q, preparing it on first use; nil when q is
// not kept (not a single data statement, the bound reached, or it is busy).
func (c *stmtConn) kept(ctx context.Context, q string) *keptStmt {
	if k, ok := c.stmts[q]; ok {
		if k.busy {
			return nil
		}
		return k
	}
	if len(c.stmts) >= maxKeptStmts || !keepable(q) {
		return nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil // the plain path reports it
	}
	k := &keptStmt{st: st}
	c.stmts[q] = k
	return k
}

// keepable: a statement that reads or writes data; schema changes run as given. (A
// script of several statements is kept too: the driver runs it statement by statement
// either way.)
func keepable(q string) bool {
	t := skipComments(q)
	head := strings.ToUpper(t[:min(len(t), 7)])
	for _, verb := range []string{"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"} {
		if strings.HasPrefix(head, verb) {
			return true
		}
	}
	return false
}

// skipComments drops the comments a statement starts with (generated queries begin
// with "-- name: …").
func skipComments(q string) string {
	for {
		q = strings.TrimSpace(q)
		switch {
		case strings.HasPrefix(q, "--"):
			i := strings.IndexByte(q, '\n')
			if i < 0 {
				return ""
			}
			q = q[i+1:]
		case strings.HasPrefix(q, "/*"):
			i := strings.Index(q, "*/")
			if i < 0 {
				return ""
			}
			q = q[i+2:]
		default:
			return q
		}
	}
}

func (c *stmtConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if k := c.kept(ctx, q); k != nil {
		return k.st.(driver.StmtExecContext).ExecContext(ctx, args)
	}
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *stmtConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	k := c.kept(ctx, q)
	if k == nil {
		return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
	}
	rows, err := k.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	k.busy = true
	return &keptRows{Rows: rows, k: k}, nil
}

func (c *stmtConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *stmtConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *stmtConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *stmtConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *stmtConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *stmtConn) Close() error {
	for _, k := range c.stmts {
		_ = k.st.Close()
	}
	c.stmts = nil
	return c.Conn.Close()
}

type keptRows struct {
	driver.Rows
	k *keptStmt
}

func (r *keptRows) Close() error {
	err := r.Rows.Close()
	r.k.busy = false
	return err
}
