package crm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/field"
	"smartcrm/internal/itemcache"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// This file is the one write path (DESIGN.md): every change to an item — from REST, the
// UI, a robot or an import — goes through AddItem, UpdateItem or DeleteItem, which
//
//  1. load the current item with its version (update, delete),
//  2. check access (the actor's permission for the type, funnel and stage),
//  3. apply field attributes and per-field logic (defaults, read-only, cannot be
//     emptied, stage belongs to the funnel, moved-by/moved-time, title default),
//  4. validate values, references and required fields,
//  5. write in one transaction the item row (optimistic version check), the stage
//     history, the counters, what the listeners record (timeline, activities) and one
//     Change into the outbox.
//
// Parsing a caller's values needs no stored state and happens before the transaction
// (on SQLite the transaction runs in the single writer every change waits for); every
// check against stored state happens inside it.

// Patch is a set of values to write, by field name, as plain values (see the field
// package): what a REST call, a form, a robot or a process file sets on an item.
type Patch map[FieldName]any

// WriteOptions qualify an update.
type WriteOptions struct {
	// IfVersion, when not 0, is the version the caller read: the update is refused
	// (ErrStaleVersion) when the item has changed since, instead of overwriting.
	IfVersion int64
}

// ItemListener records what accompanies an item change in its transaction: timeline
// entries, the fate of the item's activities. The timeline and activity packages
// register one each.
type ItemListener interface {
	ItemChanged(u *Unit, e *ItemEvent) error
}

// ItemEvent is an item change as listeners see it.
type ItemEvent struct {
	Type    *Type
	Kind    change.Kind
	Before  *Item // nil on add
	After   *Item // the deleted item on delete
	Changed []*Field
}

// Listen registers a listener; the composition root does it once at start.
func (s *Service) Listen(l ItemListener) { s.listeners = append(s.listeners, l) }

// parentKeyPattern matches parent link names: one for a type that is not a parent is
// refused, not ignored like other unknown names, since the caller clearly meant a link.
var parentKeyPattern = regexp.MustCompile(`^(?i:parentId|PARENT_ID_)[0-9]+$`)

// maxConflictRetries bounds how often an update without IfVersion is redone when a
// concurrent writer changed the item between our read and our write.
const maxConflictRetries = 5

// operation carries one change through its steps.
type operation struct {
	u       *Unit
	t       *Type
	before  *Item // nil on add
	after   *Item
	changed []*Field // fields whose value changed (add: every field set)
	// assumed: before is the item as this process last wrote or read it, not read
	// again (load).
	assumed bool
}

// errAssumedUnchanged stops an update that found nothing to change in the item as last
// written or read: without a write, nothing checks that state still holds, so it is
// read.
var errAssumedUnchanged = errors.New("crm: no change to the item as last seen")

// recentKey names an item of the type in the cache of items last written or read.
func (t *Type) recentKey(id int64) itemcache.Key {
	return itemcache.Key{TypeID: t.ID, EntityTypeID: t.EntityTypeID, ID: id}
}

// itemChange is a caller's patch read against a type's catalog: canonical values by
// field, uploads saved. It is prepared once and may be applied more than once (an
// update redone after a conflict).
type itemChange struct {
	t      *Type
	values map[*Field]any
}

// prepare reads a patch: names resolved, values parsed, uploads written to the file
// store. Read-only, switched-off and (on update) immutable fields are ignored.
func (s *Service) prepare(t *Type, patch Patch, adding bool) (*itemChange, error) {
	ch := &itemChange{t: t, values: make(map[*Field]any, len(patch))}
	names := make([]string, 0, len(patch))
	for name := range patch {
		names = append(names, string(name))
	}
	sort.Strings(names)
	for _, name := range names {
		f, ok := t.FieldByName(name)
		if !ok {
			if parentKeyPattern.MatchString(name) {
				return nil, &Error{Kind: ErrInvalidValue, Field: name,
					Msg: fmt.Sprintf("Invalid value for field %q: that type is not a parent of %q (see the type's relations)", name, t.Title)}
			}
			return nil, &Error{Kind: ErrInvalidValue, Field: name, Msg: fmt.Sprintf("Unknown field %q of %q", name, t.Title)}
		}
		if f.ReadOnly || f.Column == "" || !t.Enabled(f) || (!adding && f.Immutable) {
			continue
		}
		raw := patch[FieldName(name)]
		v, err := f.Type.Parse(raw)
		if errors.Is(err, field.ErrNotIterable) {
			return nil, &Error{Kind: ErrNotIterable, Field: string(f.Name),
				Msg: fmt.Sprintf("Expected iterable value for multiple field, but got %s instead", valueKind(raw))}
		}
		if err != nil {
			return nil, invalidValue(f, err)
		}
		ch.values[f] = v
	}
	if err := s.saveUploads(ch.values); err != nil {
		return nil, err
	}
	return ch, nil
}

// valueKind names a plain value's type the way Bitrix24's message does.
func valueKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, int64, int:
		return "integer"
	case float64:
		return "double"
	case bool:
		return "boolean"
	}
	return "scalar"
}

func invalidValue(f *Field, cause error) error {
	msg := fmt.Sprintf("Invalid value for field \"%s\"", f.Title)
	if cause != nil {
		detail := cause.Error()
		if errors.Is(cause, field.ErrInvalid) {
			detail = strings.TrimPrefix(detail, field.ErrInvalid.Error()+": ")
		}
		if detail != "" {
			msg += ": " + detail
		}
	}
	return &Error{Kind: ErrInvalidValue, Field: string(f.Name), Msg: msg}
}

// AddItem creates an item of type etid.
func (s *Service) AddItem(ctx context.Context, actor access.Actor, etid int64, patch Patch) (*Type, *Item, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, nil, err
	}
	ch, err := s.prepare(t, patch, true)
	if err != nil {
		return nil, nil, err
	}
	// What needs no database (defaults, logic, access, validation) is done before the
	// transaction: on SQLite every write waits for the one writer, so work done there
	// is work every other writer waits for.
	op, err := newAddition(&Unit{ctx: ctx, s: s, actor: actor, now: s.Now()}, ch)
	if err != nil {
		return nil, nil, err
	}
	var it *Item
	err = s.Run(ctx, actor, func(u *Unit) (err error) {
		u.now, op.u = op.u.now, u
		it, err = op.insert(ch)
		return err
	})
	return t, it, err
}

// AddItem creates an item inside the unit.
func (u *Unit) AddItem(etid int64, patch Patch) (*Item, error) {
	t, err := u.itemType(etid)
	if err != nil {
		return nil, err
	}
	ch, err := u.s.prepare(t, patch, true)
	if err != nil {
		return nil, err
	}
	op, err := newAddition(u, ch)
	if err != nil {
		return nil, err
	}
	return op.insert(ch)
}

// newAddition shapes a new item from a prepared change: defaults, the type's logic,
// the access check and validation, none of which reads the database.
func newAddition(u *Unit, ch *itemChange) (*operation, error) {
	op := &operation{u: u, t: ch.t, after: &Item{values: make(map[FieldName]any, len(ch.t.Fields()))}}
	op.applyDefaults(ch.values)
	if err := op.applyLogic(ch.values); err != nil {
		return nil, err
	}
	if err := op.allow(access.ActCreate, op.after); err != nil {
		return nil, err
	}
	if err := op.validate(); err != nil {
		return nil, err
	}
	return op, nil
}

// insert writes a shaped new item inside its unit: references checked and files bound
// in the transaction, the row, then what derives from it.
func (op *operation) insert(ch *itemChange) (*Item, error) {
	u, t := op.u, op.t
	if err := op.checkReferences(ch.values); err != nil {
		return nil, err
	}
	resolved, newFiles, err := op.resolveFiles(ch.values, 0)
	if err != nil {
		return nil, err
	}
	for f, v := range resolved {
		if _, isFile := isFileField(f); isFile {
			op.after.values[f.Name] = v
		}
	}
	fs := t.storedFields()
	cols, vals := make([]store.Column, len(fs)), make([]any, len(fs))
	for i, f := range fs {
		cols[i], vals[i] = f.storageColumn(), op.after.values[f.Name]
	}
	// The default title names the item by its id: the INSERT writes both at once.
	tf, title := t.TitleField(), (*store.DefaultTitle)(nil)
	if tf != nil && op.after.values[tf.Name] == nil {
		title = &store.DefaultTitle{Column: tf.storageColumn().Name, Prefix: t.Title + " #"}
	}
	id, err := u.tx.InsertItem(u.ctx, t.EntityTypeID, cols, vals, title)
	if err != nil {
		return nil, err
	}
	if op.after.ID, op.after.Version = id, 1; title != nil {
		op.after.values[tf.Name] = op.defaultTitle()
	}
	if err := u.tx.SetFileItem(u.ctx, newFiles, id); err != nil {
		return nil, err
	}
	if err := op.writeDerived(change.Added); err != nil {
		return nil, err
	}
	return op.after, nil
}

// UpdateItem changes the given fields of an item. A change to nothing writes nothing.
func (s *Service) UpdateItem(ctx context.Context, actor access.Actor, etid, id int64, patch Patch, opt WriteOptions) (*Type, *Item, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, nil, err
	}
	ch, err := s.prepare(t, patch, false)
	if err != nil {
		return nil, nil, err
	}
	assume := s.recent != nil
	for attempt := 0; ; attempt++ {
		var it *Item
		assumed := false
		err = s.Run(ctx, actor, func(u *Unit) (err error) {
			u.assumeWritten = assume
			it, err = u.updateItem(ch, id, opt)
			assumed = u.assumed
			return err
		})
		if err != nil && assumed {
			assume = false // whatever went wrong, the item as read decides
			continue
		}
		if errors.Is(err, store.ErrConflict) {
			if attempt < maxConflictRetries {
				continue // someone changed the item meanwhile: apply the patch to the new state
			}
			return nil, nil, newErr(ErrConflict, "The item is being changed by others at the same time; try again")
		}
		return t, it, err
	}
}

// UpdateItem changes an item inside the unit.
func (u *Unit) UpdateItem(etid, id int64, patch Patch, opt WriteOptions) (*Item, error) {
	t, err := u.itemType(etid)
	if err != nil {
		return nil, err
	}
	ch, err := u.s.prepare(t, patch, false)
	if err != nil {
		return nil, err
	}
	return u.updateItem(ch, id, opt)
}

func (u *Unit) updateItem(ch *itemChange, id int64, opt WriteOptions) (*Item, error) {
	op := &operation{u: u, t: ch.t}
	if err := op.load(id); err != nil {
		return nil, err
	}
	if opt.IfVersion != 0 && opt.IfVersion != op.before.Version {
		return nil, &Error{Kind: ErrStaleVersion, Field: "version",
			Msg: fmt.Sprintf("The item has changed since version %d (it is at version %d now): read it again and redo the change", opt.IfVersion, op.before.Version)}
	}
	if err := op.allow(access.ActUpdate, op.before); err != nil {
		return nil, err
	}
	if err := op.checkReferences(ch.values); err != nil {
		return nil, err
	}
	return op.after, op.update(ch.values)
}

// UpdateFrom changes an item with a patch worked out from the item as it is, under its
// row lock: a read-modify-write (a list of links edited in place) that cannot lose a
// change made in between. changed says whether the patch changed anything.
func (u *Unit) UpdateFrom(etid, id int64, patchOf func(t *Type, before *Item) (Patch, error)) (changed bool, err error) {
	t, err := u.itemType(etid)
	if err != nil {
		return false, err
	}
	op := &operation{u: u, t: t}
	if err := op.load(id); err != nil {
		return false, err
	}
	if err := op.allow(access.ActUpdate, op.before); err != nil {
		return false, err
	}
	patch, err := patchOf(t, op.before)
	if err != nil {
		return false, err
	}
	ch, err := u.s.prepare(t, patch, false)
	if err == nil {
		err = op.checkReferences(ch.values)
	}
	if err == nil {
		err = op.update(ch.values)
	}
	return len(op.changed) > 0, err
}

// RunRetrying is Run, redone while the unit conflicts with a change made at the same
// time (up to maxConflictRetries), for units whose steps read what they change.
func (s *Service) RunRetrying(ctx context.Context, actor access.Actor, fn func(u *Unit) error) error {
	for attempt := 0; ; attempt++ {
		err := s.Run(ctx, actor, fn)
		if !errors.Is(err, store.ErrConflict) {
			return err
		}
		if attempt >= maxConflictRetries {
			return newErr(ErrConflict, "The item is being changed by others at the same time; try again")
		}
	}
}

// update applies parsed values to the loaded item: the update steps of the write path,
// also used where another change implies this one (unlinking children).
func (op *operation) update(values map[*Field]any) error {
	u := op.u
	resolved, _, err := op.resolveFiles(values, op.before.ID)
	if err != nil {
		return err
	}
	op.after = op.before.clone()
	if err := op.applyLogic(resolved); err != nil {
		return err
	}
	if len(op.changed) == 0 {
		if op.assumed {
			return errAssumedUnchanged // no write checks the assumed state: read it
		}
		return nil // nothing changed: nothing is written, nothing fires
	}
	if op.after.StageID() != op.before.StageID() || op.after.CategoryID() != op.before.CategoryID() {
		if err := op.allow(access.ActUpdate, op.after); err != nil {
			return err
		}
	}
	if err := op.validate(); err != nil {
		return err
	}
	op.after.values[FieldUpdatedBy] = u.actor.UserID
	op.after.values[FieldUpdatedTime] = u.now
	cols, vals := op.changedColumns()
	if err := u.tx.UpdateItem(u.ctx, op.t.EntityTypeID, op.before.ID, op.before.Version, cols, vals); err != nil {
		return err
	}
	op.after.Version = op.before.Version + 1
	return op.writeDerived(change.Updated)
}

// DeleteItem removes an item.
func (s *Service) DeleteItem(ctx context.Context, actor access.Actor, etid, id int64) error {
	if _, err := s.itemType(ctx, etid); err != nil {
		return err
	}
	return s.Run(ctx, actor, func(u *Unit) error { return u.DeleteItem(etid, id) })
}

// DeleteItem removes an item inside the unit: its children lose their link to it, the
// items that name it as client lose it, its files and the activities bound to it alone
// go with it.
func (u *Unit) DeleteItem(etid, id int64) error {
	t, err := u.itemType(etid)
	if err != nil {
		return err
	}
	op := &operation{u: u, t: t}
	if op.before, err = readItem(u.ctx, u.tx.GetItemForDelete, t, id); err != nil {
		return err
	}
	if err := op.allow(access.ActDelete, op.before); err != nil {
		return err
	}
	if err := u.unlinkChildren(t, id); err != nil {
		return err
	}
	if err := u.tx.DeleteItem(u.ctx, t.EntityTypeID, id); err != nil {
		return err
	}
	if err := u.tx.DeleteItemFiles(u.ctx, t.EntityTypeID, id); err != nil {
		return err
	}
	op.after = op.before
	return op.writeDerived(change.Deleted)
}

// unlinkChildren clears the links of a deleted item's children, each through the update
// steps, in the deletion's transaction: the children stay, with a history of the change.
func (u *Unit) unlinkChildren(t *Type, id int64) error {
	children, err := u.childTypes(t.EntityTypeID)
	if err != nil {
		return err
	}
	for _, ct := range children {
		link := ct.field(ParentField(t.EntityTypeID))
		if link == nil {
			continue
		}
		ids, err := u.tx.ChildIDs(u.ctx, ct.EntityTypeID, t.EntityTypeID, id)
		if err != nil {
			return err
		}
		for _, cid := range ids {
			if err := u.updateLoaded(ct, cid, map[*Field]any{link: nil}); err != nil {
				return err
			}
		}
	}
	return u.unlinkClients(t.EntityTypeID, id)
}

// updateLoaded runs the update steps for a change the system derives from another one.
func (u *Unit) updateLoaded(t *Type, id int64, values map[*Field]any) error {
	op := &operation{u: u, t: t}
	if err := op.load(id); err != nil {
		return err
	}
	return op.update(values)
}

// unlinkClients removes a deleted lead, contact or company from the client links that
// name it (companyId, contactIds, mycompanyId, leadId…) of every type, through the
// update steps.
func (u *Unit) unlinkClients(etid, id int64) error {
	if standardTypeDefs[etid] == nil {
		return nil
	}
	types, err := u.allItemTypes()
	if err != nil {
		return err
	}
	idCol := []store.Column{{Name: "id", Storage: field.StorageInt}}
	for _, rt := range types {
		for _, f := range rt.fields {
			if f.LinkType != etid || f.Column == "" || !rt.Enabled(f) {
				continue
			}
			cond := query.Cond{Field: rt.QueryField(f), Op: field.OpEq, Value: id}
			if f.Multiple {
				cond.Op, cond.Value = field.OpContainsAny, []any{id}
			}
			rows, err := u.tx.ListItems(u.ctx, rt.EntityTypeID, idCol, query.Group{Items: []query.Expr{cond}}, nil, store.Page{})
			if err != nil {
				return err
			}
			for _, row := range rows {
				cid, _ := row[0].(int64)
				if err := u.updateLoaded(rt, cid, map[*Field]any{f: withoutLink(f, id)}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// withoutLink is the value that drops link id from field f: nil for a single link; for
// a list, a removal that applyLogic resolves against the stored list.
func withoutLink(f *Field, id int64) any {
	if !f.Multiple {
		return nil
	}
	return linkRemoval{id: id}
}

// linkRemoval is a value meaning "this list without id".
type linkRemoval struct{ id int64 }

// allItemTypes lists every type with items: the standard ones and every smart process.
func (u *Unit) allItemTypes() ([]*Type, error) {
	recs, err := u.tx.ListTypes(u.ctx, query.Group{}, nil, store.Page{})
	if err != nil {
		return nil, err
	}
	ids := standardTypeIDs()
	for _, r := range recs {
		ids = append(ids, r.EntityTypeID)
	}
	out := make([]*Type, 0, len(ids))
	for _, etid := range ids {
		t, err := u.typeOf(etid)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// itemType resolves the type of an item call; entity types that are not smart
// processes get the errors Bitrix24 gives for them.
func (s *Service) itemType(ctx context.Context, etid int64) (*Type, error) {
	if etid == 5 {
		return nil, newErr(ErrNotSupported, "Entity type `INVOICE` is not supported")
	}
	return s.typeByEntityTypeID(ctx, etid)
}

func (u *Unit) itemType(etid int64) (*Type, error) {
	if etid == 5 {
		return nil, newErr(ErrNotSupported, "Entity type `INVOICE` is not supported")
	}
	return u.typeOf(etid)
}

// allow is the access step for an item in its funnel and stage.
func (op *operation) allow(act access.Action, it *Item) error {
	r := access.Resource{EntityTypeID: op.t.EntityTypeID}
	if it != nil {
		r.CategoryID, r.StageID = it.CategoryID(), it.StageID()
	}
	return op.u.s.allow(op.u.actor, act, r)
}

func (op *operation) load(id int64) error {
	if u := op.u; u.assumeWritten {
		// The item as this process last wrote or read it, if it did: the update's own check
		// (AssumeItemVersion) stands in for reading and locking the row.
		u.assumeWritten = false
		it, ok := u.s.recent.Get(op.t.recentKey(id))
		if ok && u.tx.AssumeItemVersion(op.t.EntityTypeID, id, it.Version) {
			// Shared, not copied: nothing changes an operation's before, and the cache
			// keeps a copy of what it is given.
			op.before, op.assumed, u.assumed = it, true, true
			return nil
		}
	}
	var err error
	op.before, err = readItem(op.u.ctx, op.u.tx.GetItemForUpdate, op.t, id)
	return err
}

// applyDefaults fills what an add leaves empty (spec §4.2).
func (op *operation) applyDefaults(values map[*Field]any) {
	v := op.after.values
	uid, now := op.u.actor.UserID, op.u.now
	v[FieldCreatedBy], v[FieldUpdatedBy], v[FieldMovedBy] = uid, uid, uid
	v[FieldCreatedTime], v[FieldUpdatedTime], v[FieldMovedTime] = now, now, now
	v[FieldLastActivityBy], v[FieldLastActivityTime] = uid, now
	v[FieldOpened] = "Y"
	v[FieldAssignedByID] = uid
	v[FieldPreviousStageID] = ""
	if op.t.Flag(FlagBeginCloseDates) {
		today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.Local)
		v[FieldBegindate], v[FieldClosedate] = today, today.AddDate(0, 0, 7)
	}
	if op.t.Flag(FlagLinkWithProducts) {
		v[FieldOpportunity], v[FieldTaxValue] = 0.0, 0.0
		v[FieldIsManualOpportunity] = "N"
		v[FieldCurrencyID] = op.u.s.DefaultCurrency
	}
	v[FieldObservers], v[FieldContactIDs] = []int64{}, []int64{}
	for _, f := range op.t.fields {
		if _, given := values[f]; !given && f.defaultValue != nil {
			v[f.Name] = f.defaultValue(now)
		}
	}
	for f, val := range values {
		if val == nil && f.NotEmptied {
			continue // keep the default
		}
		v[f.Name] = val
	}
}

// applyLogic merges values into op.after and applies per-field rules: values that
// cannot be emptied, the funnel and stage rules, moved-by/moved-time. It records which
// fields changed.
func (op *operation) applyLogic(values map[*Field]any) error {
	t, after := op.t, op.after
	adding := op.before == nil
	if !adding {
		for f, val := range values {
			if r, ok := val.(linkRemoval); ok {
				kept := []int64{}
				for _, e := range elements(op.before.values[f.Name]) {
					if e != r.id {
						kept = append(kept, e.(int64))
					}
				}
				val = kept
			}
			if val == nil && f.NotEmptied {
				if f.Name != FieldTitle {
					continue
				}
				val = op.defaultTitle()
			}
			after.values[f.Name] = val
		}
	}

	op.primaryLinks(values)
	if err := op.mergeMultifields(values); err != nil {
		return err
	}
	if t.hasStages() {
		if err := op.placeInFunnel(values); err != nil {
			return err
		}
	}
	op.derive()

	if adding {
		for _, f := range t.storedFields() {
			if after.values[f.Name] != nil {
				op.changed = append(op.changed, f)
			}
		}
		return nil
	}
	for _, f := range t.storedFields() {
		if !f.untracked && !sameValue(op.before.values[f.Name], after.values[f.Name]) {
			op.changed = append(op.changed, f)
		}
	}
	if op.before.StageID() != after.StageID() && t.hasStages() {
		after.values[FieldPreviousStageID] = op.before.values[FieldStageID]
		after.values[FieldMovedBy] = op.u.actor.UserID
		after.values[FieldMovedTime] = op.u.now
	}
	return nil
}

// placeInFunnel applies the funnel and stage rules: the funnel must exist and defaults
// to the type's default one; the stage must belong to the funnel.
func (op *operation) placeInFunnel(values map[*Field]any) error {
	t, after := op.t, op.after
	adding := op.before == nil
	catID := after.CategoryID()
	cat := t.Category(catID)
	if catID == 0 {
		cat = t.DefaultCategory()
	}
	if cat == nil {
		return invalidValue(t.field(FieldCategoryID), fmt.Errorf("pipeline %d does not exist", catID))
	}
	after.values[FieldCategoryID] = cat.ID

	// Stage: must belong to the funnel. When the funnel changes without a stage, the
	// item goes to the first stage of the new funnel with the same semantics as its
	// current stage (or the first stage when there is none).
	stageID := after.StageID()
	_, stageGiven := values[t.field(FieldStageID)]
	if !adding && !stageGiven && cat.ID != op.before.CategoryID() {
		stageID = ""
		if cur := t.Stage(op.before.CategoryID(), op.before.StageID()); cur != nil {
			for _, s := range t.StagesOf(cat.ID) {
				if s.Semantics == cur.Semantics {
					stageID = s.StatusID
					break
				}
			}
		}
	}
	if stageID == "" {
		if stages := t.StagesOf(cat.ID); len(stages) > 0 {
			stageID = stages[0].StatusID
		}
	} else if t.Stage(cat.ID, stageID) == nil {
		return invalidValue(t.field(FieldStageID), fmt.Errorf("stage %q does not belong to pipeline %d", stageID, cat.ID))
	}
	after.values[FieldStageID] = stageID
	return nil
}

// primaryLinks handles the deprecated single links (contactId, a contact's companyId)
// sent without their lists, as legacy clients do: the single one becomes the first of
// the list, and clearing it drops the first. derive then keeps the pair in step.
func (op *operation) primaryLinks(values map[*Field]any) {
	for _, pair := range [][2]FieldName{{FieldContactID, FieldContactIDs}, {FieldCompanyID, FieldCompanyIDs}} {
		single, list := op.t.field(pair[0]), op.t.field(pair[1])
		if single == nil || list == nil {
			continue
		}
		v, givenSingle := values[single]
		if _, givenList := values[list]; !givenSingle || givenList {
			continue
		}
		var stored []int64
		if op.before != nil {
			stored, _ = op.before.values[list.Name].([]int64)
		}
		id, _ := v.(int64)
		out := []int64{}
		if id != 0 {
			out = append(out, id)
		} else if len(stored) > 0 {
			stored = stored[1:]
		}
		for _, e := range stored {
			if e != id {
				out = append(out, e)
			}
		}
		op.after.values[list.Name] = out
	}
}

// mergeMultifields applies multifield patches (phones, e-mails) to the stored entries.
func (op *operation) mergeMultifields(values map[*Field]any) error {
	for f, v := range values {
		mf, ok := f.Type.(field.Multifield)
		if !ok {
			continue
		}
		var stored []field.MultiValue
		if op.before != nil {
			stored, _ = op.before.values[f.Name].([]field.MultiValue)
		}
		p, _ := v.([]field.MultiValue)
		merged, err := mf.Merge(stored, p)
		if err != nil {
			return invalidValue(f, err)
		}
		op.after.values[f.Name] = merged
	}
	return nil
}

// derive computes the fields that follow from others: a stage's semantics and the
// closed flag, the deal's "new" flag, the has-phone/e-mail flags, a contact's full
// name, and the deprecated single contact (the first of the contacts).
func (op *operation) derive() {
	t, v := op.t, op.after.values
	if t.hasStages() {
		cat, stage := op.after.CategoryID(), op.after.StageID()
		sem := t.semanticOf(cat, stage)
		if t.Has(FieldStageSemanticID) {
			v[FieldStageSemanticID] = string(sem)
		}
		if t.Has(FieldClosed) {
			v[FieldClosed] = yn(sem != InProgress)
		}
		if t.Has(FieldIsNew) {
			stages := t.StagesOf(cat)
			v[FieldIsNew] = yn(len(stages) > 0 && stages[0].StatusID == stage)
		}
	}
	if t.Has(FieldHasPhone) {
		fm, _ := v[FieldFM].([]field.MultiValue)
		kinds := map[string]bool{}
		for _, e := range fm {
			kinds[e.TypeID] = true
			if e.TypeID == "IM" && e.ValueType == "IMOL" {
				kinds["IMOL"] = true
			}
		}
		v[FieldHasPhone], v[FieldHasEmail], v[FieldHasImol] = yn(kinds["PHONE"]), yn(kinds["EMAIL"]), yn(kinds["IMOL"])
	}
	if t.Has(FieldFullName) {
		var parts []string
		for _, n := range []FieldName{FieldFirstName, FieldSecondName, FieldLastName} {
			if s, _ := v[n].(string); s != "" {
				parts = append(parts, s)
			}
		}
		switch full := strings.Join(parts, " "); {
		case full != "":
			v[FieldFullName] = full
		case op.after.ID != 0:
			v[FieldFullName] = op.defaultTitle()
		default:
			v[FieldFullName] = nil // an add: the default needs the id (addItem)
		}
	}
	for _, pair := range [][2]FieldName{{FieldContactIDs, FieldContactID}, {FieldCompanyIDs, FieldCompanyID}} {
		if !t.Has(pair[0]) || !t.Has(pair[1]) {
			continue
		}
		if ids, _ := v[pair[0]].([]int64); len(ids) > 0 {
			v[pair[1]] = ids[0]
		} else {
			v[pair[1]] = nil
		}
	}
}

func (op *operation) defaultTitle() string {
	return fmt.Sprintf("%s #%d", op.t.Title, op.after.ID)
}

// validate checks required fields — all of them on add, on update the ones the update
// changes, so making a field mandatory does not block every edit of older items — and
// the fields required from the item's stage on.
func (op *operation) validate() error {
	fields := op.t.fields
	if op.before != nil {
		fields = op.changed
	}
	for _, f := range fields {
		if f.Required && op.t.Enabled(f) && isEmptyRequired(op.after.values[f.Name]) && f.Column != "" {
			return &Error{Kind: ErrRequired, Field: string(f.Name), Msg: fmt.Sprintf("The \"%s\" field is required", f.Title)}
		}
	}
	return op.checkStageRequirements()
}

// isEmptyRequired: a required field holds nothing (nil, an empty text or list).
func isEmptyRequired(v any) bool {
	s, isText := v.(string)
	return isEmptyList(v) || isText && s == ""
}

// changedColumns lists the columns an update writes: the changed fields plus the
// bookkeeping ones the change touched.
func (op *operation) changedColumns() ([]store.Column, []any) {
	var cols []store.Column
	var vals []any
	for _, f := range op.t.storedFields() {
		if !sameValue(op.before.values[f.Name], op.after.values[f.Name]) {
			cols = append(cols, f.storageColumn())
			vals = append(vals, op.after.values[f.Name])
		}
	}
	return cols, vals
}

// writeDerived writes what accompanies the item row in its transaction: the stage
// history, the per-stage counters, what listeners record, and the Change.
func (op *operation) writeDerived(kind change.Kind) error {
	u, t := op.u, op.t
	if err := op.writeStageHistory(kind); err != nil {
		return err
	}
	if err := op.writeStageCounts(kind); err != nil {
		return err
	}
	e := &ItemEvent{Type: t, Kind: kind, Before: op.before, After: op.after, Changed: op.changed}
	for _, l := range u.s.listeners {
		if err := l.ItemChanged(u, e); err != nil {
			return err
		}
	}
	etid, after, key := t.EntityTypeID, op.after, t.recentKey(op.after.ID)
	u.AfterCommit(func() {
		u.s.counts.Changed(etid)
		if w := u.s.recent; w != nil && kind == change.Deleted {
			w.Delete(key)
		} else if w != nil {
			w.Put(key, after.Version, after.clone())
		}
	})
	return u.Emit(op.changeOf(kind))
}

// changeOf is the Change an item operation emits.
func (op *operation) changeOf(kind change.Kind) change.Change {
	c := change.Change{Entity: change.Item, Kind: kind, EntityTypeID: op.t.EntityTypeID, ID: op.after.ID}
	switch kind {
	case change.Added:
		// An unset value is the state before the add: leaving it out keeps the outbox
		// row (written with every add) to what the add set.
		c.After = make(map[string]any, len(op.changed))
		for _, f := range op.changed {
			if v := op.after.values[f.Name]; v != nil {
				c.After[string(f.Name)] = v
			}
		}
	case change.Updated:
		c.Changed = make([]string, len(op.changed))
		c.Before, c.After = make(map[string]any, len(op.changed)), make(map[string]any, len(op.changed))
		for i, f := range op.changed {
			c.Changed[i] = string(f.Name)
			c.Before[string(f.Name)], c.After[string(f.Name)] = op.before.values[f.Name], op.after.values[f.Name]
		}
	}
	if op.t.hasStages() && kind != change.Deleted {
		s := &change.StageMove{To: op.after.StageID(), ToCategory: op.after.CategoryID(),
			Semantics: string(op.t.semanticOf(op.after.CategoryID(), op.after.StageID()))}
		if op.before != nil {
			s.From, s.FromCategory = op.before.StageID(), op.before.CategoryID()
		}
		if s.From != s.To || s.FromCategory != s.ToCategory {
			c.Stage = s
		}
	}
	return c
}

// Stage history row kinds, as crm.stagehistory.list spells TYPE_ID.
const (
	HistoryCreated       = 1
	HistoryMoved         = 2
	HistoryFinal         = 3
	HistoryFunnelChanged = 5
)

// writeStageHistory appends a history row when an item is created in a stage, moves
// to another stage or changes funnel.
func (op *operation) writeStageHistory(kind change.Kind) error {
	if kind == change.Deleted || !op.t.hasStages() {
		return nil
	}
	cat, stage := op.after.CategoryID(), op.after.StageID()
	m := &store.StageMove{
		EntityTypeID: op.t.EntityTypeID, ItemID: op.after.ID, CategoryID: cat, StageID: stage,
		Semantic: string(op.t.semanticOf(cat, stage)), CreatedBy: op.u.actor.UserID, CreatedTime: op.u.now,
	}
	switch {
	case op.before == nil:
		m.TypeID = HistoryCreated
	default:
		oldCat, oldStage := op.before.CategoryID(), op.before.StageID()
		if oldCat == cat && oldStage == stage {
			return nil
		}
		m.FromStageID = oldStage
		switch {
		case oldCat != cat:
			m.TypeID = HistoryFunnelChanged
		case m.Semantic == string(InProgress):
			m.TypeID = HistoryMoved
		default:
			m.TypeID = HistoryFinal
		}
	}
	return op.u.tx.InsertStageMove(op.u.ctx, m)
}

// writeStageCounts keeps the per-stage counters of items and amounts. Deltas are
// applied in a fixed order of (funnel, stage): two opposite moves running at once on
// PostgreSQL then lock the counter rows in the same order and cannot deadlock.
func (op *operation) writeStageCounts(kind change.Kind) error {
	if !op.t.hasStages() {
		return nil
	}
	type slot struct {
		cat   int64
		stage string
	}
	type delta struct {
		items  int64
		amount float64
	}
	deltas := map[slot]delta{}
	move := func(it *Item, sign int64) {
		k := slot{it.CategoryID(), it.StageID()}
		amount, _ := it.get(FieldOpportunity).(float64)
		d := deltas[k]
		d.items += sign
		d.amount += float64(sign) * amount
		deltas[k] = d
	}
	if op.before != nil {
		move(op.before, -1)
	}
	if kind != change.Deleted {
		move(op.after, +1)
	}
	slots := make([]slot, 0, len(deltas))
	for k, d := range deltas {
		if d.items != 0 || d.amount != 0 {
			slots = append(slots, k)
		}
	}
	sort.Slice(slots, func(i, j int) bool {
		if slots[i].cat != slots[j].cat {
			return slots[i].cat < slots[j].cat
		}
		return slots[i].stage < slots[j].stage
	})
	rows := make([]store.StageCountDelta, len(slots))
	for i, k := range slots {
		d := deltas[k]
		rows[i] = store.StageCountDelta{CategoryID: k.cat, StageID: k.stage, Items: d.items, Amount: d.amount}
	}
	return op.u.tx.AddToStageCounts(op.u.ctx, op.t.EntityTypeID, rows)
}
