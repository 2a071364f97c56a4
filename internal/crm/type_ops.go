package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// TypeSpec is what a caller sets on a smart process. On update nil leaves a value as it
// is; EntityTypeID and CustomSectionID are taken on add only.
type TypeSpec struct {
	Title           *string
	Code            *string
	EntityTypeID    int64 // 0: the next free one
	CustomSectionID *int64
	// Flags sets the given settings; unsettable ones are ignored.
	Flags Flags
	// Relations replace the type's relations as a whole (spec §3.2), keeping the
	// predefined ones; nil leaves them.
	Relations *Relations
	// LinkedUserFields replace the links to other modules as a whole; nil leaves them.
	LinkedUserFields map[string]bool
}

// ValidEntityTypeID is the allowed range for smart processes: 128–192, or even ≥ 1030.
func ValidEntityTypeID(id int64) bool { return field.ValidSmartProcessID(id) }

// firstAutoEntityTypeID is where allocation starts when the caller gives none.
const firstAutoEntityTypeID = 1030

// Default stages of a new smart-process funnel (spec §7.3).
var defaultStages = []defaultStage{
	{"NEW", "Start", "#22B9FF", "", 10, true},
	{"PREPARATION", "Preparation", "#88B9FF", "", 20, false},
	{"CLIENT", "Approval", "#10e5fc", "", 30, false},
	{"SUCCESS", "Success", "#00ff00", "S", 40, true},
	{"FAIL", "Failure", "#ff0000", "F", 50, true},
}

// AddType creates a smart process: its registry row, its items table, and its default
// funnel with the default stages, all in one transaction.
func (s *Service) AddType(ctx context.Context, actor access.Actor, spec TypeSpec) (*Type, error) {
	var created *Type
	// Allocation races with another process are resolved by the unique index: retry
	// with the next number.
	for attempt := 0; attempt < 5; attempt++ {
		err := s.Run(ctx, actor, func(u *Unit) (err error) {
			created, err = u.AddType(spec)
			return err
		})
		if err == nil {
			return created, nil
		}
		if !store.IsUniqueViolation(err) {
			return nil, err
		}
		if spec.EntityTypeID != 0 {
			return nil, &Error{Kind: ErrInvalidArg, Field: "entityTypeId", Msg: fmt.Sprintf("entityTypeId %d is already in use", spec.EntityTypeID)}
		}
	}
	return nil, errors.New("could not allocate an entityTypeId")
}

// AddType creates a smart process inside the unit.
func (u *Unit) AddType(spec TypeSpec) (*Type, error) {
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{Kind: "type"}); err != nil {
		return nil, err
	}
	t := &Type{Flags: defaultFlags(), LinkedUserFields: map[string]bool{},
		CreatedBy: u.actor.UserID, UpdatedBy: u.actor.UserID, CreatedTime: u.now, UpdatedTime: u.now}
	if spec.EntityTypeID != 0 && !ValidEntityTypeID(spec.EntityTypeID) {
		return nil, &Error{Kind: ErrInvalidArg, Field: "entityTypeId", Msg: "entityTypeId is out of allowed range"}
	}
	t.EntityTypeID = spec.EntityTypeID
	if spec.CustomSectionID != nil && *spec.CustomSectionID > 0 {
		id := *spec.CustomSectionID
		t.CustomSectionID = &id
	}
	if err := u.applyTypeSpec(t, spec); err != nil {
		return nil, err
	}
	if t.Title == "" {
		return nil, &Error{Kind: ErrRequired, Field: "title", Msg: `The "Title" field is required`}
	}
	before, err := u.tx.TypeEdges(u.ctx)
	if err != nil {
		return nil, err
	}
	if t.EntityTypeID == 0 {
		max, err := u.tx.MaxEntityTypeID(u.ctx)
		if err != nil {
			return nil, err
		}
		t.EntityTypeID = firstAutoEntityTypeID
		if max >= t.EntityTypeID {
			t.EntityTypeID = max + 2 - max%2
		}
	}
	rec := t.record()
	if err := u.tx.InsertType(u.ctx, rec); err != nil {
		return nil, err
	}
	t.ID = rec.ID
	if err := u.tx.ReplaceTypeEdges(u.ctx, t.EntityTypeID, edgesOf(t)); err != nil {
		return nil, err
	}
	t.buildFields()
	if err := u.tx.CreateItemTable(u.ctx, t.EntityTypeID, itemColumns(t.fields), t.itemIndexesOf()); err != nil {
		return nil, fmt.Errorf("creating the items table: %w", err)
	}
	if _, err := u.addCategoryRecord(t, &store.CategoryRecord{EntityTypeID: t.EntityTypeID, Name: "General", Sort: 500, IsDefault: true}); err != nil {
		return nil, err
	}
	if err := syncLinkColumns(u.ctx, u.tx, before); err != nil {
		return nil, err
	}
	u.RegistryChanged()
	if err := u.Emit(change.Change{Entity: change.Type, Kind: change.Added, EntityTypeID: t.EntityTypeID, ID: t.ID}); err != nil {
		return nil, err
	}
	return u.s.loadType(u.ctx, u.tx, t.ID, false)
}

// addCategoryRecord creates a funnel (with its given id when c.FixedID is set) and the
// type's default stages.
func (u *Unit) addCategoryRecord(t *Type, c *store.CategoryRecord) (*Category, error) {
	if err := u.tx.InsertCategory(u.ctx, c); err != nil {
		return nil, err
	}
	stages := defaultStages
	if t.std != nil {
		stages = t.std.stages
	}
	for _, d := range stages {
		st := &store.StageRecord{
			EntityID: t.StageDirectory(c.ID), StatusID: t.stageStatusID(c.ID, d.code), Name: d.name, NameInit: d.name,
			Sort: d.sort, System: d.system, CategoryID: c.ID, Color: d.color, Semantics: d.semantics,
		}
		if err := u.tx.InsertStage(u.ctx, st); err != nil {
			return nil, err
		}
	}
	u.RegistryChanged()
	return categoryFromRecord(c), nil
}

// UpdateType changes a type's settings.
func (s *Service) UpdateType(ctx context.Context, actor access.Actor, id int64, spec TypeSpec) (*Type, error) {
	var out *Type
	err := s.Run(ctx, actor, func(u *Unit) (err error) {
		out, err = u.UpdateType(id, spec)
		return err
	})
	return out, err
}

// UpdateType changes a type's settings inside the unit. A spec that sets nothing
// changes nothing.
func (u *Unit) UpdateType(id int64, spec TypeSpec) (*Type, error) {
	t, err := u.s.loadType(u.ctx, u.tx, id, false)
	if err != nil {
		return nil, err
	}
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: t.EntityTypeID, Kind: "type"}); err != nil {
		return nil, err
	}
	if spec.Title == nil && spec.Code == nil && spec.Flags == nil && spec.Relations == nil && spec.LinkedUserFields == nil {
		return t, nil
	}
	if err := u.applyTypeSpec(t, spec); err != nil {
		return nil, err
	}
	t.UpdatedBy, t.UpdatedTime = u.actor.UserID, u.now
	if err := u.tx.UpdateType(u.ctx, t.record()); err != nil {
		return nil, err
	}
	if spec.Relations != nil {
		// Replaced wholesale (spec §3.2), on both sides of every edge.
		before, err := u.tx.TypeEdges(u.ctx)
		if err != nil {
			return nil, err
		}
		if err := u.tx.ReplaceTypeEdges(u.ctx, t.EntityTypeID, edgesOf(t)); err != nil {
			return nil, err
		}
		if err := syncLinkColumns(u.ctx, u.tx, before); err != nil {
			return nil, err
		}
	}
	u.RegistryChanged()
	if err := u.Emit(change.Change{Entity: change.Type, Kind: change.Updated, EntityTypeID: t.EntityTypeID, ID: t.ID}); err != nil {
		return nil, err
	}
	return u.s.loadType(u.ctx, u.tx, t.ID, false)
}

// DeleteType removes a type that holds no items, with its table, funnels and stages.
func (s *Service) DeleteType(ctx context.Context, actor access.Actor, id int64, byEntityType bool) error {
	return s.Run(ctx, actor, func(u *Unit) error { return u.DeleteType(id, byEntityType) })
}

// DeleteType removes a type inside the unit.
func (u *Unit) DeleteType(id int64, byEntityType bool) error {
	t, err := u.s.loadType(u.ctx, u.tx, id, byEntityType)
	if err != nil {
		return err
	}
	if err := u.s.allow(u.actor, access.ActConfigure, access.Resource{EntityTypeID: t.EntityTypeID, Kind: "type"}); err != nil {
		return err
	}
	has, err := u.tx.HasItems(u.ctx, t.EntityTypeID)
	if err != nil {
		return err
	}
	if has {
		return newErr(ErrHasItems, "You cannot delete an entity type that has elements")
	}
	before, err := u.tx.TypeEdges(u.ctx)
	if err != nil {
		return err
	}
	if err := u.tx.DeleteType(u.ctx, t.record()); err != nil {
		return err
	}
	// Children's link columns go first: on PostgreSQL they reference this table.
	if err := syncLinkColumns(u.ctx, u.tx, before); err != nil {
		return err
	}
	if err := u.tx.DropItemTable(u.ctx, t.EntityTypeID); err != nil {
		return err
	}
	u.RegistryChanged()
	return u.Emit(change.Change{Entity: change.Type, Kind: change.Deleted, EntityTypeID: t.EntityTypeID, ID: t.ID})
}

// GetType reads a type by its id or its entityTypeId (the built-in types too).
func (s *Service) GetType(ctx context.Context, actor access.Actor, id int64, byEntityType bool) (*Type, error) {
	var t *Type
	var err error
	if byEntityType {
		t, err = s.typeByEntityTypeID(ctx, id)
	} else {
		t, err = s.loadType(ctx, s.st, id, false)
	}
	if err != nil {
		return nil, err
	}
	return t, s.allow(actor, access.ActRead, access.Resource{EntityTypeID: t.EntityTypeID, Kind: "type"})
}

// GetSmartProcess reads a smart process by entityTypeId: the built-in types are not
// smart processes.
func (s *Service) GetSmartProcess(ctx context.Context, actor access.Actor, etid int64) (*Type, error) {
	if standardTypeDefs[etid] != nil {
		return nil, newErr(ErrTypeNotFound, "Smart process not found")
	}
	return s.GetType(ctx, actor, etid, true)
}

// TypeQueryFields is the catalog smart-process lists filter and order on.
func TypeQueryFields() []query.Field {
	fields := []query.Field{
		{Name: "id", Column: "id", Type: field.Integer{}},
		{Name: "title", Column: "title", Type: field.Text{}},
		{Name: "code", Column: "code", Type: field.Text{}},
		{Name: "createdBy", Column: "created_by", Type: field.Integer{TypeName: "user"}},
		{Name: "entityTypeId", Column: "entity_type_id", Type: field.Integer{}},
		{Name: "customSectionId", Column: "custom_section_id", Type: field.Integer{}},
	}
	for _, f := range store.TypeFlags {
		fields = append(fields, query.Field{Name: f.Wire, Column: f.Column, Type: field.Flag{}})
	}
	return append(fields,
		query.Field{Name: "createdTime", Column: "created_time", Type: field.DateTime{}},
		query.Field{Name: "updatedTime", Column: "updated_time", Type: field.DateTime{}},
		query.Field{Name: "updatedBy", Column: "updated_by", Type: field.Integer{TypeName: "user"}},
	)
}

// TypeList is a page of types.
type TypeList struct {
	Types []*Type
	Total int
}

// ListTypes lists smart processes (TypeQueryFields), 50 a page.
func (s *Service) ListTypes(ctx context.Context, actor access.Actor, where query.Group, order []query.Order, offset int) (*TypeList, error) {
	if err := s.allow(actor, access.ActRead, access.Resource{Kind: "type"}); err != nil {
		return nil, err
	}
	order = withIDOrder(TypeQueryFields(), "id", order)
	recs, err := s.st.ListTypes(ctx, where, order, store.Page{Limit: PageSize, Offset: max(offset, 0)})
	if err != nil {
		return nil, err
	}
	out := &TypeList{}
	for _, r := range recs {
		t, err := typeFromRecord(r)
		if err != nil {
			return nil, err
		}
		out.Types = append(out.Types, t)
	}
	if out.Total, err = s.st.CountTypes(ctx, where); err != nil {
		return nil, err
	}
	return out, nil
}

// AllTypes lists every smart process by entityTypeId, with its catalog.
func (s *Service) AllTypes(ctx context.Context, actor access.Actor) ([]*Type, error) {
	if err := s.allow(actor, access.ActRead, access.Resource{Kind: "type"}); err != nil {
		return nil, err
	}
	cols := TypeQueryFields()
	recs, err := s.st.ListTypes(ctx, query.Group{}, withIDOrder(cols, "entityTypeId", nil), store.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]*Type, 0, len(recs))
	for _, r := range recs {
		t, err := s.typeByEntityTypeID(ctx, r.EntityTypeID)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// applyTypeSpec sets what a spec gives on t, checking each value.
func (u *Unit) applyTypeSpec(t *Type, spec TypeSpec) error {
	if spec.Title != nil {
		title := strings.TrimSpace(*spec.Title)
		if !utf8.ValidString(title) || utf8.RuneCountInString(title) > 255 {
			return &Error{Kind: ErrInvalidArg, Field: "title", Msg: "title must be a string of at most 255 characters"}
		}
		if title == "" {
			return &Error{Kind: ErrRequired, Field: "title", Msg: `The "Title" field is required`}
		}
		t.Title = title
	}
	if spec.Code != nil {
		if utf8.RuneCountInString(*spec.Code) > 255 {
			return &Error{Kind: ErrInvalidArg, Field: "code", Msg: "code must be a string of at most 255 characters"}
		}
		t.Code = *spec.Code
	}
	for f, on := range spec.Flags {
		if f.Settable() {
			t.Flags[f] = on
		}
	}
	if spec.LinkedUserFields != nil {
		t.LinkedUserFields = map[string]bool{}
		for _, k := range LinkedUserFieldKeys {
			if on, given := spec.LinkedUserFields[k]; given {
				t.LinkedUserFields[k] = on
			}
		}
	}
	if spec.Relations != nil {
		rel, err := u.checkRelations(t, *spec.Relations)
		if err != nil {
			return err
		}
		t.Relations = rel
	}
	// A client-enabled type has contacts and companies as predefined parents.
	t.Relations.Parent = withPredefinedParents(t.Relations.Parent, t.Flags[FlagClient])
	if t.Relations.Child == nil {
		t.Relations.Child = []Relation{}
	}
	return nil
}

// checkRelations refuses relations to types that do not exist and drops repeats.
func (u *Unit) checkRelations(t *Type, rel Relations) (Relations, error) {
	out := Relations{Parent: []Relation{}, Child: []Relation{}}
	for _, side := range []struct{ in, out *[]Relation }{{&rel.Parent, &out.Parent}, {&rel.Child, &out.Child}} {
		seen := map[int64]bool{}
		for _, r := range *side.in {
			if r.IsPredefined {
				continue
			}
			if r.EntityTypeID <= 0 {
				return out, &Error{Kind: ErrInvalidArg, Field: "relations", Msg: "relation entityTypeId must be a positive integer"}
			}
			if _, std := standardTypeDefs[r.EntityTypeID]; !std && r.EntityTypeID != t.EntityTypeID {
				if _, err := u.tx.GetType(u.ctx, r.EntityTypeID, true); errors.Is(err, store.ErrNotFound) {
					return out, &Error{Kind: ErrInvalidArg, Field: "relations", Msg: fmt.Sprintf("relation to unknown entity type %d", r.EntityTypeID)}
				} else if err != nil {
					return out, err
				}
			}
			if !seen[r.EntityTypeID] {
				seen[r.EntityTypeID] = true
				*side.out = append(*side.out, Relation{EntityTypeID: r.EntityTypeID, IsChildrenListEnabled: r.IsChildrenListEnabled})
			}
		}
	}
	return out, nil
}

// relationsOf is a type's view of the relation edges: its parents are the edges where
// it is the child, its children those where it is the parent; a client-enabled type
// also has contacts and companies as predefined parents.
func relationsOf(t *Type, edges []store.TypeEdge) Relations {
	r := Relations{Parent: []Relation{}, Child: []Relation{}}
	for _, e := range edges {
		if e.Child == t.EntityTypeID {
			r.Parent = append(r.Parent, Relation{EntityTypeID: e.Parent, IsChildrenListEnabled: e.ChildrenList})
		}
		if e.Parent == t.EntityTypeID {
			r.Child = append(r.Child, Relation{EntityTypeID: e.Child, IsChildrenListEnabled: e.ChildrenList})
		}
	}
	r.Parent = withPredefinedParents(r.Parent, t.Flags[FlagClient])
	return r
}

// edgesOf turns a type's relations into edges (predefined ones are derived, not stored).
func edgesOf(t *Type) []store.TypeEdge {
	var out []store.TypeEdge
	for _, p := range t.Relations.Parent {
		if !p.IsPredefined {
			out = append(out, store.TypeEdge{Parent: p.EntityTypeID, Child: t.EntityTypeID, ChildrenList: p.IsChildrenListEnabled})
		}
	}
	for _, c := range t.Relations.Child {
		out = append(out, store.TypeEdge{Parent: t.EntityTypeID, Child: c.EntityTypeID, ChildrenList: c.IsChildrenListEnabled})
	}
	return out
}

func withPredefinedParents(parents []Relation, client bool) []Relation {
	var out []Relation
	for _, r := range parents {
		if !r.IsPredefined {
			out = append(out, r)
		}
	}
	if client {
		out = append([]Relation{
			{EntityTypeID: 3, IsChildrenListEnabled: true, IsPredefined: true},
			{EntityTypeID: 4, IsChildrenListEnabled: true, IsPredefined: true},
		}, out...)
	}
	if out == nil {
		out = []Relation{}
	}
	return out
}

// syncLinkColumns makes the child tables' link columns follow the edges: a column for
// every edge whose child has an items table (a smart process, lead, deal, contact or
// company), none for edges that are gone (their links go with the column).
func syncLinkColumns(ctx context.Context, tx *store.Tx, before []store.TypeEdge) error {
	after, err := tx.TypeEdges(ctx)
	if err != nil {
		return err
	}
	key := func(e store.TypeEdge) [2]int64 { return [2]int64{e.Parent, e.Child} }
	was, is := map[[2]int64]bool{}, map[[2]int64]bool{}
	for _, e := range before {
		was[key(e)] = true
	}
	for _, e := range after {
		is[key(e)] = true
	}
	// change runs fn for the edges of list missing from other whose child has a table.
	change := func(list []store.TypeEdge, other map[[2]int64]bool, fn func(ctx context.Context, child, parent int64) error) error {
		for _, e := range list {
			if other[key(e)] {
				continue
			}
			if standardTypeDefs[e.Child] != nil {
				// a lead, deal, contact or company: its table exists
			} else if _, err := tx.GetType(ctx, e.Child, true); errors.Is(err, store.ErrNotFound) {
				continue // a standard type without items here (quotes, invoices)
			} else if err != nil {
				return err
			}
			if err := fn(ctx, e.Child, e.Parent); err != nil {
				return err
			}
		}
		return nil
	}
	if err := change(before, is, tx.DropLinkColumn); err != nil {
		return err
	}
	return change(after, was, tx.AddLinkColumn)
}
