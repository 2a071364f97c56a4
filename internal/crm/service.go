package crm

import (
	"context"
	"errors"
	"sync"
	"time"

	"smartcrm/internal/crm/field"
	"smartcrm/internal/files"
	"smartcrm/internal/store"
)

// Service is the domain's entry point. It caches the type registry so that item calls
// do not query it each time.
type Service struct {
	st *store.Store
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// DefaultCurrency is given to new items of types with products enabled.
	DefaultCurrency string

	mu     sync.Mutex
	types  map[int64]*cachedType // by entityTypeId
	users  *userCache
	counts *countCache
	// Files keeps uploads of file fields and signs their links (set by the app).
	Files *files.Store
}

type cachedType struct {
	t        *Type
	loadedAt time.Time
}

// typeCacheTTL bounds how stale a cached type may be when another process (a second
// server on the same PostgreSQL) changed it. Changes made by this process invalidate the
// cache at once.
const typeCacheTTL = 5 * time.Second

// New returns a service over an open, migrated store.
func New(st *store.Store) *Service {
	return &Service{
		st:              st,
		Now:             func() time.Time { return time.Now().Truncate(time.Second) },
		DefaultCurrency: "USD",
		types:           map[int64]*cachedType{},
		users:           &userCache{st: st},
		counts:          newCountCache(),
	}
}

// Store exposes the store to the composition root (bootstrap, metrics).
func (s *Service) Store() *store.Store { return s.st }

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

// loadType reads a type with its funnels and stages and builds its catalog.
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
	var err error
	if t.categories, err = q.Categories(ctx, t.EntityTypeID); err != nil {
		return nil, err
	}
	if t.stages, err = q.StagesOfType(ctx, t.EntityTypeID); err != nil {
		return nil, err
	}
	if t.requirements, err = q.StageRequirements(ctx, t.EntityTypeID); err != nil {
		return nil, err
	}
	if t.userFields, err = q.UserFields(ctx, t.EntityTypeID); err != nil {
		return nil, err
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

// childTypes lists the smart processes whose items may have an item of etid as parent.
// Edges are read through q, so a transaction sees its own changes.
func (s *Service) childTypes(ctx context.Context, q typeReader, etid int64) ([]*Type, error) {
	edges, err := q.TypeEdges(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Type
	for _, e := range edges {
		if e.Parent != etid {
			continue
		}
		// The cached type: registry changes drop the cache, so it is current.
		c, err := s.typeByEntityTypeID(ctx, e.Child)
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
		switch ft := f.Type.(type) {
		case field.File:
			ft.Link = s.Files.Link
			f.Type = ft
		case field.Multiple:
			if el, ok := ft.Elem.(field.File); ok {
				el.Link = s.Files.Link
				f.Type = field.Multiple{Elem: el}
			}
		}
	}
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

// forgetTypes drops cached types after a registry change.
func (s *Service) forgetTypes() {
	s.mu.Lock()
	s.types = map[int64]*cachedType{}
	s.mu.Unlock()
	s.counts.reset()
}

// defaultCategory is the type's default funnel.
func (t *Type) defaultCategory() *store.CategoryRecord {
	for _, c := range t.categories {
		if c.IsDefault {
			return c
		}
	}
	if len(t.categories) > 0 {
		return t.categories[0]
	}
	return nil
}

// category finds a funnel by id.
func (t *Type) category(id int64) *store.CategoryRecord {
	for _, c := range t.categories {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// stagesOf lists a funnel's stages by sort.
func (t *Type) stagesOf(categoryID int64) []*store.StageRecord {
	var out []*store.StageRecord
	for _, s := range t.stages {
		if s.CategoryID == categoryID {
			out = append(out, s)
		}
	}
	return out
}

// stage finds a stage of a funnel by its STATUS_ID.
func (t *Type) stage(categoryID int64, statusID string) *store.StageRecord {
	for _, s := range t.stages {
		if s.CategoryID == categoryID && s.StatusID == statusID {
			return s
		}
	}
	return nil
}
