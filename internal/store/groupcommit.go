package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
)

// SQLite admits one writer at a time, and a commit costs about as much as the work of a
// small change, so committing every change on its own caps throughput at the commit
// rate. The committer runs changes that arrive together in ONE transaction, each inside
// its own SAVEPOINT: a change that fails is rolled back to its savepoint and reported,
// the others go on. Nobody is told "done" before the shared COMMIT succeeded, so each
// change keeps its atomicity and durability; the changes of a group are serialised
// exactly as if they had run one after another.

// maxGroup bounds how many changes share a commit, which bounds the extra latency a
// change can see from those queued before it.
const maxGroup = 64

type writeReq struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

type committer struct {
	db    *sql.DB
	d     *dialect
	stmts *stmtCache
	// search is the store's set of substring indexes, for the transactions' queries.
	search *searchSet
	reqs   chan *writeReq

	mu     sync.RWMutex
	closed bool
	wg     sync.WaitGroup
}

func newCommitter(db *sql.DB, d *dialect, stmts *stmtCache, search *searchSet) *committer {
	c := &committer{db: db, d: d, stmts: stmts, search: search, reqs: make(chan *writeReq, maxGroup)}
	c.wg.Add(1)
	go c.run()
	return c
}

var errClosed = errors.New("the database is closed")

// submit runs fn in a group transaction and waits for its outcome.
func (c *committer) submit(ctx context.Context, fn func(*Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	// Once queued, the change is waited for even if the caller gives up: it may
	// already be committed, and reporting "cancelled" for a committed change would lie.
	return <-r.done
}

// close stops accepting changes and waits for the queued ones to finish.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.reqs)
	}
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *committer) run() {
	defer c.wg.Done()
	for first := range c.reqs {
		group := c.drain([]*writeReq{first})
		if len(group) < maxGroup {
			// The callers of the last group were told "done" just now and are
			// preparing their next change: yielding once lets them queue it, so the
			// group forms here instead of as a lone change now and the rest after it.
			runtime.Gosched()
			group = c.drain(group)
		}
		c.commitGroup(group)
		// The connection is free now: prepare what the group ran unprepared.
		c.stmts.prepareWanted()
	}
}

// drain adds the changes waiting in the queue to group, up to maxGroup.
func (c *committer) drain(group []*writeReq) []*writeReq {
	for len(group) < maxGroup {
		select {
		case r, ok := <-c.reqs:
			if !ok {
				return group
			}
			group = append(group, r)
		default:
			return group
		}
	}
	return group
}

func (c *committer) commitGroup(group []*writeReq) {
	errs := make([]error, len(group))
	finish := func() {
		for i, r := range group {
			r.done <- errs[i]
		}
	}
	// The transaction must not die with one caller's context.
	sqlTx, err := c.db.BeginTx(context.Background(), nil)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		finish()
		return
	}
	tx := &Tx{conn: conn{q: sqlTx, d: c.d, stmts: c.stmts, tx: sqlTx, search: c.search, written: &writtenTables{}}, tx: sqlTx}
	savepoints := len(group) > 1
	var sp savepointStmts
	if savepoints {
		if err := sp.prepare(sqlTx); err != nil {
			c.abort(sqlTx, group, errs, err)
			finish()
			return
		}
	}
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if savepoints {
			if _, err := sp.begin.Exec(); err != nil {
				c.abort(sqlTx, group, errs, err)
				finish()
				return
			}
		}
		errs[i] = callSafely(r.fn, tx)
		if !savepoints {
			break
		}
		if errs[i] != nil {
			if _, err := sp.rollback.Exec(); err != nil {
				c.abort(sqlTx, group, errs, err)
				finish()
				return
			}
		}
		if _, err := sp.release.Exec(); err != nil {
			c.abort(sqlTx, group, errs, err)
			finish()
			return
		}
	}
	if !savepoints && errs[0] != nil {
		_ = sqlTx.Rollback()
		finish()
		return
	}
	if c.d.name == SQLite {
		if err := tx.syncSearch(context.Background()); err != nil {
			c.abort(sqlTx, group, errs, err)
			finish()
			return
		}
	}
	if err := sqlTx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	finish()
}

// abort rolls the whole group back after the transaction itself broke: every change
// that had not failed on its own fails with the cause.
func (c *committer) abort(sqlTx *sql.Tx, group []*writeReq, errs []error, cause error) {
	_ = sqlTx.Rollback()
	for i := range group {
		if errs[i] == nil {
			errs[i] = fmt.Errorf("group transaction failed: %w", cause)
		}
	}
}

// callSafely turns a panic in a change into its error, so one bad change cannot take
// the writer (and every waiting caller) down.
func callSafely(fn func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a write: %v", p)
		}
	}()
	return fn(tx)
}

// savepointStmts are the three savepoint statements, prepared once per group.
type savepointStmts struct{ begin, rollback, release *sql.Stmt }

func (s *savepointStmts) prepare(tx *sql.Tx) (err error) {
	if s.begin, err = tx.Prepare("SAVEPOINT change"); err != nil {
		return err
	}
	if s.rollback, err = tx.Prepare("ROLLBACK TO change"); err != nil {
		return err
	}
	s.release, err = tx.Prepare("RELEASE change")
	return err
}
