// Package listindex makes composite indexes for the list shapes that are actually
// used, in the background, and lets an administrator list, add and drop them.
//
// A custom field marked filterable has its own (column, id) index; that serves a filter
// on the field alone, not "status is X, amount above Y, newest due first", which then
// reads every item of status X and sorts them. The store tells this package the shape
// (equality columns, a range column, the order) and duration of every item list and
// count. A shape seen at least MinSeen times within Window, taking MinAvg on average —
// or one a saved filter of the list view declared (Want), seen slow once — gets the
// indexes store.IndexesFor names: one that walks the order inside the equalities, one
// that answers the range (and the count) from the index alone. Builds run one at a
// time off the request path; on SQLite at a quiet moment (few writes for Quiet, or
// after MaxWait), on PostgreSQL concurrently. A table never holds more than PerTable of them.
//
// The Kanban's shape, (funnel, stage) newest first, is served by every type's built-in
// (category_id, stage_id, id) index and needs none.
package listindex

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Config tunes when shapes get indexes.
type Config struct {
	PerTable int           // list indexes a table may hold (default 6)
	MinSeen  int           // observations of a shape before it may get an index (default 20)
	MinAvg   time.Duration // their mean duration (default 25 ms)
	Window   time.Duration // observations are counted afresh after this (default 10 min)
	Quiet    time.Duration // SQLite: builds wait for a span this long of few writes (default 500 ms)
	MaxWait  time.Duration // ...but no longer than this (default 2 min)
}

func (c Config) withDefaults() Config {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.PerTable <= 0 {
		c.PerTable = 6
	}
	if c.MinSeen <= 0 {
		c.MinSeen = 20
	}
	def(&c.MinAvg, 25*time.Millisecond)
	def(&c.Window, 10*time.Minute)
	def(&c.Quiet, 500*time.Millisecond)
	def(&c.MaxWait, 2*time.Minute)
	return c
}

// Service watches list shapes and manages the list indexes.
type Service struct {
	st  *store.Store
	crm *crm.Service
	cfg Config

	mu     sync.Mutex
	shapes map[shapeKey]*shapeStats
	wanted map[shapeKey]bool
	asked  map[string]bool // index names queued or built, never asked for twice
	jobs   chan job
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

type shapeKey struct {
	etid  int64
	shape string
}

type shapeStats struct {
	shape store.ListShape
	since time.Time
	seen  int
	total time.Duration
}

type job struct {
	etid   int64
	origin string
	cols   []string
}

// New makes the service; Start begins watching.
func New(st *store.Store, c *crm.Service, cfg Config) *Service {
	return &Service{st: st, crm: c, cfg: cfg.withDefaults(), shapes: map[shapeKey]*shapeStats{}, wanted: map[shapeKey]bool{},
		asked: map[string]bool{}, jobs: make(chan job, 64), stop: make(chan struct{}), done: make(chan struct{})}
}

// Start subscribes to the store's list observations and starts the builder.
func (s *Service) Start() {
	s.st.ObserveLists(s.observe)
	go s.build()
}

// Close stops watching and waits for a build in progress.
func (s *Service) Close() {
	s.once.Do(func() {
		s.st.ObserveLists(nil)
		close(s.stop)
		<-s.done
	})
}

// maxShapes bounds the shapes remembered: clients sending ever-new filters must not
// grow memory without end.
const maxShapes = 4096

// observe records one list or count; called by the store on every one, so it is cheap.
func (s *Service) observe(o store.ListObservation) {
	shape := o.Shape
	if o.Count {
		shape.Order = nil
	}
	k := shapeKey{o.EntityTypeID, shape.Key()}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.shapes[k]
	now := time.Now()
	if st == nil || now.Sub(st.since) > s.cfg.Window {
		if st == nil && len(s.shapes) >= maxShapes {
			s.shapes = map[shapeKey]*shapeStats{}
		}
		st = &shapeStats{shape: shape, since: now}
		s.shapes[k] = st
	}
	st.seen++
	st.total += o.Took
	origin := store.OriginObserved
	switch {
	case s.wanted[k] && o.Took >= s.cfg.MinAvg:
		origin = store.OriginFilter
	case st.seen >= s.cfg.MinSeen && st.total/time.Duration(st.seen) >= s.cfg.MinAvg:
	default:
		return
	}
	for _, cols := range store.IndexesFor(shape) {
		name := store.ListIndexName(o.EntityTypeID, origin, cols)
		if s.asked[name] {
			continue
		}
		select {
		case s.jobs <- job{etid: o.EntityTypeID, origin: origin, cols: cols}:
			s.asked[name] = true
		default: // the builder is busy; a later observation asks again
		}
	}
}

// ShapeSeen is a list shape of a type seen within the window: how often and how long it
// took on average, for the administrators' page that explains the indexes.
type ShapeSeen struct {
	Shape store.ListShape
	Seen  int
	Mean  time.Duration
	// Indexed: every index the shape wants exists (or one that serves it).
	Indexed bool
}

// maxShown bounds the shapes Seen returns.
const maxShown = 20

// Seen lists a type's list shapes seen within the window, slowest first
// (administrators only).
func (s *Service) Seen(ctx context.Context, actor access.Actor, etid int64) ([]ShapeSeen, error) {
	if _, err := s.allow(ctx, actor, etid); err != nil {
		return nil, err
	}
	have, err := s.st.TableIndexes(ctx, etid)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	var out []ShapeSeen
	for k, st := range s.shapes {
		if k.etid != etid || time.Since(st.since) > s.cfg.Window || st.seen == 0 {
			continue
		}
		out = append(out, ShapeSeen{Shape: st.shape, Seen: st.seen, Mean: st.total / time.Duration(st.seen)})
	}
	s.mu.Unlock()
	for i := range out {
		want := store.IndexesFor(out[i].Shape)
		out[i].Indexed = len(want) > 0 && !slices.ContainsFunc(want, func(cols []string) bool {
			return !slices.ContainsFunc(have, func(ix store.ListIndex) bool { return ix.Ready && store.Covers(ix.Columns, cols) })
		})
	}
	slices.SortFunc(out, func(a, b ShapeSeen) int { return cmp.Compare(b.Mean, a.Mean) })
	if len(out) > maxShown {
		out = out[:maxShown]
	}
	return out, nil
}

// PerTable is how many list indexes a type may hold.
func (s *Service) PerTable() int { return s.cfg.PerTable }

// Want declares the shape of a saved filter: it gets its indexes the first time it is
// seen slow, without waiting to be seen often.
func (s *Service) Want(etid int64, where query.Group, order []query.Order) {
	for _, shape := range wantedShapes(where, order) {
		s.mu.Lock()
		s.wanted[shapeKey{etid, shape.Key()}] = true
		s.mu.Unlock()
	}
}

// wantedShapes are the shapes a list and its count take.
func wantedShapes(where query.Group, order []query.Order) []store.ListShape {
	shape, ok := store.ShapeOf(where, order)
	if !ok {
		return nil
	}
	count := shape
	count.Order = nil
	return []store.ListShape{shape, count}
}

// build runs the queued builds one at a time.
func (s *Service) build() {
	defer close(s.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		select {
		case <-s.stop:
			return
		case j := <-s.jobs:
			if err := s.waitQuiet(ctx); err != nil {
				return
			}
			if ix, err := s.add(ctx, j.etid, j.origin, j.cols); err != nil {
				if ctx.Err() == nil && !errors.Is(err, errCovered) {
					slog.Warn("list index", "entityTypeId", j.etid, "columns", j.cols, "err", err)
				}
			} else {
				slog.Info("list index built", "entityTypeId", j.etid, "name", ix.Name, "columns", ix.Columns, "origin", ix.Origin)
			}
		}
	}
}

// waitQuiet waits, on SQLite, for a quiet moment: a Quiet span with fewer than
// store.QuietWrites writes a second (a build holds the writer), at most MaxWait.
func (s *Service) waitQuiet(ctx context.Context) error {
	if s.st.Dialect() != store.SQLite {
		return nil
	}
	deadline := time.Now().Add(s.cfg.MaxWait)
	tick := time.NewTicker(s.cfg.Quiet)
	defer tick.Stop()
	before := s.st.Writes()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		now := s.st.Writes()
		if float64(now-before) < store.QuietWrites*s.cfg.Quiet.Seconds() {
			return nil
		}
		before = now
	}
	return nil
}

var (
	errCovered = errors.New("an index on these columns exists")
	// ErrTooMany is an index past the per-table cap.
	ErrTooMany = errors.New("the type holds as many list indexes as allowed")
)

// add builds an index unless one serves its columns already, within the cap.
func (s *Service) add(ctx context.Context, etid int64, origin string, cols []string) (store.ListIndex, error) {
	all, err := s.st.TableIndexes(ctx, etid)
	if err != nil {
		return store.ListIndex{}, err
	}
	ours := 0
	for _, ix := range all {
		if store.Covers(ix.Columns, cols) {
			return ix, errCovered
		}
		if ix.Origin != "" {
			ours++
		}
	}
	if ours >= s.cfg.PerTable {
		return store.ListIndex{}, ErrTooMany
	}
	return s.st.BuildListIndex(ctx, etid, origin, cols)
}

// List lists a type's list indexes (administrators only).
func (s *Service) List(ctx context.Context, actor access.Actor, etid int64) (*crm.Type, []store.ListIndex, error) {
	t, err := s.allow(ctx, actor, etid)
	if err != nil {
		return nil, nil, err
	}
	ixs, err := s.st.ListIndexes(ctx, etid)
	return t, ixs, err
}

// Add builds a list index on fields of a type now (administrators only): the fields'
// columns in the order given.
func (s *Service) Add(ctx context.Context, actor access.Actor, etid int64, fields []*crm.Field) (store.ListIndex, error) {
	t, err := s.allow(ctx, actor, etid)
	if err != nil {
		return store.ListIndex{}, err
	}
	if len(fields) == 0 || len(fields) > 8 {
		return store.ListIndex{}, &crm.Error{Kind: crm.ErrInvalidArg, Msg: "An index needs between 1 and 8 fields"}
	}
	var cols []string
	for _, f := range fields {
		col, err := indexColumn(t, f)
		if err != nil {
			return store.ListIndex{}, err
		}
		if slices.Contains(cols, col) {
			return store.ListIndex{}, &crm.Error{Kind: crm.ErrInvalidArg, Field: string(f.Name), Msg: fmt.Sprintf("The field %s is named twice", f.Name)}
		}
		cols = append(cols, col)
	}
	ix, err := s.add(ctx, etid, store.OriginAdmin, cols)
	switch {
	case errors.Is(err, errCovered):
		return ix, &crm.Error{Kind: crm.ErrDuplicate, Msg: "The index " + ix.Name + " already serves these fields"}
	case errors.Is(err, ErrTooMany):
		return ix, s.tooMany()
	}
	return ix, err
}

func (s *Service) tooMany() error {
	return &crm.Error{Kind: crm.ErrLimit, Msg: fmt.Sprintf("A type holds at most %d list indexes: delete one first", s.cfg.PerTable)}
}

// AddForShape builds now the indexes a list shape wants — fields compared for
// equality, one compared with greater or less, the order — as the server would for a
// shape seen often and slow (administrators only). It returns those it built; the
// ones an index serves already are skipped.
func (s *Service) AddForShape(ctx context.Context, actor access.Actor, etid int64, eq []*crm.Field, rng *crm.Field, order []*crm.Field) ([]store.ListIndex, error) {
	t, err := s.allow(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	var shape store.ListShape
	if shape.Eq, err = indexColumns(t, eq); err != nil {
		return nil, err
	}
	if rng != nil {
		if shape.Range, err = indexColumn(t, rng); err != nil {
			return nil, err
		}
	}
	if shape.Order, err = indexColumns(t, order); err != nil {
		return nil, err
	}
	slices.Sort(shape.Eq)
	want := store.IndexesFor(shape)
	if len(want) == 0 {
		return nil, &crm.Error{Kind: crm.ErrInvalidArg, Msg: "No index serves this list better than the ones every type has"}
	}
	var built []store.ListIndex
	for _, cols := range want {
		ix, err := s.add(ctx, etid, store.OriginAdmin, cols)
		switch {
		case errors.Is(err, errCovered):
		case errors.Is(err, ErrTooMany):
			return built, s.tooMany()
		case err != nil:
			return built, err
		default:
			built = append(built, ix)
		}
	}
	return built, nil
}

// indexColumn is the column of a field an index may hold: a plain scalar one that
// lists may order by.
func indexColumn(t *crm.Type, f *crm.Field) (string, error) {
	qf := t.QueryField(f)
	if qf == nil || qf.NoOrder || !store.Indexable(qf) {
		return "", &crm.Error{Kind: crm.ErrInvalidArg, Field: string(f.Name), Msg: fmt.Sprintf("The field %s cannot be indexed", f.Name)}
	}
	return qf.Column, nil
}

// indexColumns is indexColumn of each field.
func indexColumns(t *crm.Type, fs []*crm.Field) ([]string, error) {
	var cols []string
	for _, f := range fs {
		col, err := indexColumn(t, f)
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	return cols, nil
}

// IndexableFields are the fields of a type an administrator may build an index on.
func IndexableFields(t *crm.Type) []*crm.Field {
	var out []*crm.Field
	for _, f := range t.Fields() {
		if _, err := indexColumn(t, f); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// Delete drops a list index of a type (administrators only).
func (s *Service) Delete(ctx context.Context, actor access.Actor, etid int64, name string) error {
	if _, err := s.allow(ctx, actor, etid); err != nil {
		return err
	}
	err := s.st.DropListIndex(ctx, etid, name)
	if errors.Is(err, store.ErrNotFound) {
		return &crm.Error{Kind: crm.ErrItemNotFound, Msg: "No list index " + name + " on this type"}
	}
	if err == nil {
		// Dropped by hand: the shape does not get it back while this process runs.
		s.mu.Lock()
		s.asked[name] = true
		s.mu.Unlock()
	}
	return err
}

func (s *Service) allow(ctx context.Context, actor access.Actor, etid int64) (*crm.Type, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	return t, s.crm.Allow(actor, access.ActConfigure, access.Resource{EntityTypeID: etid, Kind: "index"})
}
