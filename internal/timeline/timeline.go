// Package timeline is everything that happened to an item: the system entries the
// write path records for each change (created, changed, moved, linked, deleted),
// comments, applications' log messages, notes and pins, and the entries of to-dos and
// tasks. Each entry is bound to the item it is about and to that item's parents (parent
// links, company and contacts), so a deal's timeline shows its children's creation and
// moves. An entry whose item differs from the timeline's owner is a child's (or
// client's) event.
//
// The package sits beside crm: crm's write path calls it through crm.ItemListener, and
// it reads items and types through crm.
package timeline

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// Entry kinds.
const (
	KindCreated    = "created"    // the item was created: {title}
	KindChanged    = "changed"    // one field changed: {field, title, old, new}
	KindMoved      = "moved"      // stage change: {from, to, fromName, toName, semantics, categoryId, fromCategoryId}
	KindLinked     = "linked"     // the item got a parent: {field, parentEntityTypeId, parentId}
	KindUnlinked   = "unlinked"   // the item lost a parent
	KindDeleted    = "deleted"    // the item was deleted (kept on its parents' timelines)
	KindComment    = "comment"    // a person's comment
	KindLogMessage = "logmessage" // an application's message
	KindAutomation = "automation" // a robot's run ended, or automation stopped a loop: {event, runId, robotId, status, error}
)

// Entry is one entry of a timeline.
type Entry struct {
	ID           int64
	EntityTypeID int64 // the item the entry is about
	ItemID       int64
	Kind         string
	AuthorID     int64
	CreatedTime  time.Time
	// Data holds the kind's details, a JSON object.
	Data json.RawMessage
	// Text is a comment's or a log message's text.
	Text  *string
	Files []int64 // a comment's attachments
	// Pinned is set when the entry is pinned in the timeline it was read from.
	Pinned bool
}

// Owner is the item an entry belongs to.
func (e *Entry) Owner() crm.Owner { return crm.Owner{EntityTypeID: e.EntityTypeID, ID: e.ItemID} }

func entryFromRecord(r *store.TimelineEntry) *Entry {
	e := &Entry{ID: r.ID, EntityTypeID: r.EntityTypeID, ItemID: r.ItemID, Kind: r.Kind, AuthorID: r.AuthorID,
		CreatedTime: r.CreatedTime, Text: r.Text, Pinned: r.Pinned, Data: json.RawMessage(r.Data)}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage("{}")
	}
	_ = json.Unmarshal([]byte(r.Files), &e.Files)
	return e
}

func (e *Entry) record() *store.TimelineEntry {
	files, _ := json.Marshal(e.Files)
	if e.Files == nil {
		files = []byte("[]")
	}
	return &store.TimelineEntry{ID: e.ID, EntityTypeID: e.EntityTypeID, ItemID: e.ItemID, Kind: e.Kind, AuthorID: e.AuthorID,
		CreatedTime: e.CreatedTime, Data: string(e.Data), Text: e.Text, Files: string(files)}
}

// Service keeps timelines.
type Service struct {
	crm *crm.Service
	st  *store.Store
}

// New returns the timeline service and registers it with crm's write path, which then
// records its system entries in the transaction of every item change.
func New(crmSvc *crm.Service) *Service {
	s := &Service{crm: crmSvc, st: crmSvc.Store()}
	crmSvc.Listen(s)
	return s
}

func binding(o crm.Owner) store.TimelineBinding {
	return store.TimelineBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}
}

// parentsOf are the items whose timelines show an item's events: its parents and its
// client (company and contacts).
func parentsOf(t *crm.Type, it *crm.Item) []store.TimelineBinding {
	var out []store.TimelineBinding
	for _, f := range t.Fields() {
		if f.Column == "" || f.Deprecated || !t.Enabled(f) {
			continue
		}
		if f.ParentType == 0 && f.Name != crm.FieldCompanyID && f.Name != crm.FieldContactIDs {
			continue
		}
		target := max(f.ParentType, f.LinkType)
		for _, id := range ids(it.Get(f.Name)) {
			out = append(out, store.TimelineBinding{EntityTypeID: target, EntityID: id})
		}
	}
	return out
}

// ids lists the ids a link value holds.
func ids(v any) []int64 {
	switch x := v.(type) {
	case int64:
		if x > 0 {
			return []int64{x}
		}
	case []int64:
		return x
	}
	return nil
}

// ItemChanged implements crm.ItemListener: the system entries of an item change.
func (s *Service) ItemChanged(u *crm.Unit, ev *crm.ItemEvent) error {
	t, it := ev.Type, ev.After
	// The item and its parents now (before a deletion: what it had).
	bindings := append([]store.TimelineBinding{{EntityTypeID: t.EntityTypeID, EntityID: it.ID}}, parentsOf(t, it)...)
	entry := func(kind string, data jsonx.Map, extra ...store.TimelineBinding) error {
		b, err := jsonx.Append(nil, data)
		if err != nil {
			return err
		}
		e := &store.TimelineEntry{EntityTypeID: t.EntityTypeID, ItemID: it.ID, Kind: kind, AuthorID: u.Actor().UserID,
			CreatedTime: u.Now(), Data: string(b)}
		return u.Tx().AppendTimelineEntry(u.Ctx(), e, append(bindings[:len(bindings):len(bindings)], extra...))
	}
	title := func() any {
		if f := t.TitleField(); f != nil {
			return it.Get(f.Name)
		}
		return nil
	}
	switch ev.Kind {
	case change.Added:
		return entry(KindCreated, jsonx.Map{{K: "title", V: title()}})
	case change.Deleted:
		return entry(KindDeleted, jsonx.Map{{K: "title", V: title()}})
	}
	for _, f := range ev.Changed {
		before, after := ev.Before.Get(f.Name), it.Get(f.Name)
		switch {
		case f.Name == crm.FieldStageID || f.Name == crm.FieldCategoryID:
			continue // one moved entry below covers both
		case f.ParentType != 0:
			link := func(id int64) jsonx.Map {
				return jsonx.Map{{K: "field", V: string(f.Name)}, {K: "parentEntityTypeId", V: f.ParentType}, {K: "parentId", V: id}}
			}
			if id, ok := before.(int64); ok {
				old := store.TimelineBinding{EntityTypeID: f.ParentType, EntityID: id}
				if err := entry(KindUnlinked, link(id), old); err != nil {
					return err
				}
			}
			if id, ok := after.(int64); ok {
				if err := entry(KindLinked, link(id)); err != nil {
					return err
				}
			}
			continue
		case f.Deprecated:
			continue
		}
		format := func(v any) any {
			if v == nil && !f.Multiple {
				return nil
			}
			return f.Type.Format(v)
		}
		if err := entry(KindChanged, jsonx.Map{{K: "field", V: string(f.Name)}, {K: "title", V: f.Title},
			{K: "old", V: format(before)}, {K: "new", V: format(after)}}); err != nil {
			return err
		}
	}
	oldCat, oldStage := ev.Before.CategoryID(), ev.Before.StageID()
	cat, stage := it.CategoryID(), it.StageID()
	if t.Has(crm.FieldStageID) && (oldCat != cat || oldStage != stage) {
		name := func(c int64, id string) string {
			if st := t.Stage(c, id); st != nil {
				return st.Name
			}
			return id
		}
		sem := crm.InProgress
		if st := t.Stage(cat, stage); st != nil {
			sem = st.Semantics
		}
		return entry(KindMoved, jsonx.Map{
			{K: "from", V: oldStage}, {K: "to", V: stage}, {K: "fromName", V: name(oldCat, oldStage)}, {K: "toName", V: name(cat, stage)},
			{K: "semantics", V: string(sem)}, {K: "categoryId", V: cat}, {K: "fromCategoryId", V: oldCat},
		})
	}
	return nil
}

// Record writes an entry about item o inside the unit, bound to o and to the items
// whose timelines show o's events (its parents and client). To-dos and tasks record
// their events with it.
func (s *Service) Record(u *crm.Unit, kind string, o crm.Owner, data jsonx.Map, text *string) (int64, error) {
	t, err := u.TypeOf(o.EntityTypeID)
	if err != nil {
		return 0, err
	}
	it, err := u.LoadItem(t, o.ID)
	if crm.KindOf(err) == crm.ErrItemNotFound {
		return 0, crm.NewError(crm.ErrOwnerNotFound, "The item %s %d does not exist", EntityTypeName(o.EntityTypeID), o.ID)
	}
	if err != nil {
		return 0, err
	}
	return s.RecordOn(u, kind, t, it, data, text)
}

// RecordOn is Record for an item the caller has already loaded in the unit.
func (s *Service) RecordOn(u *crm.Unit, kind string, t *crm.Type, it *crm.Item, data jsonx.Map, text *string) (int64, error) {
	b, err := jsonx.Append(nil, data)
	if err != nil {
		return 0, err
	}
	bindings := append([]store.TimelineBinding{binding(crm.Owner{EntityTypeID: t.EntityTypeID, ID: it.ID})}, parentsOf(t, it)...)
	e := &store.TimelineEntry{EntityTypeID: t.EntityTypeID, ItemID: it.ID, Kind: kind, AuthorID: u.Actor().UserID,
		CreatedTime: u.Now(), Data: string(b), Text: text}
	if err := u.Tx().InsertTimelineEntry(u.Ctx(), e, bindings); err != nil {
		return 0, err
	}
	return e.ID, nil
}

// Page is a page of an item's timeline.
type Page struct {
	Pinned  []*Entry // on the first page only
	Entries []*Entry
	Next    int64 // the cursor of the next page; 0 when this is the last
}

// PageSize is how many entries a timeline page holds.
const PageSize = 50

// Read reads an item's timeline newest first, system entries included, paged by
// keyset: before is the cursor a previous page returned (0 for the newest). Entries of
// a deleted item stay readable on its parents.
func (s *Service) Read(ctx context.Context, actor access.Actor, etid, id, before int64) (*Page, error) {
	if _, err := s.crm.ItemType(ctx, actor, etid); err != nil {
		return nil, err
	}
	if before == 0 {
		if ok, err := s.crm.ItemExists(ctx, etid, id); err != nil || !ok {
			if err == nil {
				err = crm.NewError(crm.ErrItemNotFound, "Item not found")
			}
			return nil, err
		}
	}
	b := store.TimelineBinding{EntityTypeID: etid, EntityID: id}
	recs, err := s.st.TimelinePage(ctx, b, before, PageSize, false)
	if err != nil {
		return nil, err
	}
	out := &Page{Entries: entries(recs)}
	if len(recs) == PageSize {
		out.Next = recs[len(recs)-1].ID
	}
	if before == 0 {
		pinned, err := s.st.TimelinePage(ctx, b, 0, maxPinned, true)
		if err != nil {
			return nil, err
		}
		out.Pinned = entries(pinned)
	}
	return out, nil
}

func entries(recs []*store.TimelineEntry) []*Entry {
	out := make([]*Entry, len(recs))
	for i, r := range recs {
		out[i] = entryFromRecord(r)
	}
	return out
}

// ParseEntityType reads the entity type names of the timeline methods: lead, deal,
// contact, company or dynamic_{N}, in any letter case.
func ParseEntityType(s string) (int64, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, o := range crm.StandardOwnerTypes {
		if o.Code == s {
			return o.ID, true
		}
	}
	if n, ok := strings.CutPrefix(s, "DYNAMIC_"); ok {
		if etid, err := strconv.ParseInt(n, 10, 64); err == nil && crm.ValidEntityTypeID(etid) {
			return etid, true
		}
	}
	return 0, false
}

// EntityTypeName is the entity type as the timeline methods name it: lower case.
func EntityTypeName(etid int64) string {
	for _, o := range crm.StandardOwnerTypes {
		if o.ID == etid {
			return strings.ToLower(o.Code)
		}
	}
	return fmt.Sprintf("dynamic_%d", etid)
}

// checkOwner refuses a call about an item that does not exist (Bitrix24 takes it and
// leaves an orphan).
func (s *Service) checkOwner(ctx context.Context, actor access.Actor, o crm.Owner) error {
	if _, err := s.crm.ItemType(ctx, actor, o.EntityTypeID); err != nil {
		if crm.KindOf(err) == crm.ErrAccessDenied {
			return err
		}
		return crm.NewError(crm.ErrOwnerNotFound, "Owner entity type %d is not supported", o.EntityTypeID)
	}
	ok, err := s.crm.ItemExists(ctx, o.EntityTypeID, o.ID)
	if err != nil {
		return err
	}
	if !ok {
		return crm.NewError(crm.ErrOwnerNotFound, "The item %s %d does not exist", EntityTypeName(o.EntityTypeID), o.ID)
	}
	return nil
}
