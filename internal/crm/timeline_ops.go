package crm

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Comments, bindings, log messages, notes and pins of the timeline (spec automation §3).
// Each change is one transaction with its outbox row.

// Comment limits: an empty comment says nothing, and a comment is not a file store.
const (
	maxCommentLength = 100_000 // characters
	maxPinned        = 3
)

// Outbox topics of timeline events, as Bitrix24 names them.
const (
	eventCommentAdd    = "onCrmTimelineCommentAdd"
	eventCommentUpdate = "onCrmTimelineCommentUpdate"
	eventCommentDelete = "onCrmTimelineCommentDelete"
)

// outboxEvent records an event with data {"ID": id}, in the change's transaction.
func outboxEvent(ctx context.Context, tx *store.Tx, topic string, o Owner, id int64) error {
	b, err := jsonx.Append(nil, jsonx.Map{{K: "ID", V: id}})
	if err != nil {
		return err
	}
	return tx.InsertOutbox(ctx, topic, o.EntityTypeID, o.ID, string(b))
}

func commentText(text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", newErr(ErrInvalidArg, "Empty comment message")
	case utf8.RuneCountInString(text) > maxCommentLength:
		return "", newErr(ErrInvalidArg, "The comment is longer than %d characters", maxCommentLength)
	case !utf8.ValidString(text):
		return "", newErr(ErrInvalidArg, "The comment is not valid UTF-8 text")
	}
	return text, nil
}

// AddComment writes a comment on an item's timeline, with its attachments.
func (s *Service) AddComment(ctx context.Context, actor access.Actor, o Owner, text string, files []any) (int64, error) {
	text, err := commentText(text)
	if err != nil {
		return 0, err
	}
	if err := s.checkOwner(ctx, o); err != nil {
		return 0, err
	}
	saved, err := s.saveAttachments(files)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		ids, err := recordAttachments(ctx, tx, o, saved)
		if err != nil {
			return err
		}
		fj, _ := json.Marshal(ids)
		e := &store.TimelineEntry{EntityTypeID: o.EntityTypeID, ItemID: o.ID, Kind: EntryComment, AuthorID: actor.UserID,
			CreatedTime: s.Now(), Data: "{}", Text: &text, Files: string(fj)}
		if err := tx.InsertTimelineEntry(ctx, e, []store.TimelineBinding{{EntityTypeID: o.EntityTypeID, EntityID: o.ID}}); err != nil {
			return err
		}
		id = e.ID
		return outboxEvent(ctx, tx, eventCommentAdd, o, id)
	})
	return id, err
}

// UpdateComment changes a comment's text and, when given, its attachments.
func (s *Service) UpdateComment(ctx context.Context, actor access.Actor, id int64, text *string, files []any, filesGiven bool) error {
	e, err := s.entryOfKind(ctx, id, EntryComment)
	if err != nil {
		return err
	}
	if text != nil {
		t, err := commentText(*text)
		if err != nil {
			return err
		}
		e.Text = &t
	}
	saved, err := s.saveAttachments(files)
	if err != nil {
		return err
	}
	o := Owner{e.EntityTypeID, e.ItemID}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if filesGiven {
			var old []int64
			_ = json.Unmarshal([]byte(e.Files), &old)
			if err := tx.DeleteFiles(ctx, old); err != nil {
				return err
			}
			ids, err := recordAttachments(ctx, tx, o, saved)
			if err != nil {
				return err
			}
			fj, _ := json.Marshal(ids)
			e.Files = string(fj)
		}
		if err := tx.UpdateTimelineEntry(ctx, e); err != nil {
			return err
		}
		return outboxEvent(ctx, tx, eventCommentUpdate, o, id)
	})
}

// Comment reads a comment.
func (s *Service) Comment(ctx context.Context, id int64) (*store.TimelineEntry, error) {
	return s.entryOfKind(ctx, id, EntryComment)
}

// CommentFiles reads the records of a comment's attachments.
func (s *Service) CommentFiles(ctx context.Context, e *store.TimelineEntry) ([]*store.FileRecord, error) {
	var ids []int64
	_ = json.Unmarshal([]byte(e.Files), &ids)
	out := make([]*store.FileRecord, 0, len(ids))
	for _, id := range ids {
		f, err := s.st.File(ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// FileLink signs the download link of a stored file.
func (s *Service) FileLink(id int64) string {
	if s.Files == nil {
		return ""
	}
	return s.Files.Link(id)
}

// ListComments lists the comments about an item, 50 a page, ordered by ID, CREATED or
// AUTHOR_ID.
func (s *Service) ListComments(ctx context.Context, o Owner, order any, start int64) ([]*store.TimelineEntry, int, error) {
	return s.listEntries(ctx, EntryComment, o, order, store.Page{Limit: PageSize, Offset: int(max(start, 0))}, false)
}

func (s *Service) listEntries(ctx context.Context, kind string, o Owner, order any, page store.Page, newestFirst bool) ([]*store.TimelineEntry, int, error) {
	cols := store.TimelineColumns()
	catalog := make([]query.Field, 0, len(cols))
	for name, col := range cols {
		catalog = append(catalog, query.Field{Name: name, Column: col, Type: tInt})
	}
	_, ord, err := parseCatalogQuery(catalog, "ID", nil, order)
	if err != nil {
		return nil, 0, err
	}
	if newestFirst && len(ord) == 1 {
		ord[0].Desc = true
	}
	return s.st.TimelineByKind(ctx, kind, o.EntityTypeID, o.ID, ord, page)
}

// DeleteComment removes a comment. A comment bound to several items is only taken off
// the given owner's timeline; without an owner it is refused (MULTIPLE_BINDINGS).
func (s *Service) DeleteComment(ctx context.Context, actor access.Actor, id int64, owner *Owner) error {
	e, err := s.entryOfKind(ctx, id, EntryComment)
	if err != nil {
		return err
	}
	bindings, err := s.st.TimelineBindings(ctx, id)
	if err != nil {
		return err
	}
	o := Owner{e.EntityTypeID, e.ItemID}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if len(bindings) > 1 {
			if owner == nil {
				return newErr(ErrMultipleBindings, "The comment is bound to several items: pass ownerTypeId and ownerId to remove it from one")
			}
			ok, err := tx.UnbindTimelineEntry(ctx, id, store.TimelineBinding{EntityTypeID: owner.EntityTypeID, EntityID: owner.ID})
			if err != nil {
				return err
			}
			if !ok {
				return newErr(ErrItemNotFound, "The comment is not bound to %s %d", EntityTypeName(owner.EntityTypeID), owner.ID)
			}
			return outboxEvent(ctx, tx, eventCommentDelete, *owner, id)
		}
		var files []int64
		_ = json.Unmarshal([]byte(e.Files), &files)
		if err := tx.DeleteFiles(ctx, files); err != nil {
			return err
		}
		if err := tx.DeleteTimelineEntry(ctx, id); err != nil {
			return err
		}
		return outboxEvent(ctx, tx, eventCommentDelete, o, id)
	})
}

// entryOfKind reads an entry that must be of the given kind.
func (s *Service) entryOfKind(ctx context.Context, id int64, kind string) (*store.TimelineEntry, error) {
	e, err := s.st.TimelineEntry(ctx, id)
	if isNotFound(err) || (err == nil && e.Kind != kind) {
		return nil, newErr(ErrItemNotFound, "Not found.")
	}
	return e, err
}

// Bind adds a timeline entry to another item's timeline; false when it already was.
func (s *Service) Bind(ctx context.Context, actor access.Actor, id int64, o Owner) (bool, error) {
	if _, err := s.st.TimelineEntry(ctx, id); err != nil {
		if isNotFound(err) {
			return false, newErr(ErrItemNotFound, "Not found.")
		}
		return false, err
	}
	if err := s.checkOwner(ctx, o); err != nil {
		return false, err
	}
	bindings, err := s.st.TimelineBindings(ctx, id)
	if err != nil {
		return false, err
	}
	for _, b := range bindings {
		if b.EntityTypeID == o.EntityTypeID && b.EntityID == o.ID {
			return false, nil
		}
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.BindTimelineEntry(ctx, id, store.TimelineBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID})
	})
	return err == nil, err
}

// Unbind takes a timeline entry off an item's timeline; the last binding stays.
func (s *Service) Unbind(ctx context.Context, actor access.Actor, id int64, o Owner) (bool, error) {
	bindings, err := s.st.TimelineBindings(ctx, id)
	if err != nil {
		return false, err
	}
	if len(bindings) == 0 {
		return false, newErr(ErrItemNotFound, "Not found.")
	}
	found := false
	for _, b := range bindings {
		found = found || (b.EntityTypeID == o.EntityTypeID && b.EntityID == o.ID)
	}
	if !found {
		return false, nil
	}
	if len(bindings) == 1 {
		return false, newErr(ErrInvalidArg, "The last binding of an entry cannot be removed; delete the entry instead")
	}
	var removed bool
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		removed, err = tx.UnbindTimelineEntry(ctx, id, store.TimelineBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID})
		return err
	})
	return removed, err
}

// Bindings lists the timelines an entry is in.
func (s *Service) Bindings(ctx context.Context, id int64) ([]store.TimelineBinding, error) {
	bindings, err := s.st.TimelineBindings(ctx, id)
	if err == nil && len(bindings) == 0 {
		return nil, newErr(ErrItemNotFound, "Not found.")
	}
	return bindings, err
}

// LogMessage is an application's entry on an item's timeline.
type LogMessage struct {
	Title, Text, IconCode string
}

// AddLogMessage writes a log message.
func (s *Service) AddLogMessage(ctx context.Context, actor access.Actor, o Owner, m LogMessage) (*store.TimelineEntry, error) {
	for name, v := range map[string]string{"title": m.Title, "text": m.Text, "iconCode": m.IconCode} {
		if strings.TrimSpace(v) == "" {
			return nil, &Error{Kind: ErrMissingParam, Field: name, Msg: "Required fields: " + name}
		}
	}
	if utf8.RuneCountInString(m.Text) > maxCommentLength || utf8.RuneCountInString(m.Title) > 255 {
		return nil, newErr(ErrInvalidArg, "The log message is too long")
	}
	if err := s.checkOwner(ctx, o); err != nil {
		return nil, err
	}
	data, _ := jsonx.Append(nil, jsonx.Map{{K: "title", V: m.Title}, {K: "iconCode", V: m.IconCode}})
	e := &store.TimelineEntry{EntityTypeID: o.EntityTypeID, ItemID: o.ID, Kind: EntryLogMessage, AuthorID: actor.UserID,
		CreatedTime: s.Now(), Data: string(data), Text: &m.Text}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertTimelineEntry(ctx, e, []store.TimelineBinding{{EntityTypeID: o.EntityTypeID, EntityID: o.ID}})
	})
	return e, err
}

// LogMessageOf reads a log message.
func (s *Service) LogMessageOf(ctx context.Context, id int64) (*store.TimelineEntry, error) {
	e, err := s.entryOfKind(ctx, id, EntryLogMessage)
	if KindOf(err) == ErrItemNotFound {
		return nil, newErr(ErrItemNotFound, "Timeline logmessage not found for id %d", id)
	}
	return e, err
}

// LogMessagePageSize is crm.timeline.logmessage.list's page.
const LogMessagePageSize = 10

// ListLogMessages lists an item's log messages, newest first unless ordered.
func (s *Service) ListLogMessages(ctx context.Context, o Owner, order any, start int64) ([]*store.TimelineEntry, int, error) {
	if err := s.checkOwner(ctx, o); err != nil {
		return nil, 0, err
	}
	return s.listEntries(ctx, EntryLogMessage, o, upperKeys(order), store.Page{Limit: LogMessagePageSize, Offset: int(max(start, 0))}, order == nil)
}

// DeleteLogMessage removes a log message.
func (s *Service) DeleteLogMessage(ctx context.Context, actor access.Actor, id int64) error {
	if _, err := s.LogMessageOf(ctx, id); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error { return tx.DeleteTimelineEntry(ctx, id) })
}

// Note item types: a timeline entry or an activity.
const (
	NoteOnEntry    = 1
	NoteOnActivity = 2
)

// SaveNote writes the note on a timeline entry or activity seen from an item.
func (s *Service) SaveNote(ctx context.Context, actor access.Actor, o Owner, itemType, itemID int64, text string) error {
	if err := s.checkNoteTarget(ctx, o, itemType, itemID); err != nil {
		return err
	}
	if utf8.RuneCountInString(text) > maxCommentLength {
		return newErr(ErrInvalidArg, "The note is longer than %d characters", maxCommentLength)
	}
	now := s.Now()
	n := &store.TimelineNote{OwnerTypeID: o.EntityTypeID, OwnerID: o.ID, ItemType: itemType, ItemID: itemID, Text: text,
		CreatedBy: actor.UserID, CreatedTime: now, UpdatedBy: actor.UserID, UpdatedTime: now}
	return s.st.InTx(ctx, func(tx *store.Tx) error { return tx.SaveTimelineNote(ctx, n) })
}

// Note reads a note.
func (s *Service) Note(ctx context.Context, o Owner, itemType, itemID int64) (*store.TimelineNote, error) {
	if err := s.checkNoteTarget(ctx, o, itemType, itemID); err != nil {
		return nil, err
	}
	n, err := s.st.TimelineNoteOf(ctx, o.EntityTypeID, o.ID, itemType, itemID)
	if isNotFound(err) {
		return nil, newErr(ErrItemNotFound, "Element not found")
	}
	return n, err
}

// DeleteNote removes a note.
func (s *Service) DeleteNote(ctx context.Context, actor access.Actor, o Owner, itemType, itemID int64) error {
	if err := s.checkNoteTarget(ctx, o, itemType, itemID); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		ok, err := tx.DeleteTimelineNote(ctx, o.EntityTypeID, o.ID, itemType, itemID)
		if err == nil && !ok {
			err = newErr(ErrItemNotFound, "Element not found")
		}
		return err
	})
}

// checkNoteTarget refuses notes on entries not in the owner's timeline.
func (s *Service) checkNoteTarget(ctx context.Context, o Owner, itemType, itemID int64) error {
	if err := s.checkOwner(ctx, o); err != nil {
		return err
	}
	switch itemType {
	case NoteOnEntry:
		if !s.inTimeline(ctx, itemID, o) {
			return newErr(ErrItemNotFound, "Element not found")
		}
	case NoteOnActivity:
		if !s.activityBound(ctx, itemID, o) {
			return newErr(ErrItemNotFound, "Element not found")
		}
	default:
		return newErr(ErrInvalidArg, "itemType must be 1 (timeline entry) or 2 (activity)")
	}
	return nil
}

// inTimeline reports whether an entry is in an item's timeline.
func (s *Service) inTimeline(ctx context.Context, id int64, o Owner) bool {
	bindings, err := s.st.TimelineBindings(ctx, id)
	if err != nil {
		return false
	}
	for _, b := range bindings {
		if b.EntityTypeID == o.EntityTypeID && b.EntityID == o.ID {
			return true
		}
	}
	return false
}

// Pin pins an entry in an item's timeline (at most three) or unpins it.
func (s *Service) Pin(ctx context.Context, actor access.Actor, id int64, o Owner, pinned bool) error {
	if err := s.checkOwner(ctx, o); err != nil {
		return err
	}
	if !s.inTimeline(ctx, id, o) {
		return newErr(ErrItemNotFound, "Timeline entry %d is not in the timeline of %s %d", id, EntityTypeName(o.EntityTypeID), o.ID)
	}
	b := store.TimelineBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}
	return s.st.InTx(ctx, func(tx *store.Tx) error {
		if pinned {
			n, err := tx.CountPinned(ctx, b)
			if err != nil {
				return err
			}
			if n >= maxPinned {
				return newErr(ErrLimit, "At most %d entries can be pinned", maxPinned)
			}
		}
		return tx.SetTimelinePinned(ctx, id, b, pinned)
	})
}

// upperKeys turns an order object's keys id and created to upper case
// (crm.timeline.logmessage.list spells them in camelCase).
func upperKeys(v any) any {
	o, ok := v.(*params.Object)
	if !ok {
		return v
	}
	out := params.NewObject()
	for _, k := range o.Keys() {
		val, _ := o.Get(k)
		if strings.EqualFold(k, "created") || strings.EqualFold(k, "id") {
			k = strings.ToUpper(k)
		}
		out.Set(k, val)
	}
	return out
}
