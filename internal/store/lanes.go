package store

import (
	"context"
	"database/sql"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// Fair reads. Item lists can be slow (a filter no index serves, a substring on a big
// type); reading an item, a Kanban column or a funnel's counters never is. Under a mixed
// load the slow ones used to fill the read pool and every point read queued behind
// them. Lists and their counts now run in a lane of their own:
//
//   - on SQLite, a pool of list readers apart from the pool of every other read; WAL
//     lets all of them read at once;
//   - on PostgreSQL, a bound on the lists running at once, below the pool's size, so
//     point reads always find a connection;
//
// and each list statement runs under a deadline (ListTimeout): a list that would hold
// a connection for seconds is stopped and answered with ErrQueryTimeout.

// ErrQueryTimeout is a list that ran out of time.
var ErrQueryTimeout = errors.New("the list query took too long and was stopped: narrow the filter or order by an indexed field")

// DefaultListTimeout is how long one list or count statement may run.
const DefaultListTimeout = 5 * time.Second

type lanes struct {
	list   conn
	listDB *sql.DB // SQLite's list readers (nil on PostgreSQL: one pool)
	slots  chan struct{}
	// searches bounds the substring lists running at once. A substring search reads an
	// index of trigrams and rechecks rows: milliseconds of CPU each, tens on a big
	// type. As many as cores would take every core of a database on this machine, and
	// gets would wait for CPU; indexed lists of a fraction of a millisecond keep the
	// wide lane.
	searches chan struct{}
	// spare is the core kept for point reads, lent to one more search while point
	// reads rest (spareRule says when): with nobody reading items, holding it back left
	// a core idle while searches queued for the one slot (PostgreSQL, 8 clients
	// searching: 1.2 of 2 cores busy, p99 90 ms). The next point read takes the core
	// back for the searches that start after it. Nil where searches have slots enough
	// (a database on a machine of its own).
	spare     chan struct{}
	spareRule spareRule
	// lastPointRead is when the latest point read started, in Unix nanoseconds;
	// pointReads counts those running.
	lastPointRead atomic.Int64
	pointReads    atomic.Int32
	// searchHold is how long a search holds its slot, a moving average in nanoseconds.
	searchHold atomic.Int64
	timeout    atomic.Int64 // nanoseconds
	// observe, when set, learns the shape and duration of every list and count.
	observe atomic.Pointer[func(ListObservation)]
}

// pointReadQuiet is how long after a point read spareAfterQuiet holds the spare slot back
// for the next one: readers — a Kanban being moved on, an integration reading items —
// come in bursts seconds apart.
const pointReadQuiet = time.Second

// spareRule says when the spare search slot may go to a search.
type spareRule int

const (
	// noSpare: searches have slots enough.
	noSpare spareRule = iota
	// spareAfterQuiet (SQLite): once no point read has started for pointReadQuiet. A
	// SQLite search runs in this process and keeps a Go thread (one per core) until it
	// ends; when searches hold them all, a get waits for a whole search to end.
	spareAfterQuiet
	// spareBetweenReads (PostgreSQL on this machine): while no point read runs and none
	// started within the time a search holds its slot, so that few point reads meet
	// a search on the spare core. A PostgreSQL search runs in a backend process that
	// the kernel time-slices with the get's backend and with this server, so a get
	// that meets one shares the cores instead of queueing behind it. In the bench's
	// 16-client soak, where a get comes every few milliseconds, the one-second rule
	// never lent the core, and the searches, queued for one slot, left up to a sixth
	// of the machine idle; with this rule the soak wrote 18% more items in 5 minutes,
	// and gets beside 8 searching clients kept their p99 under 5 ms (4.4-4.6).
	spareBetweenReads
)

// boundSearches makes n the number of substring lists that run at once, plus the spare
// one, lent by rule, when n only leaves a core to point reads.
func (l *lanes) boundSearches(n int, rule spareRule) {
	l.searches = make(chan struct{}, n)
	l.spareRule = rule
	if rule != noSpare {
		l.spare = make(chan struct{}, 1)
	}
}

// notePointRead records that a point read (an item, a Kanban column, a funnel's
// counters) is starting, and returns what records its end: the spare search slot is
// held back meanwhile and for a while after.
func (l *lanes) notePointRead() (done func()) {
	l.lastPointRead.Store(time.Now().UnixNano())
	l.pointReads.Add(1)
	return func() { l.pointReads.Add(-1) }
}

// spareFree reports whether point reads rest enough for the spare slot to be lent.
func (l *lanes) spareFree() bool {
	since := time.Since(time.Unix(0, l.lastPointRead.Load()))
	switch l.spareRule {
	case spareAfterQuiet:
		return since >= pointReadQuiet
	case spareBetweenReads:
		return l.pointReads.Load() == 0 && since >= time.Duration(l.searchHold.Load())
	}
	return false
}

// acquireSearch waits for a search slot — the spare one too, while point reads rest —
// and returns its release.
func (l *lanes) acquireSearch(ctx context.Context) (release func(), err error) {
	held := func(slot chan struct{}) func() {
		start := time.Now()
		return func() {
			l.noteSearchHeld(time.Since(start))
			<-slot
		}
	}
	select {
	case l.searches <- struct{}{}:
		return held(l.searches), nil
	default:
	}
	var spare chan struct{} // nil: a case that is never ready
	if l.spare != nil && l.spareFree() {
		spare = l.spare
	}
	select {
	case l.searches <- struct{}{}:
		return held(l.searches), nil
	case spare <- struct{}{}:
		return held(spare), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// noteSearchHeld folds how long a search held its slot into searchHold (an eighth of
// the difference per search).
func (l *lanes) noteSearchHeld(d time.Duration) {
	for {
		old := l.searchHold.Load()
		if l.searchHold.CompareAndSwap(old, old+(int64(d)-old)/8) {
			return
		}
	}
}

func newLanes(list conn, slots int) *lanes {
	l := &lanes{list: list, slots: make(chan struct{}, slots)}
	l.timeout.Store(int64(DefaultListTimeout))
	return l
}

// sqliteListReaders sizes SQLite's list pool: one reader per core. A list is CPU work
// inside SQLite; most take a fraction of a millisecond off an index, and with one
// reader fewer than cores (as it was) they queued for it while a core idled — a third
// of the throughput of the bench's indexed custom-field list. The expensive ones,
// substring searches, are bounded apart (localSearchSlots) so that a core stays for
// point reads.
func sqliteListReaders() int { return max(1, runtime.NumCPU()) }

// localSearchSlots bounds the substring lists running at once when the database works
// on this machine's cores: one core stays for point reads, writes and HTTP.
func localSearchSlots() int { return max(1, runtime.NumCPU()-1) }

// pgSearchSlots bounds the substring lists running at once on PostgreSQL. When the
// database runs on this machine (local), a search is CPU work on its cores as on
// SQLite; a database elsewhere has cores of its own.
func pgSearchSlots(host string) (n int, spare spareRule) {
	if host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "/") {
		return localSearchSlots(), spareBetweenReads
	}
	return 16, noSpare
}

func openSQLiteLists(uri string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", uri+"?"+sqliteReaderPragmas)
	if err != nil {
		return nil, err
	}
	n := sqliteListReaders()
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	recycleReaders(db)
	return db, nil
}

// recycleReaders makes SQLite readers reconnect now and then: a connection loads the
// planner's statistics with the schema, and fresh ones see what ANALYZE learnt since.
func recycleReaders(db *sql.DB) { db.SetConnMaxLifetime(10 * time.Minute) }

func (l *lanes) close() {
	if l.listDB != nil {
		l.list.stmts.close()
		l.listDB.Close()
	}
}

// SetListTimeout changes how long a list statement may run (tests inject a tiny one).
func (s *Store) SetListTimeout(d time.Duration) { s.lanes.timeout.Store(int64(d)) }

// ListObservation is a list or count as it ran: its shape, the type and how long it took.
type ListObservation struct {
	EntityTypeID int64
	Shape        ListShape
	Count        bool
	Took         time.Duration
}

// ObserveLists sets the function told about every item list and count (nil: none).
func (s *Store) ObserveLists(fn func(ListObservation)) {
	if fn == nil {
		s.lanes.observe.Store(nil)
		return
	}
	s.lanes.observe.Store(&fn)
}

type pointReadKey struct{}

// PointRead marks a context whose lists are point reads — a Kanban column: a few rows
// off an index that fits them — which run in the lane of gets and counters, not
// behind slow lists.
func PointRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, pointReadKey{}, true)
}

// inListLane runs fn with a list connection slot, under the list deadline, and tells
// the observer how long it took.
func (s *Store) inListLane(ctx context.Context, etid int64, where query.Group, order []query.Order, count bool, fn func(ctx context.Context, c conn) error) error {
	if ctx.Value(pointReadKey{}) != nil {
		defer s.lanes.notePointRead()()
		return fn(ctx, s.conn)
	}
	limit := time.Duration(s.lanes.timeout.Load())
	lctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if s.lanes.searches != nil && searches(where) {
		release, err := s.lanes.acquireSearch(lctx)
		if err != nil {
			return timeoutOr(ctx, err)
		}
		defer release()
	}
	select {
	case s.lanes.slots <- struct{}{}:
	case <-lctx.Done():
		return timeoutOr(ctx, lctx.Err())
	}
	defer func() { <-s.lanes.slots }()
	start := time.Now()
	err := fn(lctx, s.lanes.list)
	if err != nil {
		return timeoutOr(ctx, err)
	}
	if obs := s.lanes.observe.Load(); obs != nil {
		if shape, ok := ShapeOf(where, order); ok {
			(*obs)(ListObservation{EntityTypeID: etid, Shape: shape, Count: count, Took: time.Since(start)})
		}
	}
	return nil
}

// searches reports whether a filter matches substrings (%, =% and their negations).
func searches(g query.Group) bool {
	for _, e := range g.Items {
		switch x := e.(type) {
		case query.Cond:
			switch x.Op {
			case field.OpContains, field.OpNotContains, field.OpLike, field.OpNotLike:
				return true
			}
		case query.Group:
			if searches(x) {
				return true
			}
		}
	}
	return false
}

// timeoutOr is ErrQueryTimeout when the list's own deadline stopped it (not the
// caller's cancellation), else err.
func timeoutOr(parent context.Context, err error) error {
	if parent.Err() == nil && err != nil && (errors.Is(err, context.DeadlineExceeded) || isInterrupted(err)) {
		return ErrQueryTimeout
	}
	return err
}

// isInterrupted: SQLite reports a statement stopped by its context as "interrupted".
func isInterrupted(err error) bool {
	return err != nil && strings.Contains(strings.ToLower(err.Error()), "interrupt")
}

// ListItems reads a page of items in the list lane.
func (s *Store) ListItems(ctx context.Context, entityTypeID int64, cols []Column, where query.Group, order []query.Order, page Page) ([][]any, error) {
	rows, _, err := s.ListItemsCounted(ctx, entityTypeID, cols, where, order, page, false)
	return rows, err
}

// ListItemsCounted is ListItems that, with count, also answers how many items match in
// all when the page's statement counts them along at next to no cost (a substring page
// on PostgreSQL); the total is -1 otherwise: the caller counts, if it needs to, with
// CountItems.
func (s *Store) ListItemsCounted(ctx context.Context, entityTypeID int64, cols []Column, where query.Group, order []query.Order, page Page, count bool) ([][]any, int, error) {
	var out [][]any
	total := -1
	err := s.inListLane(ctx, entityTypeID, where, order, false, func(ctx context.Context, c conn) (err error) {
		out, total, err = c.selectRowsTotal(ctx, ItemTable(entityTypeID), cols, where, order, page, noLock, count)
		return err
	})
	return out, total, err
}

// CountItems counts the items matching where in the list lane.
func (s *Store) CountItems(ctx context.Context, entityTypeID int64, where query.Group) (int, error) {
	var n int
	err := s.inListLane(ctx, entityTypeID, where, nil, true, func(ctx context.Context, c conn) (err error) {
		n, err = c.CountItems(ctx, entityTypeID, where)
		return err
	})
	return n, err
}

// GetItem reads one item's columns, as a point read.
func (s *Store) GetItem(ctx context.Context, entityTypeID int64, cols []Column, id int64) ([]any, error) {
	defer s.lanes.notePointRead()()
	return s.conn.GetItem(ctx, entityTypeID, cols, id)
}

// StageCounts reads a funnel's counters, as a point read.
func (s *Store) StageCounts(ctx context.Context, entityTypeID, categoryID int64) ([]StageCount, error) {
	defer s.lanes.notePointRead()()
	return s.conn.StageCounts(ctx, entityTypeID, categoryID)
}
