package crm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/params"
	"smartcrm/internal/store"
)

// ValidEntityTypeID is the allowed range for smart processes: 128–192, or even ≥ 1030.
func ValidEntityTypeID(id int64) bool {
	return (id >= 128 && id <= 192) || (id >= 1030 && id%2 == 0 && id < 1<<31)
}

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
func (s *Service) AddType(ctx context.Context, actor access.Actor, in *params.Object) (*Type, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	if in == nil {
		return nil, newErr(ErrMissingParam, "Could not find value for parameter {fields}")
	}
	now := s.Now()
	t := &Type{
		Flags: map[string]bool{}, LinkedUserFields: map[string]bool{},
		CreatedBy: actor.UserID, UpdatedBy: actor.UserID, CreatedTime: now, UpdatedTime: now,
	}
	for _, f := range store.TypeFlags {
		t.Flags[f.Wire] = f.Default == "Y"
	}
	if err := s.applyTypeInput(ctx, t, in, true); err != nil {
		return nil, err
	}
	if t.Title == "" {
		return nil, &Error{Kind: ErrRequired, Field: "title", Msg: `The "Title" field is required`}
	}
	explicitID := t.EntityTypeID != 0
	var created *Type
	// Allocation races with another process are resolved by the unique index: retry
	// with the next number.
	for attempt := 0; attempt < 5; attempt++ {
		err := s.st.InTx(ctx, func(tx *store.Tx) error {
			before, err := tx.TypeEdges(ctx)
			if err != nil {
				return err
			}
			if !explicitID {
				max, err := tx.MaxEntityTypeID(ctx)
				if err != nil {
					return err
				}
				next := int64(firstAutoEntityTypeID)
				if max >= next {
					next = max + 2 - max%2
				}
				t.EntityTypeID = next
			}
			rec := t.record()
			if err := tx.InsertType(ctx, rec); err != nil {
				return err
			}
			t.ID = rec.ID
			if err := tx.ReplaceTypeEdges(ctx, t.EntityTypeID, edgesOf(t)); err != nil {
				return err
			}
			t.buildFields()
			if err := tx.CreateItemTable(ctx, t.EntityTypeID, itemColumns(t.fields), t.itemIndexesOf()); err != nil {
				return fmt.Errorf("creating the items table: %w", err)
			}
			if _, err := addCategory(ctx, tx, t, "General", 500, true); err != nil {
				return err
			}
			if err := syncLinkColumns(ctx, tx, before); err != nil {
				return err
			}
			loaded, err := s.loadType(ctx, tx, t.ID, false)
			created = loaded
			return err
		})
		if err == nil {
			break
		}
		if store.IsUniqueViolation(err) {
			if explicitID {
				return nil, &Error{Kind: ErrInvalidArg, Field: "entityTypeId", Msg: fmt.Sprintf("entityTypeId %d is already in use", t.EntityTypeID)}
			}
			continue
		}
		return nil, err
	}
	if created == nil {
		return nil, errors.New("could not allocate an entityTypeId")
	}
	s.forgetTypes()
	return created, nil
}

// addCategory creates a funnel with the default stages.
func addCategory(ctx context.Context, tx *store.Tx, t *Type, name string, sort int64, isDefault bool) (*store.CategoryRecord, error) {
	return addCategoryRecord(ctx, tx, t, &store.CategoryRecord{EntityTypeID: t.EntityTypeID, Name: name, Sort: sort, IsDefault: isDefault})
}

// addCategoryRecord creates a funnel (with its given id when c.FixedID is set) and the
// type's default stages.
func addCategoryRecord(ctx context.Context, tx *store.Tx, t *Type, c *store.CategoryRecord) (*store.CategoryRecord, error) {
	if err := tx.InsertCategory(ctx, c); err != nil {
		return nil, err
	}
	stages := defaultStages
	if t.std != nil {
		stages = t.std.stages
	}
	for _, d := range stages {
		st := &store.StageRecord{
			EntityID:   t.StageDirectory(c.ID),
			StatusID:   t.stageStatusID(c.ID, d.code),
			Name:       d.name,
			NameInit:   d.name,
			Sort:       d.sort,
			System:     d.system,
			CategoryID: c.ID,
			Color:      d.color,
			Semantics:  d.semantics,
		}
		if err := tx.InsertStage(ctx, st); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// UpdateType changes a type's settings. Only given keys change; relations are replaced
// as a whole, keeping the predefined ones (spec §3.2).
func (s *Service) UpdateType(ctx context.Context, actor access.Actor, id int64, in *params.Object) (*Type, error) {
	if err := requireAdmin(actor); err != nil {
		return nil, err
	}
	var updated *Type
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		t, err := s.loadType(ctx, tx, id, false)
		if err != nil {
			return err
		}
		if in == nil || in.Len() == 0 {
			updated = t
			return nil
		}
		if err := s.applyTypeInput(ctx, t, in, false); err != nil {
			return err
		}
		t.UpdatedBy, t.UpdatedTime = actor.UserID, s.Now()
		if err := tx.UpdateType(ctx, t.record()); err != nil {
			return err
		}
		if _, given := in.Get("relations"); given {
			// Replaced wholesale (spec §3.2), on both sides of every edge.
			before, err := tx.TypeEdges(ctx)
			if err != nil {
				return err
			}
			if err := tx.ReplaceTypeEdges(ctx, t.EntityTypeID, edgesOf(t)); err != nil {
				return err
			}
			if err := syncLinkColumns(ctx, tx, before); err != nil {
				return err
			}
		}
		updated, err = s.loadType(ctx, tx, t.ID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.forgetTypes()
	return updated, nil
}

// DeleteType removes a type that holds no items, with its table, funnels and stages.
func (s *Service) DeleteType(ctx context.Context, actor access.Actor, id int64, byEntityType bool) error {
	if err := requireAdmin(actor); err != nil {
		return err
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		t, err := s.loadType(ctx, tx, id, byEntityType)
		if err != nil {
			return err
		}
		has, err := tx.HasItems(ctx, t.EntityTypeID)
		if err != nil {
			return err
		}
		if has {
			return newErr(ErrHasItems, "You cannot delete an entity type that has elements")
		}
		before, err := tx.TypeEdges(ctx)
		if err != nil {
			return err
		}
		if err := tx.DeleteType(ctx, t.record()); err != nil {
			return err
		}
		// Children's link columns go first: on PostgreSQL they reference this table.
		if err := syncLinkColumns(ctx, tx, before); err != nil {
			return err
		}
		return tx.DropItemTable(ctx, t.EntityTypeID)
	})
	if err == nil {
		s.forgetTypes()
	}
	return err
}

// GetType reads a type by its id or its entityTypeId.
func (s *Service) GetType(ctx context.Context, id int64, byEntityType bool) (*Type, error) {
	if byEntityType {
		return s.typeByEntityTypeID(ctx, id)
	}
	return s.loadType(ctx, s.st, id, false)
}

// GetSmartProcess reads a smart process by entityTypeId (crm.type.getByEntityTypeId):
// the built-in types are not smart processes there.
func (s *Service) GetSmartProcess(ctx context.Context, etid int64) (*Type, error) {
	if standardTypeDefs[etid] != nil {
		return nil, newErr(ErrTypeNotFound, "Smart process not found")
	}
	return s.typeByEntityTypeID(ctx, etid)
}

// TypeList is a page of types.
type TypeList struct {
	Types []*Type
	Total int
}

// ListTypes lists types with the crm.item.list filter and order syntax.
func (s *Service) ListTypes(ctx context.Context, filter, order any, start int64) (*TypeList, error) {
	where, ord, err := parseCatalogQuery(store.TypeColumns(), "id", filter, order)
	if err != nil {
		return nil, err
	}
	recs, err := s.st.ListTypes(ctx, where, ord, store.Page{Limit: PageSize, Offset: int(max(start, 0))})
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

// applyTypeInput reads crm.type.add/update fields into t.
func (s *Service) applyTypeInput(ctx context.Context, t *Type, in *params.Object, adding bool) error {
	invalid := func(name, format string, a ...any) error {
		return &Error{Kind: ErrInvalidArg, Field: name, Msg: fmt.Sprintf(format, a...)}
	}
	for _, key := range in.Keys() {
		val, _ := in.Get(key)
		switch key {
		case "title":
			title, ok := params.String(val)
			title = strings.TrimSpace(title)
			if !ok || !utf8.ValidString(title) || utf8.RuneCountInString(title) > 255 {
				return invalid(key, "title must be a string of at most 255 characters")
			}
			if title == "" {
				return &Error{Kind: ErrRequired, Field: "title", Msg: `The "Title" field is required`}
			}
			t.Title = title
		case "code":
			code, ok := params.String(val)
			if !ok || utf8.RuneCountInString(code) > 255 {
				return invalid(key, "code must be a string of at most 255 characters")
			}
			t.Code = code
		case "entityTypeId":
			if !adding {
				continue // immutable
			}
			if val == nil || val == "" {
				continue
			}
			id, ok := params.Int(val)
			if !ok || !ValidEntityTypeID(id) {
				return invalid(key, "entityTypeId is out of allowed range")
			}
			t.EntityTypeID = id
		case "customSectionId":
			if !adding {
				continue
			}
			if id, ok := params.Int(val); ok && id > 0 {
				t.CustomSectionID = &id
			}
		case "relations":
			rel, err := s.parseRelations(ctx, t, val)
			if err != nil {
				return err
			}
			t.Relations = rel
		case "linkedUserFields":
			_, keys, vals, ok := entries(val)
			if !ok {
				return invalid(key, "linkedUserFields must be an object")
			}
			t.LinkedUserFields = map[string]bool{}
			for i, k := range keys {
				if !knownLinkedUserField(k) {
					continue
				}
				b, ok := params.Bool(vals[i])
				if !ok {
					return invalid(key, "linkedUserFields[%s] must be true or false", k)
				}
				t.LinkedUserFields[k] = b
			}
		default:
			if isSettableFlag(key) {
				b, ok := params.Bool(val)
				if !ok {
					return invalid(key, "%s must be Y or N", key)
				}
				t.Flags[key] = b
			}
			// Unknown keys are ignored, as Bitrix24 does.
		}
	}
	// A client-enabled type has contacts and companies as predefined parents.
	t.Relations.Parent = withPredefinedParents(t.Relations.Parent, t.Flags["isClientEnabled"])
	return nil
}

func entries(v any) (n int, keys []string, vals []any, ok bool) {
	if params.IsEmptyContainer(v) {
		return 0, nil, nil, true
	}
	obj, isObj := v.(*params.Object)
	if !isObj {
		return 0, nil, nil, false
	}
	keys, vals, _ = params.Entries(obj)
	return len(keys), keys, vals, true
}

func knownLinkedUserField(k string) bool {
	for _, known := range linkedUserFieldKeys {
		if k == known {
			return true
		}
	}
	return false
}

// isSettableFlag: isPaymentsEnabled and isCountersEnabled are returned but not settable.
func isSettableFlag(name string) bool {
	if name == "isPaymentsEnabled" || name == "isCountersEnabled" {
		return false
	}
	for _, f := range store.TypeFlags {
		if f.Wire == name {
			return true
		}
	}
	return false
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
	r.Parent = withPredefinedParents(r.Parent, t.Flags["isClientEnabled"])
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

// parseRelations reads {parent: [...], child: [...]}; the whole set is replaced.
func (s *Service) parseRelations(ctx context.Context, t *Type, v any) (Relations, error) {
	out := Relations{Parent: []Relation{}, Child: []Relation{}}
	_, keys, vals, ok := entries(v)
	if !ok {
		return out, &Error{Kind: ErrInvalidArg, Field: "relations", Msg: "relations must be an object with parent and child lists"}
	}
	for i, k := range keys {
		var target *[]Relation
		switch k {
		case "parent":
			target = &out.Parent
		case "child":
			target = &out.Child
		default:
			continue
		}
		_, list, isList := params.Entries(vals[i])
		if !isList {
			if vals[i] == nil || vals[i] == "" {
				continue
			}
			return out, &Error{Kind: ErrInvalidArg, Field: "relations", Msg: "relations." + k + " must be a list"}
		}
		seen := map[int64]bool{}
		for _, e := range list {
			obj, isObj := e.(*params.Object)
			if !isObj {
				return out, &Error{Kind: ErrInvalidArg, Field: "relations", Msg: "each relation must be an object with entityTypeId"}
			}
			raw, _ := obj.Get("entityTypeId")
			etid, ok := params.Int(raw)
			if !ok || etid <= 0 {
				return out, &Error{Kind: ErrInvalidArg, Field: "relations", Msg: "relation entityTypeId must be a positive integer"}
			}
			if err := s.checkRelatable(ctx, t, etid); err != nil {
				return out, err
			}
			if seen[etid] {
				continue
			}
			seen[etid] = true
			r := Relation{EntityTypeID: etid}
			if raw, ok := obj.Get("isChildrenListEnabled"); ok {
				b, ok := params.Bool(raw)
				if !ok {
					return out, &Error{Kind: ErrInvalidArg, Field: "relations", Msg: "isChildrenListEnabled must be true or false"}
				}
				r.IsChildrenListEnabled = b
			}
			*target = append(*target, r)
		}
	}
	return out, nil
}

// checkRelatable refuses relations to types that do not exist.
func (s *Service) checkRelatable(ctx context.Context, t *Type, etid int64) error {
	if _, ok := standardTypeDefs[etid]; ok || etid == t.EntityTypeID {
		return nil
	}
	if _, err := s.st.GetType(ctx, etid, true); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return &Error{Kind: ErrInvalidArg, Field: "relations", Msg: fmt.Sprintf("relation to unknown entity type %d", etid)}
		}
		return err
	}
	return nil
}

func requireAdmin(actor access.Actor) error {
	if !actor.IsAdmin {
		return newErr(ErrAccessDenied, "Access denied")
	}
	return nil
}

// AllTypes lists every smart process, by entityTypeId.
func (s *Service) AllTypes(ctx context.Context) ([]*Type, error) {
	where, ord, err := parseCatalogQuery(store.TypeColumns(), "entityTypeId", nil, nil)
	if err != nil {
		return nil, err
	}
	recs, err := s.st.ListTypes(ctx, where, ord, store.Page{})
	if err != nil {
		return nil, err
	}
	out := make([]*Type, 0, len(recs))
	for _, r := range recs {
		t, err := typeFromRecord(r)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
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
	if err := change(after, was, tx.AddLinkColumn); err != nil {
		return err
	}
	return nil
}
