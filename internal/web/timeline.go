package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/activity"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/tasks"
	"smartcrm/internal/timeline"
)

// The card's timeline (the item's and its children's entries, newest first, by keyset),
// comments with files, to-dos and tasks.

type timelineView struct {
	Entries []entryView
	Next    string // the URL of the older entries; "" at the end
}

type entryView struct {
	ID     int64
	Kind   string
	Author string
	When   string
	Text   string
	Body   string // a comment's text
	Files  []linkView
	On     *linkView // the child item an entry is about, when it is not this item
}

func (s *Server) timelineOf(q *request, t *crm.Type, id, before int64) (timelineView, error) {
	page, err := s.timeline.Read(q.ctx, q.actor, t.EntityTypeID, id, before)
	if err != nil {
		return timelineView{}, err
	}
	var out timelineView
	for _, e := range page.Entries {
		ev := entryView{ID: e.ID, Kind: e.Kind, Author: s.userName(q.ctx, e.AuthorID), When: e.CreatedTime.Format("2006-01-02 15:04"),
			Text: describe(e)}
		if e.Text != nil {
			ev.Body = *e.Text
		}
		if len(e.Files) > 0 {
			files, err := s.timeline.CommentFiles(q.ctx, e)
			if err != nil {
				return out, err
			}
			for _, f := range files {
				ev.Files = append(ev.Files, linkView{Text: f.Name, URL: f.Link})
			}
		}
		if e.EntityTypeID != t.EntityTypeID || e.ItemID != id {
			ev.On = &linkView{Text: fmt.Sprintf("%s #%d", typeTitle(s, q, e.EntityTypeID), e.ItemID), URL: DetailsPath(e.EntityTypeID, e.ItemID)}
		}
		out.Entries = append(out.Entries, ev)
	}
	if page.Next != 0 {
		out.Next = DetailsPath(t.EntityTypeID, id) + "?before=" + itoa(page.Next) + "#timeline"
	}
	return out, nil
}

func typeTitle(s *Server, q *request, etid int64) string {
	if t, err := s.crm.ItemType(q.ctx, q.actor, etid); err == nil {
		return t.Title
	}
	return "Item"
}

// describe says what an entry records, in words.
func describe(e *timeline.Entry) string {
	var d map[string]any
	_ = json.Unmarshal(e.Data, &d)
	str := func(k string) string {
		switch v := d[k].(type) {
		case nil:
			return "—"
		case string:
			if v == "" {
				return "—"
			}
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		b, _ := json.Marshal(d[k])
		return string(b)
	}
	switch e.Kind {
	case timeline.KindCreated:
		return "Created: " + str("title")
	case timeline.KindChanged:
		return fmt.Sprintf("%s changed: %s → %s", str("title"), str("old"), str("new"))
	case timeline.KindMoved:
		return fmt.Sprintf("Moved from %s to %s", str("fromName"), str("toName"))
	case timeline.KindLinked:
		return "Linked to " + str("field") + " #" + str("parentId")
	case timeline.KindUnlinked:
		return "Unlinked from " + str("field") + " #" + str("parentId")
	case timeline.KindDeleted:
		return "Deleted: " + str("title")
	case timeline.KindComment:
		return "Comment"
	case timeline.KindLogMessage:
		return "Message: " + str("title")
	case activity.KindToDo:
		return "To-do: " + str("title")
	case activity.KindToDoCompleted:
		return "To-do done: " + str("title")
	case tasks.KindTask:
		return "Task: " + str("title")
	case tasks.KindTaskCompleted:
		return "Task completed: " + str("title")
	}
	return e.Kind
}

// maxAttachments bounds the files of one comment.
const maxAttachments = 10

func (s *Server) addComment(q *request, t *crm.Type, id int64) {
	if err := q.parseForm(); err != nil {
		q.formError(err)
		return
	}
	var files []*timeline.Attachment
	if mf := q.r.MultipartForm; mf != nil {
		if len(mf.File["files"]) > maxAttachments {
			q.back(DetailsPath(t.EntityTypeID, id), fmt.Sprintf("At most %d files a comment", maxAttachments))
			return
		}
		for _, fh := range mf.File["files"] {
			f, err := fh.Open()
			if err != nil {
				q.fail(err)
				return
			}
			data, err := io.ReadAll(f)
			f.Close()
			if err != nil {
				q.fail(err)
				return
			}
			files = append(files, &timeline.Attachment{Name: fh.Filename, Data: data})
		}
	}
	_, err := s.timeline.AddComment(q.ctx, q.actor, crm.Owner{EntityTypeID: t.EntityTypeID, ID: id}, q.r.Form.Get("text"), files)
	if err != nil {
		_, msg := errorStatus(err)
		q.back(DetailsPath(t.EntityTypeID, id), msg)
		return
	}
	q.back(DetailsPath(t.EntityTypeID, id)+"#timeline", "")
}

type todoView struct {
	ID          int64
	Title       string
	Deadline    string
	Responsible string
	DoneURL     string
}

func (s *Server) openToDos(q *request, t *crm.Type, id int64) ([]todoView, error) {
	cols := activity.QueryFields()
	var completed *query.Field
	for i := range cols {
		if cols[i].Name == "completed" {
			completed = &cols[i]
		}
	}
	list, _, err := s.activity.List(q.ctx, q.actor, activity.Query{Bound: []crm.Owner{{EntityTypeID: t.EntityTypeID, ID: id}},
		Where: query.Group{Items: []query.Expr{query.Cond{Field: completed, Op: field.OpEq, Value: "N"}}}, NoCount: true})
	if err != nil {
		return nil, err
	}
	var out []todoView
	for _, a := range list {
		v := todoView{ID: a.ID, Title: a.Subject, Responsible: s.userName(q.ctx, a.ResponsibleID),
			DoneURL: DetailsPath(t.EntityTypeID, id) + "todo/" + itoa(a.ID) + "/done"}
		if v.Title == "" {
			v.Title = a.Description
		}
		if !a.Deadline.IsZero() {
			v.Deadline = a.Deadline.Format("2006-01-02 15:04")
		}
		out = append(out, v)
	}
	return out, nil
}

// formTime reads a datetime-local value; ok is false for text that is not one.
func formTime(s string) (time.Time, bool, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false, true
	}
	t, ok := field.ParseTime(s)
	return t, true, ok
}

func (s *Server) todoAction(q *request, t *crm.Type, id int64, tg target) {
	o := crm.Owner{EntityTypeID: t.EntityTypeID, ID: id}
	back := DetailsPath(t.EntityTypeID, id) + "#todos"
	if aid, ok := tg.num(3); ok && tg.seg(4) == "done" {
		done := true
		if err := s.activity.Update(q.ctx, q.actor, aid, activity.ToDoInput{Completed: &done}); err != nil {
			_, msg := errorStatus(err)
			q.back(back, msg)
			return
		}
		q.back(back, "")
		return
	}
	if tg.seg(3) != "" {
		q.notFound()
		return
	}
	title, desc := strings.TrimSpace(q.r.Form.Get("title")), q.r.Form.Get("description")
	in := activity.ToDoInput{Title: &title, Description: &desc}
	if title == "" {
		q.back(back, "A to-do needs a title")
		return
	}
	if d, given, ok := formTime(q.r.Form.Get("deadline")); !ok {
		q.back(back, "The deadline is not a date and time")
		return
	} else if given {
		in.Deadline = &d
	}
	if r, err := strconv.ParseInt(q.r.Form.Get("responsible"), 10, 64); err == nil {
		in.ResponsibleID = &r
	}
	if _, err := s.activity.AddToDo(q.ctx, q.actor, o, in); err != nil {
		_, msg := errorStatus(err)
		q.back(back, msg)
		return
	}
	q.back(back, "")
}

type taskView struct {
	ID          int64
	Title       string
	Deadline    string
	Responsible string
	Done        bool
	DoneURL     string
}

func (s *Server) itemTasks(q *request, t *crm.Type, id int64) ([]taskView, error) {
	cols := tasks.QueryFields()
	var bound *query.Field
	for i := range cols {
		if cols[i].Name == "ufCrmTask" {
			bound = &cols[i]
		}
	}
	list, _, err := s.tasks.List(q.ctx, q.actor, tasks.Query{NoCount: true, Where: query.Group{Items: []query.Expr{
		query.Cond{Field: bound, Op: field.OpContainsAny, Value: []any{field.Binding{EntityTypeID: t.EntityTypeID, ID: id}}}}}})
	if err != nil {
		return nil, err
	}
	var out []taskView
	for _, tk := range list {
		v := taskView{ID: tk.ID, Title: tk.Title, Responsible: s.userName(q.ctx, tk.ResponsibleID), Done: tk.Status == tasks.StatusCompleted,
			DoneURL: DetailsPath(t.EntityTypeID, id) + "task/" + itoa(tk.ID) + "/done"}
		if !tk.Deadline.IsZero() {
			v.Deadline = tk.Deadline.Format("2006-01-02 15:04")
		}
		out = append(out, v)
	}
	return out, nil
}

func (s *Server) taskAction(q *request, t *crm.Type, id int64, tg target) {
	back := DetailsPath(t.EntityTypeID, id) + "#tasks"
	if tid, ok := tg.num(3); ok && tg.seg(4) == "done" {
		if _, err := s.tasks.Complete(q.ctx, q.actor, tid); err != nil {
			_, msg := errorStatus(err)
			q.back(back, msg)
			return
		}
		q.back(back, "")
		return
	}
	if tg.seg(3) != "" {
		q.notFound()
		return
	}
	title := strings.TrimSpace(q.r.Form.Get("title"))
	if title == "" {
		q.back(back, "A task needs a title")
		return
	}
	bindings := []crm.Owner{{EntityTypeID: t.EntityTypeID, ID: id}}
	p := tasks.Patch{Title: &title, Bindings: &bindings}
	if r, err := strconv.ParseInt(q.r.Form.Get("responsible"), 10, 64); err == nil {
		p.ResponsibleID = &r
	}
	if d, given, ok := formTime(q.r.Form.Get("deadline")); !ok {
		q.back(back, "The deadline is not a date and time")
		return
	} else if given {
		p.Deadline = &d
	}
	if _, err := s.tasks.Add(q.ctx, q.actor, p); err != nil {
		_, msg := errorStatus(err)
		q.back(back, msg)
		return
	}
	q.back(back, "")
}

// fetchJSON: the request came from the page's script (fetch), which reads JSON.
var _ = http.MethodPost
