package timeline

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"smartcrm/internal/access"
	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// Comments, bindings, log messages, notes and pins (spec automation §3). Each change is
// one unit with its Change.

// Limits: an empty comment says nothing, and a comment is not a file store.
const (
	MaxTextLength = 100_000 // characters of a comment, log message, note or description
	maxPinned     = 3
)

func commentText(text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", crm.NewError(crm.ErrInvalidArg, "Empty comment message")
	case utf8.RuneCountInString(text) > MaxTextLength:
		return "", crm.NewError(crm.ErrInvalidArg, "The comment is longer than %d characters", MaxTextLength)
	case !utf8.ValidString(text):
		return "", crm.NewError(crm.ErrInvalidArg, "The comment is not valid UTF-8 text")
	}
	return text, nil
}

// commentChange is the Change of a comment of item o.
func commentChange(kind change.Kind, o crm.Owner, id int64) change.Change {
	return change.Change{Entity: change.Comment, Kind: kind, EntityTypeID: o.EntityTypeID, ID: id, Owner: &o}
}

// Attachment is a file sent with a comment: its name and bytes (saved before the
// transaction that records it).
type Attachment = field.FileInput

// AddComment writes a comment on an item's timeline, with its attachments.
func (s *Service) AddComment(ctx context.Context, actor access.Actor, o crm.Owner, text string, files []*Attachment) (int64, error) {
	text, err := commentText(text)
	if err != nil {
		return 0, err
	}
	if err := s.checkOwner(ctx, actor, o); err != nil {
		return 0, err
	}
	if err := s.saveAttachments(files); err != nil {
		return 0, err
	}
	var id int64
	err = s.crm.Run(ctx, actor, func(u *crm.Unit) (err error) {
		id, err = s.addComment(u, o, text, files)
		return err
	})
	return id, err
}

// AddCommentIn writes a comment on an item's timeline inside the unit (a robot's
// comment, with no attachments).
func (s *Service) AddCommentIn(u *crm.Unit, o crm.Owner, text string) (int64, error) {
	text, err := commentText(text)
	if err != nil {
		return 0, err
	}
	if ok, err := u.ItemExists(o.EntityTypeID, o.ID); err != nil || !ok {
		if err == nil {
			err = crm.NewError(crm.ErrOwnerNotFound, "The item %s %d does not exist", EntityTypeName(o.EntityTypeID), o.ID)
		}
		return 0, err
	}
	return s.addComment(u, o, text, nil)
}

func (s *Service) addComment(u *crm.Unit, o crm.Owner, text string, files []*Attachment) (int64, error) {
	ids, err := recordAttachments(u, o, files)
	if err != nil {
		return 0, err
	}
	e := &Entry{EntityTypeID: o.EntityTypeID, ItemID: o.ID, Kind: KindComment, AuthorID: u.Actor().UserID,
		CreatedTime: u.Now(), Data: []byte("{}"), Text: &text, Files: ids}
	rec := e.record()
	if err := u.Tx().InsertTimelineEntry(u.Ctx(), rec, []store.TimelineBinding{binding(o)}); err != nil {
		return 0, err
	}
	return rec.ID, u.Emit(commentChange(change.Added, o, rec.ID))
}

// UpdateComment changes a comment's text and, when files is not nil, its attachments.
func (s *Service) UpdateComment(ctx context.Context, actor access.Actor, id int64, text *string, files []*Attachment) error {
	e, err := s.entryOfKind(ctx, id, KindComment)
	if err != nil {
		return err
	}
	if err := s.crm.Allow(actor, access.ActUpdate, access.Resource{EntityTypeID: e.EntityTypeID, Kind: "comment"}); err != nil {
		return err
	}
	if text != nil {
		t, err := commentText(*text)
		if err != nil {
			return err
		}
		e.Text = &t
	}
	if err := s.saveAttachments(files); err != nil {
		return err
	}
	o := e.Owner()
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		if files != nil {
			if err := u.Tx().DeleteFiles(u.Ctx(), e.Files); err != nil {
				return err
			}
			if e.Files, err = recordAttachments(u, o, files); err != nil {
				return err
			}
		}
		if err := u.Tx().UpdateTimelineEntry(u.Ctx(), e.record()); err != nil {
			return err
		}
		return u.Emit(commentChange(change.Updated, o, id))
	})
}

// Comment reads a comment.
func (s *Service) Comment(ctx context.Context, actor access.Actor, id int64) (*Entry, error) {
	e, err := s.entryOfKind(ctx, id, KindComment)
	if err != nil {
		return nil, err
	}
	return e, s.crm.Allow(actor, access.ActRead, access.Resource{EntityTypeID: e.EntityTypeID, Kind: "comment"})
}

// File is an attachment of a comment.
type File struct {
	ID   int64
	Name string
	Size int64
	Link string // a signed, expiring download link
}

// CommentFiles reads a comment's attachments.
func (s *Service) CommentFiles(ctx context.Context, e *Entry) ([]File, error) {
	out := make([]File, 0, len(e.Files))
	for _, id := range e.Files {
		f, err := s.st.File(ctx, id)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, File{ID: f.ID, Name: f.Name, Size: f.Size, Link: s.crm.FileLink(f.ID)})
	}
	return out, nil
}

// ListQuery is a page of an item's comments or log messages, ordered by OrderFields.
type ListQuery struct {
	Order  []query.Order
	Offset int
	Limit  int
}

// OrderFields are what comment and log message lists order by.
func OrderFields() []query.Field {
	return []query.Field{
		{Name: "id", Column: "id", Type: field.Integer{}},
		{Name: "created", Column: "created_time", Type: field.DateTime{}},
		{Name: "authorId", Column: "author_id", Type: field.Integer{}},
	}
}

// ListComments lists the comments in an item's timeline, 50 a page.
func (s *Service) ListComments(ctx context.Context, actor access.Actor, o crm.Owner, q ListQuery) ([]*Entry, int, error) {
	if err := s.crm.Allow(actor, access.ActRead, access.Resource{EntityTypeID: o.EntityTypeID, Kind: "comment"}); err != nil {
		return nil, 0, err
	}
	q.Limit = crm.PageSize
	return s.listEntries(ctx, KindComment, o, q)
}

func (s *Service) listEntries(ctx context.Context, kind string, o crm.Owner, q ListQuery) ([]*Entry, int, error) {
	order := append(q.Order[:len(q.Order):len(q.Order)], query.Order{Field: &OrderFields()[0]})
	recs, total, err := s.st.TimelineByKind(ctx, kind, o.EntityTypeID, o.ID, order, store.Page{Limit: q.Limit, Offset: max(q.Offset, 0)})
	return entries(recs), total, err
}

// DeleteComment removes a comment. A comment bound to several items is only taken off
// the given item's timeline; without one it is refused (ErrMultipleBindings).
func (s *Service) DeleteComment(ctx context.Context, actor access.Actor, id int64, from *crm.Owner) error {
	e, err := s.entryOfKind(ctx, id, KindComment)
	if err != nil {
		return err
	}
	if err := s.crm.Allow(actor, access.ActDelete, access.Resource{EntityTypeID: e.EntityTypeID, Kind: "comment"}); err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		bindings, err := u.Tx().TimelineBindings(u.Ctx(), id)
		if err != nil {
			return err
		}
		if len(bindings) > 1 {
			if from == nil {
				return crm.NewError(crm.ErrMultipleBindings, "The comment is bound to several items: pass ownerTypeId and ownerId to remove it from one")
			}
			ok, err := u.Tx().UnbindTimelineEntry(u.Ctx(), id, binding(*from))
			if err != nil {
				return err
			}
			if !ok {
				return crm.NewError(crm.ErrItemNotFound, "The comment is not bound to %s %d", EntityTypeName(from.EntityTypeID), from.ID)
			}
			return u.Emit(commentChange(change.Deleted, *from, id))
		}
		if err := u.Tx().DeleteFiles(u.Ctx(), e.Files); err != nil {
			return err
		}
		if err := u.Tx().DeleteTimelineEntry(u.Ctx(), id); err != nil {
			return err
		}
		return u.Emit(commentChange(change.Deleted, e.Owner(), id))
	})
}

// entryOfKind reads an entry that must be of the given kind.
func (s *Service) entryOfKind(ctx context.Context, id int64, kind string) (*Entry, error) {
	r, err := s.st.TimelineEntry(ctx, id)
	if isNotFound(err) || (err == nil && r.Kind != kind) {
		return nil, crm.NewError(crm.ErrItemNotFound, "Not found.")
	}
	if err != nil {
		return nil, err
	}
	return entryFromRecord(r), nil
}

// saveAttachments writes the bytes of comment attachments, before the transaction that
// records them.
func (s *Service) saveAttachments(files []*Attachment) error {
	vals := make([]any, len(files))
	for i, f := range files {
		vals[i] = f
	}
	return s.crm.SaveUploads(vals)
}

// recordAttachments records saved attachments of a comment about o.
func recordAttachments(u *crm.Unit, o crm.Owner, files []*Attachment) ([]int64, error) {
	ids := []int64{}
	for _, in := range files {
		id, err := u.RecordUpload(in, o.EntityTypeID, o.ID, "TIMELINE_COMMENT")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Bind adds an entry to another item's timeline; false when it already was there.
func (s *Service) Bind(ctx context.Context, actor access.Actor, id int64, o crm.Owner) (bool, error) {
	if _, err := s.st.TimelineEntry(ctx, id); err != nil {
		if isNotFound(err) {
			return false, crm.NewError(crm.ErrItemNotFound, "Not found.")
		}
		return false, err
	}
	if err := s.checkOwner(ctx, actor, o); err != nil {
		return false, err
	}
	var added bool
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		bindings, err := u.Tx().TimelineBindings(u.Ctx(), id)
		if err != nil {
			return err
		}
		for _, b := range bindings {
			if b == binding(o) {
				return nil
			}
		}
		added = true
		return u.Tx().BindTimelineEntry(u.Ctx(), id, binding(o))
	})
	return added, err
}

// Unbind takes an entry off an item's timeline; the last binding stays.
func (s *Service) Unbind(ctx context.Context, actor access.Actor, id int64, o crm.Owner) (bool, error) {
	var removed bool
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		bindings, err := u.Tx().TimelineBindings(u.Ctx(), id)
		if err != nil {
			return err
		}
		if len(bindings) == 0 {
			return crm.NewError(crm.ErrItemNotFound, "Not found.")
		}
		found := false
		for _, b := range bindings {
			found = found || b == binding(o)
		}
		if !found {
			return nil
		}
		if len(bindings) == 1 {
			return crm.NewError(crm.ErrInvalidArg, "The last binding of an entry cannot be removed; delete the entry instead")
		}
		removed, err = u.Tx().UnbindTimelineEntry(u.Ctx(), id, binding(o))
		return err
	})
	return removed, err
}

// Bindings lists the items whose timelines an entry is in.
func (s *Service) Bindings(ctx context.Context, actor access.Actor, id int64) ([]crm.Owner, error) {
	bindings, err := s.st.TimelineBindings(ctx, id)
	if err == nil && len(bindings) == 0 {
		return nil, crm.NewError(crm.ErrItemNotFound, "Not found.")
	}
	out := make([]crm.Owner, len(bindings))
	for i, b := range bindings {
		out[i] = crm.Owner{EntityTypeID: b.EntityTypeID, ID: b.EntityID}
	}
	return out, err
}

// LogMessage is an application's entry on an item's timeline.
type LogMessage struct {
	Title, Text, IconCode string
}

// AddLogMessage writes a log message.
func (s *Service) AddLogMessage(ctx context.Context, actor access.Actor, o crm.Owner, m LogMessage) (*Entry, error) {
	for _, f := range []struct{ name, v string }{{"title", m.Title}, {"text", m.Text}, {"iconCode", m.IconCode}} {
		if strings.TrimSpace(f.v) == "" {
			return nil, &crm.Error{Kind: crm.ErrMissingParam, Field: f.name, Msg: "Required fields: " + f.name}
		}
	}
	if utf8.RuneCountInString(m.Text) > MaxTextLength || utf8.RuneCountInString(m.Title) > 255 {
		return nil, crm.NewError(crm.ErrInvalidArg, "The log message is too long")
	}
	if err := s.checkOwner(ctx, actor, o); err != nil {
		return nil, err
	}
	data, _ := jsonx.Append(nil, jsonx.Map{{K: "title", V: m.Title}, {K: "iconCode", V: m.IconCode}})
	var e *Entry
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		e = &Entry{EntityTypeID: o.EntityTypeID, ItemID: o.ID, Kind: KindLogMessage, AuthorID: actor.UserID,
			CreatedTime: u.Now(), Data: data, Text: &m.Text}
		rec := e.record()
		if err := u.Tx().InsertTimelineEntry(u.Ctx(), rec, []store.TimelineBinding{binding(o)}); err != nil {
			return err
		}
		e.ID = rec.ID
		return nil
	})
	return e, err
}

// LogMessage reads a log message.
func (s *Service) LogMessage(ctx context.Context, actor access.Actor, id int64) (*Entry, error) {
	e, err := s.entryOfKind(ctx, id, KindLogMessage)
	if crm.KindOf(err) == crm.ErrItemNotFound {
		return nil, crm.NewError(crm.ErrItemNotFound, "Timeline logmessage not found for id %d", id)
	}
	if err != nil {
		return nil, err
	}
	return e, s.crm.Allow(actor, access.ActRead, access.Resource{EntityTypeID: e.EntityTypeID, Kind: "comment"})
}

// LogMessagePageSize is a log message list's page.
const LogMessagePageSize = 10

// ListLogMessages lists an item's log messages, 10 a page.
func (s *Service) ListLogMessages(ctx context.Context, actor access.Actor, o crm.Owner, q ListQuery) ([]*Entry, int, error) {
	if err := s.checkOwner(ctx, actor, o); err != nil {
		return nil, 0, err
	}
	q.Limit = LogMessagePageSize
	if len(q.Order) == 0 {
		q.Order = []query.Order{{Field: &OrderFields()[0], Desc: true}} // newest first
	}
	return s.listEntries(ctx, KindLogMessage, o, q)
}

// DeleteLogMessage removes a log message.
func (s *Service) DeleteLogMessage(ctx context.Context, actor access.Actor, id int64) error {
	if _, err := s.LogMessage(ctx, actor, id); err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error { return u.Tx().DeleteTimelineEntry(u.Ctx(), id) })
}

// What a note is on, seen from an item.
const (
	NoteOnEntry    = 1 // a timeline entry
	NoteOnActivity = 2 // an activity
)

// Note is a note on a timeline entry or an activity, seen from an item.
type Note struct {
	Text                     string
	CreatedBy, UpdatedBy     int64
	CreatedTime, UpdatedTime time.Time
}

// SaveNote writes the note on a timeline entry or activity seen from an item.
func (s *Service) SaveNote(ctx context.Context, actor access.Actor, o crm.Owner, on, id int64, text string) error {
	if err := s.checkNoteTarget(ctx, actor, o, on, id); err != nil {
		return err
	}
	if utf8.RuneCountInString(text) > MaxTextLength {
		return crm.NewError(crm.ErrInvalidArg, "The note is longer than %d characters", MaxTextLength)
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		n := &store.TimelineNote{OwnerTypeID: o.EntityTypeID, OwnerID: o.ID, ItemType: on, ItemID: id, Text: text,
			CreatedBy: actor.UserID, CreatedTime: u.Now(), UpdatedBy: actor.UserID, UpdatedTime: u.Now()}
		return u.Tx().SaveTimelineNote(u.Ctx(), n)
	})
}

// Note reads a note.
func (s *Service) Note(ctx context.Context, actor access.Actor, o crm.Owner, on, id int64) (*Note, error) {
	if err := s.checkNoteTarget(ctx, actor, o, on, id); err != nil {
		return nil, err
	}
	n, err := s.st.TimelineNoteOf(ctx, o.EntityTypeID, o.ID, on, id)
	if isNotFound(err) {
		return nil, crm.NewError(crm.ErrItemNotFound, "Element not found")
	}
	if err != nil {
		return nil, err
	}
	return &Note{Text: n.Text, CreatedBy: n.CreatedBy, UpdatedBy: n.UpdatedBy, CreatedTime: n.CreatedTime, UpdatedTime: n.UpdatedTime}, nil
}

// DeleteNote removes a note.
func (s *Service) DeleteNote(ctx context.Context, actor access.Actor, o crm.Owner, on, id int64) error {
	if err := s.checkNoteTarget(ctx, actor, o, on, id); err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		ok, err := u.Tx().DeleteTimelineNote(u.Ctx(), o.EntityTypeID, o.ID, on, id)
		if err == nil && !ok {
			err = crm.NewError(crm.ErrItemNotFound, "Element not found")
		}
		return err
	})
}

// checkNoteTarget refuses notes on entries or activities not in the item's timeline.
func (s *Service) checkNoteTarget(ctx context.Context, actor access.Actor, o crm.Owner, on, id int64) error {
	if err := s.checkOwner(ctx, actor, o); err != nil {
		return err
	}
	switch on {
	case NoteOnEntry:
		if !s.inTimeline(ctx, id, o) {
			return crm.NewError(crm.ErrItemNotFound, "Element not found")
		}
	case NoteOnActivity:
		if ok, err := s.st.ActivityBound(ctx, id, store.ActivityBinding{EntityTypeID: o.EntityTypeID, EntityID: o.ID}); err != nil || !ok {
			return crm.NewError(crm.ErrItemNotFound, "Element not found")
		}
	default:
		return crm.NewError(crm.ErrInvalidArg, "itemType must be 1 (timeline entry) or 2 (activity)")
	}
	return nil
}

// inTimeline reports whether an entry is in an item's timeline.
func (s *Service) inTimeline(ctx context.Context, id int64, o crm.Owner) bool {
	bindings, err := s.st.TimelineBindings(ctx, id)
	if err != nil {
		return false
	}
	for _, b := range bindings {
		if b == binding(o) {
			return true
		}
	}
	return false
}

// Pin pins an entry in an item's timeline (at most three) or unpins it.
func (s *Service) Pin(ctx context.Context, actor access.Actor, id int64, o crm.Owner, pinned bool) error {
	if err := s.checkOwner(ctx, actor, o); err != nil {
		return err
	}
	if !s.inTimeline(ctx, id, o) {
		return crm.NewError(crm.ErrItemNotFound, "Timeline entry %d is not in the timeline of %s %d", id, EntityTypeName(o.EntityTypeID), o.ID)
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		if pinned {
			n, err := u.Tx().CountPinned(u.Ctx(), binding(o))
			if err != nil {
				return err
			}
			if n >= maxPinned {
				return crm.NewError(crm.ErrLimit, "At most %d entries can be pinned", maxPinned)
			}
		}
		return u.Tx().SetTimelinePinned(u.Ctx(), id, binding(o), pinned)
	})
}

// UpdateEntryData replaces an entry's details inside the unit (a to-do's entry follows
// its to-do).
func UpdateEntryData(u *crm.Unit, id int64, data jsonx.Map) error {
	b, err := jsonx.Append(nil, data)
	if err != nil {
		return err
	}
	return u.Tx().UpdateTimelineEntry(u.Ctx(), &store.TimelineEntry{ID: id, Data: string(b), Files: "[]"})
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
