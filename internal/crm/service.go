package crm

import (
	"context"
	"errors"
	"sync"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/countcache"
	"smartcrm/internal/files"
	"smartcrm/internal/itemcache"
	"smartcrm/internal/store"
)

// Service is the domain's entry point for types, items, funnels, stages and relations.
// It caches the type registry so that item calls do not query it each time.
type Service struct {
	st *store.Store
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// DefaultCurrency is given to new items of types with products enabled.
	DefaultCurrency string
	// Files keeps uploads of file fields and signs their links (set by the app).
	Files *files.Store

	policy    access.Policy
	listeners []ItemListener
	onChange  []func()

	mu     sync.Mutex
	types  map[int64]*cachedType // by entityTypeId
	users  *access.Users
	counts *countcache.Cache
	// recent keeps the items this process wrote or read last, for updates that start
	// from them without reading (PostgreSQL only: on SQLite a read costs no round trip).
	recent *itemcache.Cache[*Item]
}

type cachedType struct {
	t        *Type
	loadedAt time.Time
}

// typeCacheTTL bounds how stale a cached type may be when another process (a second
// server on the same PostgreSQL) changed it. Changes made by this process invalidate the
// cache when they commit.
const typeCacheTTL = 5 * time.Second

// New returns a service over an open, migrated store. Every actor may do everything but
// configuration, which needs an administrator, until SetPolicy says otherwise.
func New(st *store.Store) *Service {
	s := &Service{
		st:              st,
		Now:             func() time.Time { return time.Now().Truncate(time.Second) },
		DefaultCurrency: "USD",
		policy:          access.AllowAll{},
		types:           map[int64]*cachedType{},
		users:           access.NewUsers(st),
		counts:          countcache.New(),
	}
	if st.IsPostgres() {
		// Two generations of 4,096: every item of a burst of that many writes (an
		// import, a batch of moves) is still there when the next step of each comes.
		// A few megabytes, tens for wide types.
		s.recent = itemcache.New[*Item](8192)
	}
	return s
}

// SetPolicy installs the permission policy that step 2 of every operation and every
// read consults.
func (s *Service) SetPolicy(p access.Policy) { s.policy = p }

// Store exposes the store to the composition root and to the domain packages beside this
// one (timeline, activities, tasks), which keep their own tables.
func (s *Service) Store() *store.Store { return s.st }

// allow asks the policy, turning a refusal into the domain's access error.
func (s *Service) allow(a access.Actor, act access.Action, r access.Resource) error {
	if err := s.policy.Allow(a, act, r); err != nil {
		if errors.Is(err, access.ErrDenied) {
			return newErr(ErrAccessDenied, "Access denied")
		}
		return err
	}
	return nil
}

// Allow is the access step for the domain packages beside this one.
func (s *Service) Allow(a access.Actor, act access.Action, r access.Resource) error {
	return s.allow(a, act, r)
}

// typeByEntityTypeID returns a type with its catalog, from cache when fresh.
func (s *Service) typeByEntityTypeID(ctx context.Context, etid int64) (*Type, error) {
	s.mu.Lock()
	c, ok := s.types[etid]
	s.mu.Unlock()
	if ok && time.Since(c.loadedAt) < typeCacheTTL {
		return c.t, nil
	}
	t, err := s.loadType(ctx, s.st, etid, true)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.types[etid] = &cachedType{t: t, loadedAt: time.Now()}
	s.mu.Unlock()
	return t, nil
}

// loadType reads a type with its funnels, stages, rules and fields and builds its
// catalog. q is the pool or a transaction (which sees its own changes).
func (s *Service) loadType(ctx context.Context, q typeReader, id int64, byEntityType bool) (*Type, error) {
	var t *Type
	if def := standardTypeDefs[id]; def != nil && byEntityType {
		t = standardTypeOf(def)
	} else {
		rec, err := q.GetType(ctx, id, byEntityType)
		if errors.Is(err, store.ErrNotFound) {
			return nil, newErr(ErrTypeNotFound, "Smart process not found")
		}
		if err != nil {
			return nil, err
		}
		if t, err = typeFromRecord(rec); err != nil {
			return nil, err
		}
	}
	cats, err := q.Categories(ctx, t.EntityTypeID)
	if err != nil {
		return nil, err
	}
	t.categories = make([]*Category, len(cats))
	for i, c := range cats {
		t.categories[i] = categoryFromRecord(c)
	}
	stages, err := q.StagesOfType(ctx, t.EntityTypeID)
	if err != nil {
		return nil, err
	}
	t.stages = make([]*Stage, len(stages))
	for i, st := range stages {
		t.stages[i] = stageFromRecord(st)
	}
	if t.requirements, err = q.StageRequirements(ctx, t.EntityTypeID); err != nil {
		return nil, err
	}
	ufs, err := q.UserFields(ctx, t.EntityTypeID)
	if err != nil {
		return nil, err
	}
	t.userFields = make([]*UserField, 0, len(ufs))
	for _, rec := range ufs {
		uf, err := UserFieldFromRecord(rec)
		if err != nil {
			continue // a field whose kind this server does not know: left out of the catalog
		}
		t.userFields = append(t.userFields, uf)
	}
	edges, err := q.TypeEdges(ctx)
	if err != nil {
		return nil, err
	}
	t.Relations = relationsOf(t, edges)
	t.parentTitles = map[int64]string{}
	for _, r := range t.Relations.Parent {
		if name, ok := standardTitle(r.EntityTypeID); ok {
			t.parentTitles[r.EntityTypeID] = name
		} else if p, err := q.GetType(ctx, r.EntityTypeID, true); err == nil {
			t.parentTitles[r.EntityTypeID] = p.Title
		}
	}
	t.buildFields()
	s.linkFileFields(t)
	return t, nil
}

// typeReader is what loadType needs: the pool or a transaction.
type typeReader interface {
	GetType(ctx context.Context, id int64, byEntityType bool) (*store.TypeRecord, error)
	Categories(ctx context.Context, entityTypeID int64) ([]*store.CategoryRecord, error)
	StagesOfType(ctx context.Context, entityTypeID int64) ([]*store.StageRecord, error)
	StageRequirements(ctx context.Context, entityTypeID int64) ([]store.StageRequirement, error)
	UserFields(ctx context.Context, entityTypeID int64) ([]*store.UserFieldRecord, error)
	TypeEdges(ctx context.Context) ([]store.TypeEdge, error)
}

// forgetTypes drops cached types after a registry change has committed.
func (s *Service) forgetTypes() {
	s.mu.Lock()
	s.types = map[int64]*cachedType{}
	s.mu.Unlock()
	s.counts.Reset()
	if s.recent != nil {
		s.recent.Reset()
	}
}

// childTypes lists the types whose items may have an item of etid as parent, read in
// the unit (so a unit sees the relations it changed).
func (u *Unit) childTypes(etid int64) ([]*Type, error) {
	edges, err := u.tx.TypeEdges(u.ctx)
	if err != nil {
		return nil, err
	}
	var out []*Type
	for _, e := range edges {
		if e.Parent != etid {
			continue
		}
		c, err := u.typeOf(e.Child)
		if KindOf(err) == ErrTypeNotFound {
			continue // a standard type without items here (quotes, invoices)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// linkFileFields gives file fields the signer of their download links.
func (s *Service) linkFileFields(t *Type) {
	if s.Files == nil {
		return
	}
	for _, f := range t.fields {
		f.Type = withFileLinks(f.Type, s.Files.Link)
	}
}
