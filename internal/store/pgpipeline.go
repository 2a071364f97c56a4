package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// On PostgreSQL every statement of a transaction costs a network round trip, and under
// load the round trips, not the work, bound how many changes a second the server makes:
// each one is a write and a read system call on both sides and a wake-up of the waiting
// goroutine. An item add is BEGIN, the item's INSERT, a stage-history row, a counter
// delta, a timeline entry, an outbox row and COMMIT: seven round trips, of which only
// the INSERT's answer (the new id) is needed before the end.
//
// pipeConn wraps the pgx connection under database/sql so that a write transaction costs
// as few round trips as its answers need, by sending statements together in one
// pipeline (pgx's Batch):
//
//   - BEGIN is not sent on its own: it travels with the transaction's first statement;
//   - statements the store marks with laterMark (rows appended whose results nobody
//     reads) are queued and travel with the next statement, or with COMMIT;
//   - an INSERT … RETURNING id run as an exec answers its id as LastInsertId, as SQLite
//     does, so that an insert can travel with BEGIN and the queued statements too.
//
// An add is then two round trips: [BEGIN, INSERT … RETURNING id] and [history, delta,
// timeline, outbox, COMMIT]; under load, one, its id drawn ahead (pgids.go). Statements still run in the order they were issued and
// the transaction commits or rolls back as a whole, so nothing observable changes: a
// queued statement that fails fails the transaction at its next round trip, which the
// caller sees as the failure of the statement it ran then (or of COMMIT).
//
// An update of an item the domain already knows (Tx.AssumeItemVersion) reads nothing:
// its UPDATE is queued with a version check that fails the transaction, so a stage
// move of such an item is one round trip like an add.
//
// A query of the store's own (readMark) travels with what is pending, so that an
// update's first read, the row it locks, goes with BEGIN; other queries are sent after
// it. The markers are SQL comments, so a statement that reaches PostgreSQL some other way
// still runs correctly, only sooner.
type pipeConn struct {
	*stdlib.Conn
	// inTx is set between BeginTx and the end of a pipelined transaction.
	inTx bool
	// begun is set once BEGIN has been sent.
	begun bool
	// later holds the queued statements.
	later []queuedStmt
}

type queuedStmt struct {
	sql  string
	args []any
}

// laterMark starts a statement that may be queued until the transaction's next round
// trip (Tx.later).
const laterMark = "/* later */ "

// readMark starts a query of the store's own inside a transaction: its columns are of
// the types pipeRows decodes as the pgx driver does, so it may travel in a pipeline.
// Other queries (the job queue's) wait for what is pending and go on their own.
const readMark = "/* store */ "

// returningID ends an INSERT whose exec reports the new row's id as LastInsertId.
const returningID = " RETURNING id"

// roundTrips counts PostgreSQL round trips, for /metrics: with statements it shows how
// many statements each trip carries.
var roundTrips atomic.Int64

// RoundTrips is how many round trips this process has made to PostgreSQL.
func RoundTrips() int64 { return roundTrips.Load() }

// pipeConnector hands database/sql pipelined connections.
type pipeConnector struct{ driver.Connector }

func (c pipeConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := dc.(*stdlib.Conn)
	if !ok {
		dc.Close()
		return nil, errors.New("the pgx driver returned an unexpected connection type")
	}
	return &pipeConn{Conn: sc}, nil
}

// BeginTx opens a transaction without a round trip. Transactions with an isolation level
// or read-only are left to pgx.
func (c *pipeConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.Isolation != 0 || opts.ReadOnly {
		roundTrips.Add(1)
		return c.Conn.BeginTx(ctx, opts)
	}
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	c.inTx, c.begun, c.later = true, false, c.later[:0]
	return &pipeTx{c: c, ctx: ctx}, nil
}

func (c *pipeConn) ExecContext(ctx context.Context, q string, argsV []driver.NamedValue) (driver.Result, error) {
	if rest, ok := strings.CutPrefix(q, laterMark); ok && c.inTx {
		c.later = append(c.later, queuedStmt{rest, namedArgs(argsV)})
		return driver.ResultNoRows, nil
	}
	if strings.HasSuffix(q, returningID) || len(argsV) > 0 && (c.inTx && !c.begun || len(c.later) > 0) {
		return c.send(ctx, &queuedStmt{q, namedArgs(argsV)}, "")
	}
	// pgx sends a statement without arguments by the simple protocol, which admits
	// several commands in one string (migrations) and no pipeline.
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	roundTrips.Add(1)
	return c.Conn.ExecContext(ctx, q, argsV)
}

func (c *pipeConn) QueryContext(ctx context.Context, q string, argsV []driver.NamedValue) (driver.Rows, error) {
	if c.inTx && (!c.begun || len(c.later) > 0) {
		if strings.HasPrefix(q, readMark) {
			return c.query(ctx, q, argsV)
		}
		if err := c.flush(ctx); err != nil {
			return nil, err
		}
	}
	roundTrips.Add(1)
	return c.Conn.QueryContext(ctx, q, argsV)
}

// PrepareContext sends what is pending first: a prepared statement executes on the pgx
// connection directly, past this wrapper.
func (c *pipeConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	roundTrips.Add(1)
	return c.Conn.PrepareContext(ctx, q)
}

// flush sends a pending BEGIN and the queued statements.
func (c *pipeConn) flush(ctx context.Context) error {
	if !c.inTx || (c.begun && len(c.later) == 0) {
		return nil
	}
	_, err := c.send(ctx, nil, "")
	return err
}

// start sends, in one round trip, a pending BEGIN, the queued statements, then the
// statements given, and reads the answers to the pending ones: the first error among
// them, if any, is the batch's error.
func (c *pipeConn) start(ctx context.Context, stmts ...queuedStmt) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	begin := c.inTx && !c.begun
	if begin {
		b.Queue("begin")
	}
	for _, l := range c.later {
		b.Queue(l.sql, l.args...)
	}
	for _, st := range stmts {
		b.Queue(st.sql, st.args...)
	}
	queued := len(c.later)
	clear(c.later)
	c.later, c.begun = c.later[:0], c.inTx
	roundTrips.Add(1)
	br := c.Conn.Conn().SendBatch(ctx, b)
	var first error
	if begin {
		queued++
	}
	for range queued {
		if _, err := br.Exec(); err != nil && first == nil {
			first = err
		}
	}
	return br, first
}

// send runs stmt (if any) and then end ("commit", if any) after what is pending, in one
// round trip, and answers stmt's result and the first error.
func (c *pipeConn) send(ctx context.Context, stmt *queuedStmt, end string) (driver.Result, error) {
	var stmts []queuedStmt
	if stmt != nil {
		stmts = append(stmts, *stmt)
	}
	if end != "" {
		stmts = append(stmts, queuedStmt{sql: end})
	}
	br, first := c.start(ctx, stmts...)
	keep := func(err error) {
		if first == nil && err != nil {
			first = err
		}
	}
	var res driver.Result = driver.ResultNoRows
	if stmt != nil {
		if strings.HasSuffix(stmt.sql, returningID) {
			var n, id int64
			rows, err := br.Query()
			if err == nil {
				for rows.Next() {
					if n == 0 {
						err = rows.Scan(&id)
					}
					n++
				}
				rows.Close()
				if err == nil {
					err = rows.Err()
				}
			}
			keep(err)
			res = insertResult{id: id, rows: n}
		} else {
			tag, err := br.Exec()
			keep(err)
			res = driver.RowsAffected(tag.RowsAffected())
		}
	}
	if end != "" {
		tag, err := br.Exec()
		keep(err)
		// COMMIT of a transaction an earlier error aborted answers ROLLBACK.
		if err == nil && tag.String() == "ROLLBACK" {
			keep(pgx.ErrTxCommitRollback)
		}
	}
	keep(br.Close())
	return res, first
}

// query runs a query after what is pending, in one round trip: an update's first read
// (the row it locks) travels with BEGIN.
func (c *pipeConn) query(ctx context.Context, q string, argsV []driver.NamedValue) (driver.Rows, error) {
	br, err := c.start(ctx, queuedStmt{q, namedArgs(argsV)})
	if err != nil {
		br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	return &pipeRows{rows: rows, br: br, types: c.Conn.Conn().TypeMap()}, nil
}

func namedArgs(argsV []driver.NamedValue) []any {
	args := make([]any, len(argsV))
	for i, v := range argsV {
		args[i] = v.Value
	}
	return args
}

// insertResult is the result of an INSERT … RETURNING id run as an exec: the first
// row's id and how many rows it inserted.
type insertResult struct{ id, rows int64 }

func (r insertResult) LastInsertId() (int64, error) {
	if r.rows == 0 {
		return 0, errors.New("the insert returned no row")
	}
	return r.id, nil
}
func (r insertResult) RowsAffected() (int64, error) { return r.rows, nil }

// pipeTx ends a pipelined transaction.
type pipeTx struct {
	c   *pipeConn
	ctx context.Context
}

// Commit sends the queued statements and COMMIT in one round trip; a transaction that
// sent nothing has nothing to commit.
func (t *pipeTx) Commit() error {
	c := t.c
	defer c.endTx()
	if !c.begun && len(c.later) == 0 {
		return nil
	}
	_, err := c.send(t.ctx, nil, "commit")
	if err != nil && c.Conn.Conn().PgConn().TxStatus() != 'I' {
		// A failed statement left the transaction aborted: end it, so the connection
		// goes back to the pool clean.
		roundTrips.Add(1)
		_, _ = c.Conn.Conn().Exec(t.ctx, "rollback")
	}
	return err
}

// Rollback drops the queued statements and rolls back what was sent.
func (t *pipeTx) Rollback() error {
	c := t.c
	defer c.endTx()
	if !c.begun {
		return nil
	}
	roundTrips.Add(1)
	_, err := c.Conn.Conn().Exec(t.ctx, "rollback")
	return err
}

func (c *pipeConn) endTx() {
	c.inTx, c.begun = false, false
	clear(c.later)
	c.later = c.later[:0]
}
