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
	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// This file is the one write path (DESIGN.md): every change to an item — from REST, the
// UI, a robot or an import — goes through AddItem, UpdateItem or DeleteItem, which
//
//  1. load the current item with its version (update, delete),
//  2. check access,
//  3. apply field attributes and per-field logic (defaults, read-only, cannot be
//     emptied, stage belongs to the funnel, moved-by/moved-time, title default),
//  4. validate values and required fields,
//  5. write in one transaction the item row (optimistic version check) and the outbox
//     rows that automation and outbound events read after commit.
//
// Later parts (stage history, timeline) add their rows in step 5 through the same
// operation value, never beside it.

// Operation kinds, as written to the outbox.
const (
	topicAdd    = "item.add"
	topicUpdate = "item.update"
	topicDelete = "item.delete"
)

// parentKeyPattern matches parent link keys (parentId2, PARENT_ID_1032): one for a type
// that is not a parent is refused, not ignored like other unknown keys, since the
// client clearly meant a link.
var parentKeyPattern = regexp.MustCompile(`^(?i:parentId|PARENT_ID_)[0-9]+$`)

// maxConflictRetries bounds how often an update is redone when a concurrent writer
// changed the item between our read and our write.
const maxConflictRetries = 5

// operation carries one change through its steps.
type operation struct {
	s       *Service
	actor   access.Actor
	t       *Type
	before  *Item // nil on add
	after   *Item
	changed []*Field // fields whose value changed (add: every field set)
	now     time.Time
}

// AddItem creates an item from wire fields.
func (s *Service) AddItem(ctx context.Context, actor access.Actor, etid int64, in *params.Object) (*Type, *Item, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, nil, err
	}
	op := &operation{s: s, actor: actor, t: t, after: newItem(), now: s.Now()}
	patch, err := op.readInput(in, true)
	if err != nil {
		return nil, nil, err
	}
	if err := op.checkReferences(ctx, patch); err != nil {
		return nil, nil, err
	}
	if err := op.saveUploads(patch); err != nil {
		return nil, nil, err
	}
	op.applyDefaults(patch)
	if err := op.applyLogic(patch); err != nil {
		return nil, nil, err
	}
	if err := op.validate(); err != nil {
		return nil, nil, err
	}
	if err := op.checkStageRequirements(); err != nil {
		return nil, nil, err
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		resolved, newFiles, err := op.resolveFiles(ctx, tx, patch, 0)
		if err != nil {
			return err
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
		id, err := tx.InsertItem(ctx, t.EntityTypeID, cols, vals)
		if err != nil {
			return err
		}
		op.after.ID, op.after.Version = id, 1
		if err := tx.SetFileItem(ctx, newFiles, id); err != nil {
			return err
		}
		if f := t.titleField(); f != nil && op.after.values[f.Name] == nil {
			// The default title needs the id; set it in the same transaction.
			title := op.defaultTitle()
			if err := tx.UpdateItem(ctx, t.EntityTypeID, id, 1, []store.Column{f.storageColumn()}, []any{title}); err != nil {
				return err
			}
			op.after.values[f.Name], op.after.Version = title, 2
		}
		return op.writeDerived(ctx, tx, topicAdd)
	})
	if err != nil {
		return nil, nil, err
	}
	s.counts.changed(t.EntityTypeID)
	return t, op.after, nil
}

// UpdateItem changes the given fields of an item. A change to nothing writes nothing.
func (s *Service) UpdateItem(ctx context.Context, actor access.Actor, etid, id int64, in *params.Object) (*Type, *Item, error) {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return nil, nil, err
	}
	// Reading the input needs no stored state: do it before the transaction, which on
	// SQLite runs in the single writer that every change waits for.
	pre := &operation{s: s, t: t}
	patch, err := pre.readInput(in, false)
	if err != nil {
		return nil, nil, err
	}
	if err := pre.checkReferences(ctx, patch); err != nil {
		return nil, nil, err
	}
	if err := pre.saveUploads(patch); err != nil {
		return nil, nil, err
	}
	for attempt := 0; ; attempt++ {
		op := &operation{s: s, actor: actor, t: t, now: s.Now()}
		err = s.st.InTx(ctx, func(tx *store.Tx) error { return op.update(ctx, tx, id, patch) })
		if errors.Is(err, store.ErrConflict) {
			if attempt < maxConflictRetries {
				continue // someone changed the item meanwhile: apply the patch to the new state
			}
			return nil, nil, newErr(ErrConflict, "The item is being changed by others at the same time; try again")
		}
		if err != nil {
			return nil, nil, err
		}
		if len(op.changed) > 0 {
			s.counts.changed(t.EntityTypeID)
		}
		return t, op.after, nil
	}
}

// update applies a parsed patch to item id inside tx: the update steps of the write
// path, also used where another change implies this one (unlinking children).
func (op *operation) update(ctx context.Context, tx *store.Tx, id int64, patch map[*Field]any) error {
	if err := op.load(ctx, tx, id); err != nil {
		return err
	}
	resolved, _, err := op.resolveFiles(ctx, tx, patch, id)
	if err != nil {
		return err
	}
	op.after = op.before.clone()
	if err := op.applyLogic(resolved); err != nil {
		return err
	}
	if len(op.changed) == 0 {
		return nil // nothing changed: nothing is written, nothing fires
	}
	if err := op.validate(); err != nil {
		return err
	}
	if err := op.checkStageRequirements(); err != nil {
		return err
	}
	op.after.values["updatedBy"] = op.actor.UserID
	op.after.values["updatedTime"] = op.now
	cols, vals := op.changedColumns()
	if err := tx.UpdateItem(ctx, op.t.EntityTypeID, id, op.before.Version, cols, vals); err != nil {
		return err
	}
	op.after.Version = op.before.Version + 1
	return op.writeDerived(ctx, tx, topicUpdate)
}

// unlinkChildren clears the links of a deleted item's children, each through the update
// steps, in the deletion's transaction: the children stay, with a history of the change.
// It returns the child types it changed.
func (s *Service) unlinkChildren(ctx context.Context, tx *store.Tx, actor access.Actor, t *Type, id int64) ([]int64, error) {
	children, err := s.childTypes(ctx, tx, t.EntityTypeID)
	if err != nil {
		return nil, err
	}
	var touched []int64
	for _, ct := range children {
		link, ok := ct.FieldByName(fmt.Sprintf("parentId%d", t.EntityTypeID))
		if !ok {
			continue
		}
		ids, err := tx.ChildIDs(ctx, ct.EntityTypeID, t.EntityTypeID, id)
		if err != nil {
			return nil, err
		}
		for _, cid := range ids {
			op := &operation{s: s, actor: actor, t: ct, now: s.Now()}
			if err := op.update(ctx, tx, cid, map[*Field]any{link: nil}); err != nil {
				return nil, err
			}
		}
		if len(ids) > 0 {
			touched = append(touched, ct.EntityTypeID)
		}
	}
	clients, err := s.unlinkClients(ctx, tx, actor, t.EntityTypeID, id)
	return append(touched, clients...), err
}

// unlinkClients removes a deleted lead, contact or company from the client links that
// name it (companyId, contactIds, mycompanyId, leadId…) of every type, through the
// update steps.
func (s *Service) unlinkClients(ctx context.Context, tx *store.Tx, actor access.Actor, etid, id int64) ([]int64, error) {
	if standardTypeDefs[etid] == nil {
		return nil, nil
	}
	types, err := s.allItemTypes(ctx)
	if err != nil {
		return nil, err
	}
	var touched []int64
	for _, rt := range types {
		changed := false
		for _, f := range rt.fields {
			if f.linkType != etid || f.Column == "" || !rt.Enabled(f) {
				continue
			}
			cond := query.Cond{Field: rt.queryField(f), Op: field.OpEq, Value: id}
			if f.Multiple {
				cond.Op, cond.Value = field.OpContainsAny, []any{id}
			}
			idCol := []store.Column{{Name: "id", Storage: field.StorageInt}}
			rows, err := tx.ListItems(ctx, rt.EntityTypeID, idCol, query.Group{Items: []query.Expr{cond}}, nil, store.Page{})
			if err != nil {
				return nil, err
			}
			for _, row := range rows {
				op := &operation{s: s, actor: actor, t: rt, now: s.Now()}
				cid, _ := row[0].(int64)
				if err := op.update(ctx, tx, cid, map[*Field]any{f: withoutLink(f, id)}); err != nil {
					return nil, err
				}
				changed = true
			}
		}
		if changed {
			touched = append(touched, rt.EntityTypeID)
		}
	}
	return touched, nil
}

// withoutLink is the patch value that drops link id from field f: nil for a single
// link; for a list, a removal that applyLogic resolves against the stored list.
func withoutLink(f *Field, id int64) any {
	if !f.Multiple {
		return nil
	}
	return linkRemoval{id: id}
}

// linkRemoval is a patch value meaning "this list without id"; applyLogic resolves it
// against the stored list.
type linkRemoval struct{ id int64 }

// allItemTypes lists every type with items: the standard ones and every smart process.
func (s *Service) allItemTypes(ctx context.Context) ([]*Type, error) {
	spas, err := s.AllTypes(ctx)
	if err != nil {
		return nil, err
	}
	ids := standardTypeIDs()
	for _, t := range spas {
		ids = append(ids, t.EntityTypeID)
	}
	out := make([]*Type, 0, len(ids))
	for _, etid := range ids {
		t, err := s.typeByEntityTypeID(ctx, etid)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// DeleteItem removes an item.
func (s *Service) DeleteItem(ctx context.Context, actor access.Actor, etid, id int64) error {
	t, err := s.itemType(ctx, etid)
	if err != nil {
		return err
	}
	var touched []int64
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		op := &operation{s: s, actor: actor, t: t, now: s.Now()}
		if err := op.load(ctx, tx, id); err != nil {
			return err
		}
		var err error
		if touched, err = s.unlinkChildren(ctx, tx, actor, t, id); err != nil {
			return err
		}
		if err := tx.DeleteItem(ctx, t.EntityTypeID, id); err != nil {
			return err
		}
		if err := tx.DeleteItemFiles(ctx, t.EntityTypeID, id); err != nil {
			return err
		}
		if err := s.dropItemActivities(ctx, tx, actor, Owner{t.EntityTypeID, id}); err != nil {
			return err
		}
		op.after = op.before
		return op.writeDerived(ctx, tx, topicDelete)
	})
	if err == nil {
		s.counts.changed(t.EntityTypeID)
		for _, c := range touched {
			s.counts.changed(c)
		}
	}
	return err
}

// itemType resolves the type of an item call; entity types that are not smart
// processes get the errors Bitrix24 gives for them.
func (s *Service) itemType(ctx context.Context, etid int64) (*Type, error) {
	if etid == 5 {
		return nil, newErr(ErrNotSupported, "Entity type `INVOICE` is not supported")
	}
	return s.typeByEntityTypeID(ctx, etid)
}

func (op *operation) load(ctx context.Context, tx *store.Tx, id int64) error {
	fs := op.t.storedFields()
	row, err := tx.GetItemForUpdate(ctx, op.t.EntityTypeID, readColumns(fs), id)
	if errors.Is(err, store.ErrNotFound) {
		return newErr(ErrItemNotFound, "Item not found")
	}
	if err != nil {
		return err
	}
	op.before = itemFromRow(fs, row)
	return nil
}

// readInput parses wire fields into canonical values, keyed by field. Unknown keys,
// read-only fields, switched-off fields and (on update) immutable ones are ignored.
func (op *operation) readInput(in *params.Object, adding bool) (map[*Field]any, error) {
	patch := map[*Field]any{}
	for _, key := range in.Keys() {
		f, ok := op.t.FieldByName(key)
		if !ok && parentKeyPattern.MatchString(key) {
			return nil, &Error{Kind: ErrInvalidValue, Field: key,
				Msg: fmt.Sprintf("Invalid value for field %q: that type is not a parent of %q (see the type's relations)", key, op.t.Title)}
		}
		if !ok || f.ReadOnly || f.Column == "" || !op.t.Enabled(f) || (!adding && f.Immutable) {
			continue
		}
		raw, _ := in.Get(key)
		v, err := f.Type.Parse(raw)
		if errors.Is(err, field.ErrNotIterable) {
			return nil, &Error{Kind: ErrNotIterable, Field: f.Name,
				Msg: fmt.Sprintf("Expected iterable value for multiple field, but got %s instead", phpType(raw))}
		}
		if err != nil {
			return nil, invalidValue(f, err)
		}
		patch[f] = v
	}
	return patch, nil
}

func invalidValue(f *Field, cause error) error {
	msg := fmt.Sprintf("Invalid value for field \"%s\"", f.Title)
	if cause != nil {
		var detail string
		if errors.Is(cause, field.ErrInvalid) {
			detail = cause.Error()[len(field.ErrInvalid.Error())+2:]
		} else {
			detail = cause.Error()
		}
		if detail != "" {
			msg += ": " + detail
		}
	}
	return &Error{Kind: ErrInvalidValue, Field: f.Name, Msg: msg}
}

// phpType names a wire value's type the way Bitrix24's message does.
func phpType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "integer"
	case bool:
		return "boolean"
	}
	return "scalar"
}

// applyDefaults fills what an add leaves empty (spec §4.2).
func (op *operation) applyDefaults(patch map[*Field]any) {
	v := op.after.values
	uid := op.actor.UserID
	v["createdBy"], v["updatedBy"], v["movedBy"] = uid, uid, uid
	v["createdTime"], v["updatedTime"], v["movedTime"] = op.now, op.now, op.now
	v["lastActivityBy"], v["lastActivityTime"] = uid, op.now
	v["opened"] = "Y"
	v["assignedById"] = uid
	v["previousStageId"] = ""
	if op.t.Flag("isBeginCloseDatesEnabled") {
		today := time.Date(op.now.Year(), op.now.Month(), op.now.Day(), 0, 0, 0, 0, time.Local)
		v["begindate"], v["closedate"] = today, today.AddDate(0, 0, 7)
	}
	if op.t.Flag("isLinkWithProductsEnabled") {
		v["opportunity"], v["taxValue"] = 0.0, 0.0
		v["isManualOpportunity"] = "N"
		v["currencyId"] = op.s.DefaultCurrency
	}
	v["observers"], v["contactIds"] = []int64{}, []int64{}
	for _, f := range op.t.fields {
		if _, given := patch[f]; !given && f.defaultValue != nil {
			v[f.Name] = f.defaultValue(op.now)
		}
	}
	for f, val := range patch {
		if val == nil && f.NotEmptied {
			continue // keep the default
		}
		v[f.Name] = val
	}
}

// applyLogic merges a patch into op.after and applies per-field rules: values that
// cannot be emptied, the funnel and stage rules, moved-by/moved-time. It records which
// fields changed.
func (op *operation) applyLogic(patch map[*Field]any) error {
	t, after := op.t, op.after
	adding := op.before == nil
	if !adding {
		for f, val := range patch {
			if r, ok := val.(linkRemoval); ok {
				var kept []int64
				for _, e := range elements(op.before.values[f.Name]) {
					if e != r.id {
						kept = append(kept, e.(int64))
					}
				}
				val = append([]int64{}, kept...)
			}
			if val == nil && f.NotEmptied {
				if f.Name == "title" {
					val = op.defaultTitle()
				} else {
					continue
				}
			}
			after.values[f.Name] = val
		}
	}

	op.primaryLinks(patch)
	if err := op.mergeMultifields(patch); err != nil {
		return err
	}
	if t.hasStages() {
		if err := op.placeInFunnel(patch); err != nil {
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
	if op.before.values["stageId"] != after.values["stageId"] && t.hasStages() {
		after.values["previousStageId"] = op.before.values["stageId"]
		after.values["movedBy"] = op.actor.UserID
		after.values["movedTime"] = op.now
	}
	return nil
}

// placeInFunnel applies the funnel and stage rules: the funnel must exist and defaults
// to the type's default one; the stage must belong to the funnel.
func (op *operation) placeInFunnel(patch map[*Field]any) error {
	t, after := op.t, op.after
	adding := op.before == nil
	catID, _ := after.values["categoryId"].(int64)
	cat := t.category(catID)
	if catID == 0 {
		cat = t.defaultCategory()
	}
	if cat == nil {
		return invalidValue(t.fieldIndex["categoryid"], fmt.Errorf("pipeline %d does not exist", catID))
	}
	after.values["categoryId"] = cat.ID

	// Stage: must belong to the funnel. When the funnel changes without a stage, the
	// item goes to the first stage of the new funnel with the same semantics as its
	// current stage (or the first stage when there is none).
	stageID, _ := after.values["stageId"].(string)
	_, stageGiven := patch[t.fieldIndex["stageid"]]
	if !adding && !stageGiven && cat.ID != op.before.values["categoryId"] {
		stageID = ""
		oldCat, _ := op.before.values["categoryId"].(int64)
		oldStage, _ := op.before.values["stageId"].(string)
		if cur := t.stage(oldCat, oldStage); cur != nil {
			for _, s := range t.stagesOf(cat.ID) {
				if s.Semantics == cur.Semantics {
					stageID = s.StatusID
					break
				}
			}
		}
	}
	if stageID == "" {
		if stages := t.stagesOf(cat.ID); len(stages) > 0 {
			stageID = stages[0].StatusID
		}
	} else if t.stage(cat.ID, stageID) == nil {
		return invalidValue(t.fieldIndex["stageid"], fmt.Errorf("stage %q does not belong to pipeline %d", stageID, cat.ID))
	}
	after.values["stageId"] = stageID
	return nil
}

// primaryLinks handles the deprecated single links (contactId, a contact's companyId)
// sent without their lists, as legacy clients do: the single one becomes the first of
// the list, and clearing it drops the first. derive then keeps the pair in step.
func (op *operation) primaryLinks(patch map[*Field]any) {
	for _, pair := range [][2]string{{"contactid", "contactids"}, {"companyid", "companyids"}} {
		single, list := op.t.fieldIndex[pair[0]], op.t.fieldIndex[pair[1]]
		if single == nil || list == nil {
			continue
		}
		v, givenSingle := patch[single]
		if _, givenList := patch[list]; !givenSingle || givenList {
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
func (op *operation) mergeMultifields(patch map[*Field]any) error {
	for f, v := range patch {
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
	has := func(lower string) bool { return t.fieldIndex[lower] != nil }
	if t.hasStages() {
		cat, stage := placement(op.after)
		sem := t.semanticOf(cat, stage)
		if has("stagesemanticid") {
			v["stageSemanticId"] = sem
		}
		if has("closed") {
			v["closed"] = yn(sem != "P")
		}
		if has("isnew") {
			stages := t.stagesOf(cat)
			v["isNew"] = yn(len(stages) > 0 && stages[0].StatusID == stage)
		}
	}
	if has("hasphone") {
		fm, _ := v["fm"].([]field.MultiValue)
		kinds := map[string]bool{}
		for _, e := range fm {
			kinds[e.TypeID] = true
			if e.TypeID == "IM" && e.ValueType == "IMOL" {
				kinds["IMOL"] = true
			}
		}
		v["hasPhone"], v["hasEmail"], v["hasImol"] = yn(kinds["PHONE"]), yn(kinds["EMAIL"]), yn(kinds["IMOL"])
	}
	if has("fullname") {
		var parts []string
		for _, n := range []string{"name", "secondName", "lastName"} {
			if s, _ := v[n].(string); s != "" {
				parts = append(parts, s)
			}
		}
		switch full := strings.Join(parts, " "); {
		case full != "":
			v["fullName"] = full
		case op.after.ID != 0:
			v["fullName"] = op.defaultTitle()
		default:
			v["fullName"] = nil // an add: the default needs the id (AddItem)
		}
	}
	if has("contactids") && has("contactid") {
		ids, _ := v["contactIds"].([]int64)
		if len(ids) > 0 {
			v["contactId"] = ids[0]
		} else {
			v["contactId"] = nil
		}
	}
	if has("companyids") && has("companyid") {
		ids, _ := v["companyIds"].([]int64)
		if len(ids) > 0 {
			v["companyId"] = ids[0]
		} else {
			v["companyId"] = nil
		}
	}
}

func (op *operation) defaultTitle() string {
	return fmt.Sprintf("%s #%d", op.t.Title, op.after.ID)
}

// validate checks required fields: all of them on add; on update the ones the update
// changes, so making a field mandatory does not block every edit of older items.
func (op *operation) validate() error {
	fields := op.t.fields
	if op.before != nil {
		fields = op.changed
	}
	for _, f := range fields {
		if f.Required && op.t.Enabled(f) && isEmptyRequired(op.after.values[f.Name]) && f.Column != "" {
			return &Error{Kind: ErrRequired, Field: f.Name, Msg: fmt.Sprintf("The \"%s\" field is required", f.Title)}
		}
	}
	return nil
}

// checkReferences refuses values that point at nothing: users who do not exist or are
// inactive, CRM items that do not exist, directory codes the directory lacks. It looks at
// the client's values only, before any transaction: what the system sets exists.
func (op *operation) checkReferences(ctx context.Context, patch map[*Field]any) error {
	for f, v := range patch {
		for _, e := range elements(v) {
			if err := op.checkReference(ctx, f, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// elements lists a value's parts: the value itself, or the elements of a list.
func elements(v any) []any {
	switch l := v.(type) {
	case nil:
		return nil
	case []any:
		return l
	case []int64:
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out
	}
	return []any{v}
}

func (op *operation) checkReference(ctx context.Context, f *Field, v any) error {
	if f.parentType != 0 || f.linkType != 0 {
		id, _ := v.(int64)
		target := max(f.parentType, f.linkType)
		ok, err := op.s.itemExists(ctx, target, id)
		if err != nil {
			return err
		}
		if !ok {
			what := "parent item"
			if name, known := standardTitle(target); known && f.parentType == 0 {
				what = strings.ToLower(name)
			}
			return invalidValue(f, fmt.Errorf("the %s %d does not exist", what, id))
		}
		return nil
	}
	typ := f.Type
	if m, ok := typ.(field.Multiple); ok {
		typ = m.Elem
	}
	switch t := typ.(type) {
	case field.CRMBinding:
		etid, id := t.Target(v.(string))
		if ok, err := op.s.itemExists(ctx, etid, id); err != nil || !ok {
			if err == nil {
				err = invalidValue(f, fmt.Errorf("%s: no such item", v))
			}
			return err
		}
		return nil
	}
	switch typ.Name() {
	case "user", "employee":
		id, _ := v.(int64)
		ok, err := op.s.users.exists(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return invalidValue(f, fmt.Errorf("user %d does not exist", id))
		}
	case "crm_status":
		if f.user == nil {
			return nil // system stage fields are checked against their funnel
		}
		var settings map[string]any
		_ = json.Unmarshal([]byte(f.user.Settings), &settings)
		dir, _ := settings["ENTITY_TYPE"].(string)
		stages, err := op.s.DirectoryItems(ctx, dir)
		if err != nil {
			return invalidValue(f, fmt.Errorf("directory %s does not exist", dir))
		}
		for _, st := range stages {
			if st.StatusID == v {
				return nil
			}
		}
		return invalidValue(f, fmt.Errorf("%v is not a code of %s", v, dir))
	}
	return nil
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
// history, the per-stage counters, the timeline entries and the outbox row.
func (op *operation) writeDerived(ctx context.Context, tx *store.Tx, topic string) error {
	if err := op.writeStageHistory(ctx, tx, topic); err != nil {
		return err
	}
	if err := op.writeStageCounts(ctx, tx, topic); err != nil {
		return err
	}
	if err := op.writeTimeline(ctx, tx, topic); err != nil {
		return err
	}
	payload := jsonx.Map{{K: "ID", V: op.after.ID}, {K: "ENTITY_TYPE_ID", V: op.t.EntityTypeID}, {K: "USER_ID", V: op.actor.UserID}}
	if topic == topicUpdate {
		names := make([]any, len(op.changed))
		for i, f := range op.changed {
			names[i] = f.Name
		}
		payload = append(payload, jsonx.KV{K: "CHANGED", V: names})
	}
	b, err := jsonx.Append(nil, payload)
	if err != nil {
		return err
	}
	return tx.InsertOutbox(ctx, topic, op.t.EntityTypeID, op.after.ID, string(b))
}

// Stage history row kinds, as crm.stagehistory.list spells TYPE_ID.
const (
	historyCreated       = 1
	historyMoved         = 2
	historyFinal         = 3
	historyFunnelChanged = 5
)

// placement is where an item sits: funnel and stage.
func placement(it *Item) (int64, string) {
	cat, _ := it.values["categoryId"].(int64)
	stage, _ := it.values["stageId"].(string)
	return cat, stage
}

// semanticOf spells a stage's semantics as P, S or F.
func (t *Type) semanticOf(cat int64, stageID string) string {
	if st := t.stage(cat, stageID); st != nil && st.Semantics != "" {
		return st.Semantics
	}
	return "P"
}

// writeStageHistory appends a history row when an item is created in a stage, moves
// to another stage or changes funnel.
func (op *operation) writeStageHistory(ctx context.Context, tx *store.Tx, topic string) error {
	if topic == topicDelete || !op.t.hasStages() {
		return nil
	}
	cat, stage := placement(op.after)
	m := &store.StageMove{
		EntityTypeID: op.t.EntityTypeID, ItemID: op.after.ID, CategoryID: cat, StageID: stage,
		Semantic: op.t.semanticOf(cat, stage), CreatedBy: op.actor.UserID, CreatedTime: op.now,
	}
	switch {
	case op.before == nil:
		m.TypeID = historyCreated
	default:
		oldCat, oldStage := placement(op.before)
		if oldCat == cat && oldStage == stage {
			return nil
		}
		m.FromStageID = oldStage
		switch {
		case oldCat != cat:
			m.TypeID = historyFunnelChanged
		case m.Semantic == "P":
			m.TypeID = historyMoved
		default:
			m.TypeID = historyFinal
		}
	}
	return tx.InsertStageMove(ctx, m)
}

// writeStageCounts keeps the per-stage counters of items and amounts. Deltas are
// applied in a fixed order of (funnel, stage): two opposite moves running at once on
// PostgreSQL then lock the counter rows in the same order and cannot deadlock.
func (op *operation) writeStageCounts(ctx context.Context, tx *store.Tx, topic string) error {
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
	amount := func(it *Item) float64 {
		f, _ := it.values["opportunity"].(float64)
		return f
	}
	deltas := map[slot]delta{}
	move := func(it *Item, sign int64) {
		cat, stage := placement(it)
		d := deltas[slot{cat, stage}]
		d.items += sign
		d.amount += float64(sign) * amount(it)
		deltas[slot{cat, stage}] = d
	}
	if op.before != nil {
		move(op.before, -1)
	}
	if topic != topicDelete {
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
	return tx.AddToStageCounts(ctx, op.t.EntityTypeID, rows)
}

// isEmptyRequired: a required field holds nothing (nil, an empty text or list).
func isEmptyRequired(v any) bool {
	s, isText := v.(string)
	return isEmptyList(v) || isText && s == ""
}
