package crm

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"smartcrm/internal/access"
	"smartcrm/internal/crm/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// The timeline: everything that happened to an item. The write operation records
// system entries in the transaction of each change; comments, log messages, to-dos and
// tasks add theirs. Each entry is bound to the item it is about and to that item's
// parents (parent links, company and contacts), so a deal's timeline shows its
// children's creation and moves. An entry whose item differs from the timeline's owner
// is a child's (or client's) event.

// Timeline entry kinds.
const (
	EntryCreated    = "created"    // the item was created
	EntryChanged    = "changed"    // one field changed: {field, title, old, new}
	EntryMoved      = "moved"      // stage change: {from, to, fromName, toName, semantics, categoryId, fromCategoryId}
	EntryLinked     = "linked"     // the item got a parent: {field, parentEntityTypeId, parentId}
	EntryUnlinked   = "unlinked"   // the item lost a parent
	EntryDeleted    = "deleted"    // the item was deleted (kept on its parents' timelines)
	EntryComment    = "comment"    // crm.timeline.comment.*
	EntryLogMessage = "logmessage" // crm.timeline.logmessage.*
)

// timelineParents are the items whose timelines show an item's events: its parents and
// its client (company and contacts).
func (t *Type) timelineParents(it *Item) []store.TimelineBinding {
	var out []store.TimelineBinding
	for _, f := range t.timelineLinks {
		target := max(f.parentType, f.linkType)
		if !t.Enabled(f) {
			continue
		}
		for _, e := range elements(it.values[f.Name]) {
			if id, ok := e.(int64); ok && id > 0 {
				out = append(out, store.TimelineBinding{EntityTypeID: target, EntityID: id})
			}
		}
	}
	return out
}

// writeTimeline records the system entries of a change.
func (op *operation) writeTimeline(ctx context.Context, tx *store.Tx, topic string) error {
	t := op.t
	it := op.after
	// The item and its parents now (before a deletion: what it had).
	bindings := append([]store.TimelineBinding{{EntityTypeID: t.EntityTypeID, EntityID: it.ID}}, t.timelineParents(it)...)
	entry := func(kind string, data jsonx.Map, extra ...store.TimelineBinding) error {
		b, err := jsonx.Append(nil, data)
		if err != nil {
			return err
		}
		bindings := append(bindings[:len(bindings):len(bindings)], extra...)
		e := &store.TimelineEntry{EntityTypeID: t.EntityTypeID, ItemID: it.ID, Kind: kind, AuthorID: op.actor.UserID,
			CreatedTime: op.now, Data: string(b)}
		return tx.InsertTimelineEntry(ctx, e, bindings)
	}
	title := func() any {
		if f := t.titleField(); f != nil {
			return it.values[f.Name]
		}
		return nil
	}
	switch topic {
	case topicAdd:
		return entry(EntryCreated, jsonx.Map{{K: "title", V: title()}})
	case topicDelete:
		return entry(EntryDeleted, jsonx.Map{{K: "title", V: title()}})
	}
	for _, f := range op.changed {
		before, after := op.before.values[f.Name], it.values[f.Name]
		switch {
		case f.Name == "stageId" || f.Name == "categoryId":
			continue // one moved entry below covers both
		case f.parentType != 0:
			if id, ok := before.(int64); ok {
				old := store.TimelineBinding{EntityTypeID: f.parentType, EntityID: id}
				if err := entry(EntryUnlinked, jsonx.Map{{K: "field", V: f.Name}, {K: "parentEntityTypeId", V: f.parentType}, {K: "parentId", V: id}}, old); err != nil {
					return err
				}
			}
			if id, ok := after.(int64); ok {
				if err := entry(EntryLinked, jsonx.Map{{K: "field", V: f.Name}, {K: "parentEntityTypeId", V: f.parentType}, {K: "parentId", V: id}}); err != nil {
					return err
				}
			}
			continue
		case f.Deprecated || f.untracked:
			continue
		}
		format := func(v any) any {
			if v == nil && !f.Multiple {
				return nil
			}
			return f.Type.Format(v)
		}
		if err := entry(EntryChanged, jsonx.Map{{K: "field", V: f.Name}, {K: "title", V: f.Title},
			{K: "old", V: format(before)}, {K: "new", V: format(after)}}); err != nil {
			return err
		}
	}
	oldCat, oldStage := placement(op.before)
	cat, stage := placement(it)
	if t.hasStages() && (oldCat != cat || oldStage != stage) {
		name := func(c int64, id string) string {
			if st := t.stage(c, id); st != nil {
				return st.Name
			}
			return id
		}
		return entry(EntryMoved, jsonx.Map{
			{K: "from", V: oldStage}, {K: "to", V: stage}, {K: "fromName", V: name(oldCat, oldStage)}, {K: "toName", V: name(cat, stage)},
			{K: "semantics", V: t.semanticOf(cat, stage)}, {K: "categoryId", V: cat}, {K: "fromCategoryId", V: oldCat},
		})
	}
	return nil
}

// TimelineEntryWire is an entry as smartcrm.timeline.list answers it.
func TimelineEntryWire(e *store.TimelineEntry) jsonx.Map {
	var data any = json.RawMessage(e.Data)
	if e.Data == "" {
		data = jsonx.Map{}
	}
	out := jsonx.Map{
		{K: "id", V: e.ID}, {K: "kind", V: e.Kind}, {K: "entityTypeId", V: e.EntityTypeID}, {K: "entityId", V: e.ItemID},
		{K: "authorId", V: e.AuthorID}, {K: "createdTime", V: wireTime(e.CreatedTime)}, {K: "pinned", V: e.Pinned},
		{K: "data", V: data},
	}
	if e.Text != nil {
		out = append(out, jsonx.KV{K: "text", V: *e.Text})
	}
	return out
}

// Timeline is a page of an item's timeline.
type Timeline struct {
	Pinned  []*store.TimelineEntry // on the first page only
	Entries []*store.TimelineEntry
	Next    int64 // the cursor of the next page; 0 when this is the last
}

// TimelinePageSize is how many entries a timeline page holds.
const TimelinePageSize = 50

// ReadTimeline reads an item's timeline newest first, system entries included, paged by
// keyset: before is the cursor a previous page returned (0 for the newest). Entries of
// a deleted item stay readable on its parents.
func (s *Service) ReadTimeline(ctx context.Context, etid, id, before int64) (*Timeline, error) {
	if _, err := s.itemType(ctx, etid); err != nil {
		return nil, err
	}
	if before == 0 {
		if ok, err := s.itemExists(ctx, etid, id); err != nil || !ok {
			if err == nil {
				err = newErr(ErrItemNotFound, "Item not found")
			}
			return nil, err
		}
	}
	b := store.TimelineBinding{EntityTypeID: etid, EntityID: id}
	entries, err := s.st.TimelinePage(ctx, b, before, TimelinePageSize, false)
	if err != nil {
		return nil, err
	}
	out := &Timeline{Entries: entries}
	if len(entries) == TimelinePageSize {
		out.Next = entries[len(entries)-1].ID
	}
	if before == 0 {
		if out.Pinned, err = s.st.TimelinePage(ctx, b, 0, maxPinned, true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Owner names the item a timeline call is about.
type Owner struct{ EntityTypeID, ID int64 }

// ParseEntityType reads ENTITY_TYPE of the timeline methods: lead, deal, contact,
// company or dynamic_{N}, in any letter case.
func ParseEntityType(s string) (int64, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, o := range StandardOwnerTypes {
		if o.Code == s {
			return o.ID, true
		}
	}
	if n, ok := strings.CutPrefix(s, "DYNAMIC_"); ok {
		if etid, err := strconv.ParseInt(n, 10, 64); err == nil && ValidEntityTypeID(etid) {
			return etid, true
		}
	}
	return 0, false
}

// EntityTypeName is ENTITY_TYPE as the timeline methods answer it: lowercase.
func EntityTypeName(etid int64) string {
	for _, o := range StandardOwnerTypes {
		if o.ID == etid {
			return strings.ToLower(o.Code)
		}
	}
	return fmt.Sprintf("dynamic_%d", etid)
}

// checkOwner refuses a timeline call about an item that does not exist (Bitrix24 takes
// it and leaves an orphan).
func (s *Service) checkOwner(ctx context.Context, o Owner) error {
	if _, err := s.itemType(ctx, o.EntityTypeID); err != nil {
		return newErr(ErrOwnerNotFound, "Owner entity type %d is not supported", o.EntityTypeID)
	}
	ok, err := s.itemExists(ctx, o.EntityTypeID, o.ID)
	if err != nil {
		return err
	}
	if !ok {
		return newErr(ErrOwnerNotFound, "The item %s %d does not exist", EntityTypeName(o.EntityTypeID), o.ID)
	}
	return nil
}

// saveAttachments reads comment attachments ([name, base64] pairs) and writes their
// bytes, before the transaction that records them.
func (s *Service) saveAttachments(list []any) ([]*field.FileInput, error) {
	var out []*field.FileInput
	for _, raw := range list {
		v, err := field.File{}.Parse(raw)
		in, ok := v.(*field.FileInput)
		if err != nil || !ok || in.Data == nil {
			msg := `an attachment is sent as ["name.ext", "<base64>"]`
			if err != nil {
				msg = err.Error()
			}
			return nil, newErr(ErrInvalidArg, "Invalid attachment: %s", msg)
		}
		if s.Files == nil {
			return nil, fmt.Errorf("file storage is not configured")
		}
		hash, err := s.Files.Save(in.Data)
		if err != nil {
			return nil, err
		}
		in.Hash, in.Size, in.Data = hash, int64(len(in.Data)), nil
		out = append(out, in)
	}
	return out, nil
}

// recordAttachments records saved attachments of a comment about o.
func recordAttachments(ctx context.Context, tx *store.Tx, o Owner, files []*field.FileInput) ([]int64, error) {
	ids := []int64{}
	for _, in := range files {
		rec := &store.FileRecord{EntityTypeID: o.EntityTypeID, ItemID: o.ID, FieldName: "TIMELINE_COMMENT", Name: in.Name, SHA256: in.Hash, Size: in.Size}
		if err := tx.InsertFile(ctx, rec); err != nil {
			return nil, err
		}
		ids = append(ids, rec.ID)
	}
	return ids, nil
}

// RecordEntry writes a timeline entry about item o inside tx, bound to o and to the
// items whose timelines show o's events (its parents and client). Modules with rows of
// their own (to-dos, tasks) record their events with it, in their own transaction.
func (s *Service) RecordEntry(ctx context.Context, tx *store.Tx, actor access.Actor, kind string, o Owner, data jsonx.Map, text *string) (int64, error) {
	t, err := s.itemType(ctx, o.EntityTypeID)
	if err != nil {
		return 0, err
	}
	fs := t.storedFields()
	row, err := tx.GetItem(ctx, o.EntityTypeID, readColumns(fs), o.ID)
	if isNotFound(err) {
		return 0, newErr(ErrOwnerNotFound, "The item %s %d does not exist", EntityTypeName(o.EntityTypeID), o.ID)
	}
	if err != nil {
		return 0, err
	}
	it := itemFromRow(fs, row)
	b, err := jsonx.Append(nil, data)
	if err != nil {
		return 0, err
	}
	bindings := append([]store.TimelineBinding{{EntityTypeID: o.EntityTypeID, EntityID: o.ID}}, t.timelineParents(it)...)
	e := &store.TimelineEntry{EntityTypeID: o.EntityTypeID, ItemID: o.ID, Kind: kind, AuthorID: actor.UserID,
		CreatedTime: s.Now(), Data: string(b), Text: text}
	if err := tx.InsertTimelineEntry(ctx, e, bindings); err != nil {
		return 0, err
	}
	return e.ID, nil
}

// OutboxEvent records an event {"ID": id} about item o in tx, for delivery after commit.
func OutboxEvent(ctx context.Context, tx *store.Tx, topic string, o Owner, id int64) error {
	return outboxEvent(ctx, tx, topic, o, id)
}
