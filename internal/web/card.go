package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/automation"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// The item card: the fields in the sections of the type's card layout (the person's
// own, else the common one, else the default), inline editing that shows the domain's
// validation messages, a stage bar (in-progress stages, then success or a failure),
// client and parent links, the lists of child items, the timeline with comments,
// to-dos and tasks, and the automation runs of the item. Every edit names the item's
// version the page was rendered with: a change made since is reported, not overwritten.

type cardPage struct {
	csrfHolder
	Type      *crm.Type
	ID        int64
	Version   int64
	Title     string
	New       bool
	Base      string
	URL       string
	Sections  []sectionView
	Stages    []stageStep
	Success   []stageStep
	Failures  []stageStep
	Children  []childList
	Timeline  timelineView
	ToDos     []todoView
	Tasks     []taskView
	Users     []optionView
	Runs      []automationRun
	KanbanURL string
	ListURL   string
	LayoutURL string // where the person lays out the card for themselves
	Error     string
}

type sectionView struct {
	Name, Title string
	Rows        []fieldRow
}

// fieldRow is a field on the card: its value, and its control when it is editable.
type fieldRow struct {
	Name     string
	Title    string
	Value    valueView
	Editable bool
	Input    inputView
	Action   string
	Version  int64
	CSRF     string
	Multi    bool // the control sends files: a multipart form
}

type stageStep struct {
	ID, Name, Color, Semantics string
	Current, Passed            bool
}

type childList struct {
	Title  string
	AddURL string
	Items  []linkView
	More   string
}

func (s *Server) detailsRoute(q *request, tg target) {
	id, ok := tg.num(1)
	if !ok || id < 0 {
		q.notFound()
		return
	}
	t := tg.t
	action := tg.seg(2)
	if id == 0 {
		switch {
		case action == "" && q.r.Method == http.MethodPost:
			s.createItem(q, t)
		case action == "" && q.method(http.MethodGet, http.MethodPost):
			s.newItem(q, t, nil, "")
		}
		return
	}
	switch action {
	case "":
		if q.method(http.MethodGet) {
			s.cardPage(q, t, id)
		}
	case "card":
		if q.method(http.MethodGet) {
			s.cardFragment(q, t, id)
		}
	case "input":
		if q.method(http.MethodGet) {
			s.inputFragment(q, t, id)
		}
	case "field":
		if q.method(http.MethodPost) {
			s.editFields(q, t, id)
		}
	case "stage":
		if q.method(http.MethodPost) {
			s.moveItem(q, t, id)
		}
	case "delete":
		if q.method(http.MethodPost) {
			s.deleteItem(q, t, id)
		}
	case "comment":
		if q.method(http.MethodPost) {
			s.addComment(q, t, id)
		}
	case "todo":
		if q.method(http.MethodPost) {
			s.todoAction(q, t, id, tg)
		}
	case "task":
		if q.method(http.MethodPost) {
			s.taskAction(q, t, id, tg)
		}
	default:
		q.notFound()
	}
}

// cardPage renders the card of an item.
func (s *Server) cardPage(q *request, t *crm.Type, id int64) {
	_, it, err := s.crm.GetItem(q.ctx, q.actor, t.EntityTypeID, id)
	if err != nil {
		q.fail(err)
		return
	}
	p, err := s.buildCard(q, t, it)
	if err != nil {
		q.fail(err)
		return
	}
	q.render(http.StatusOK, "card", p.Title, t.EntityTypeID, p)
}

func (s *Server) buildCard(q *request, t *crm.Type, it *crm.Item) (*cardPage, error) {
	base := DetailsPath(t.EntityTypeID, it.ID)
	p := &cardPage{Type: t, ID: it.ID, Version: it.Version, Title: it.Title(t), Base: basePath(t.EntityTypeID), URL: base,
		ListURL: ListPath(t.EntityTypeID, -1), LayoutURL: SettingsPath(t.EntityTypeID, "card/")}
	if p.Title == "" {
		p.Title = t.Title + " #" + itoa(it.ID)
	}
	if t.HasStages() {
		p.KanbanURL = KanbanPath(t.EntityTypeID, it.CategoryID())
		p.ListURL = ListPath(t.EntityTypeID, it.CategoryID())
		p.Stages, p.Success, p.Failures = stageBar(t, it)
	}
	layout, _, err := s.layouts.GetFunnel(q.ctx, q.actor, t.EntityTypeID, it.CategoryID(), q.actor.UserID)
	if err != nil {
		return nil, err
	}
	var shown []*crm.Field
	for _, sec := range layout {
		for _, n := range sec.Fields {
			if f := mustField(t, n); f != nil {
				shown = append(shown, f)
			}
		}
	}
	refs := map[int64][]int64{}
	collectRefs(refs, shown, []*crm.Item{it})
	tt := q.loadTitles(refs)
	for _, sec := range layout {
		sv := sectionView{Name: sec.Name, Title: sec.Title}
		for _, n := range sec.Fields {
			f := mustField(t, n)
			if f == nil || !t.Enabled(f) {
				continue
			}
			sv.Rows = append(sv.Rows, q.fieldRow(t, f, it, tt))
		}
		p.Sections = append(p.Sections, sv)
	}
	if p.Children, err = s.childLists(q, t, it); err != nil {
		return nil, err
	}
	before, _ := strconv.ParseInt(q.r.URL.Query().Get("before"), 10, 64)
	if p.Timeline, err = s.timelineOf(q, t, it.ID, before); err != nil {
		return nil, err
	}
	if p.ToDos, err = s.openToDos(q, t, it.ID); err != nil {
		return nil, err
	}
	if p.Tasks, err = s.itemTasks(q, t, it.ID); err != nil {
		return nil, err
	}
	_, users := s.usersByID(q.ctx)
	for _, u := range users {
		if u.Active {
			p.Users = append(p.Users, optionView{Value: itoa(u.ID), Label: fullName(u), Selected: u.ID == q.actor.UserID})
		}
	}
	p.Runs = s.automationRuns(q, t, it)
	return p, nil
}

func (q *request) fieldRow(t *crm.Type, f *crm.Field, it *crm.Item, tt titles) fieldRow {
	r := fieldRow{Name: string(f.Name), Title: f.Title, Value: q.display(t, f, it.Get(f.Name), tt),
		Editable: editable(t, f, false) && f.Name != crm.FieldStageID, Action: DetailsPath(t.EntityTypeID, it.ID) + "field",
		Version: it.Version, CSRF: q.sess.CSRF}
	if r.Editable {
		r.Input = q.input(t, f, it.Get(f.Name), "edit-")
		r.Multi = r.Input.Kind == "file"
	}
	return r
}

// stageBar splits a funnel's stages: those in progress (passed, current, ahead), then
// the success and failure choices.
func stageBar(t *crm.Type, it *crm.Item) (steps, success, failures []stageStep) {
	cur := t.Stage(it.CategoryID(), it.StageID())
	passed := true
	for _, st := range t.StagesOf(it.CategoryID()) {
		step := stageStep{ID: st.StatusID, Name: st.Name, Color: st.Color, Semantics: string(st.Semantics), Current: st.StatusID == it.StageID()}
		if step.Current {
			passed = false
		}
		switch st.Semantics {
		case crm.Success:
			success = append(success, step)
		case crm.Failure:
			failures = append(failures, step)
		default:
			step.Passed = passed && cur != nil && cur.Semantics == crm.InProgress
			if cur != nil && cur.Semantics != crm.InProgress {
				step.Passed = true
			}
			steps = append(steps, step)
		}
	}
	return steps, success, failures
}

// childLists lists, for every child type shown on the card, the newest children.
func (s *Server) childLists(q *request, t *crm.Type, it *crm.Item) ([]childList, error) {
	var out []childList
	for _, rel := range t.Relations.Child {
		if !rel.IsChildrenListEnabled {
			continue
		}
		ct, err := s.crm.ItemType(q.ctx, q.actor, rel.EntityTypeID)
		if err != nil {
			continue
		}
		link := mustField(ct, crm.ParentField(t.EntityTypeID))
		if link == nil || link.Column == "" {
			continue
		}
		cl := childList{Title: pluralTitle(ct), AddURL: DetailsPath(ct.EntityTypeID, 0) + "?" + string(link.Name) + "=" + itoa(it.ID)}
		var sel []*crm.Field
		if f := ct.TitleField(); f != nil {
			sel = append(sel, f)
		}
		idf := ct.QueryField(mustField(ct, crm.FieldID))
		_, list, err := s.crm.ListItems(q.ctx, q.actor, ct.EntityTypeID, crm.ItemQuery{
			Where:  query.Group{Items: []query.Expr{query.Cond{Field: ct.QueryField(link), Op: field.OpEq, Value: it.ID}}},
			Order:  []query.Order{{Field: idf, Desc: true}},
			Select: sel, NoCount: true, Limit: 11})
		if err != nil {
			return nil, err
		}
		items := list.Items
		if len(items) > 10 {
			items = items[:10]
			cl.More = ListPath(ct.EntityTypeID, -1) + "?ff=" + string(link.Name) + "&fo=eq&fv=" + itoa(it.ID)
		}
		for _, c := range items {
			title := c.Title(ct)
			if title == "" {
				title = "#" + itoa(c.ID)
			}
			cl.Items = append(cl.Items, linkView{Text: title, URL: DetailsPath(ct.EntityTypeID, c.ID)})
		}
		out = append(out, cl)
	}
	return out, nil
}

// automationRun is a robot's run on this item, with its status.
type automationRun struct {
	Robot, Stage, Status, When string
}

// automationRuns lists the newest automation runs of an item for its card: the robot,
// the stage it ran for, how it went, and when.
func (s *Server) automationRuns(q *request, t *crm.Type, it *crm.Item) []automationRun {
	if s.auto == nil {
		return nil
	}
	runs, _, err := s.auto.Runs(q.ctx, q.actor, automation.RunQuery{EntityTypeID: t.EntityTypeID, ItemID: it.ID, Limit: 20})
	if err != nil {
		s.log.Warn("reading automation runs for a card", "entityTypeId", t.EntityTypeID, "id", it.ID, "err", err)
		return nil
	}
	out := make([]automationRun, len(runs))
	for i, r := range runs {
		robot := r.Title
		if robot == "" {
			robot = r.RobotID + " (" + r.RobotType + ")"
		}
		stage := r.StageID
		if st := t.Stage(r.CategoryID, r.StageID); st != nil {
			stage = st.Name
		}
		status := r.Status
		if r.Error != "" {
			status += ": " + r.Error
		}
		when := r.FinishedTime
		switch {
		case when.IsZero() && !r.StartedTime.IsZero():
			when = r.StartedTime
		case when.IsZero() && !r.ScheduledTime.IsZero():
			when = r.ScheduledTime
		case when.IsZero():
			when = r.CreatedTime
		}
		out[i] = automationRun{Robot: robot, Stage: stage, Status: status, When: when.In(time.Local).Format("2006-01-02 15:04")}
	}
	return out
}

// newItem renders the form of a new item, prefilled from the query (a stage, a parent
// link), with an error from a refused save.
func (s *Server) newItem(q *request, t *crm.Type, sent *crm.Item, msg string) {
	p := &cardPage{Type: t, New: true, Title: "New: " + t.Title, Base: basePath(t.EntityTypeID), URL: DetailsPath(t.EntityTypeID, 0),
		ListURL: ListPath(t.EntityTypeID, -1), Error: msg}
	sec := sectionView{Name: "main", Title: t.Title}
	for _, f := range t.Fields() {
		if !editable(t, f, true) || f.Name == crm.FieldOpened || f.Name == crm.FieldXMLID || f.Name == crm.FieldCurrencyID {
			continue
		}
		var v any
		if raw := q.r.URL.Query().Get(string(f.Name)); raw != "" {
			v = raw
		}
		if q.r.Method == http.MethodPost {
			if vals, ok := q.r.Form[string(f.Name)]; ok && len(vals) > 0 {
				v = vals[0]
			}
		}
		if f.Name == crm.FieldAssignedByID && v == nil {
			v = q.actor.UserID
		}
		in := q.input(t, f, v, "new-")
		if s, ok := v.(string); ok && in.Kind != "select" && in.Kind != "yesno" {
			in.Value = s
		}
		sec.Rows = append(sec.Rows, fieldRow{Name: string(f.Name), Title: f.Title, Editable: true, Input: in, Multi: in.Kind == "file"})
	}
	p.Sections = []sectionView{sec}
	status := http.StatusOK
	if msg != "" {
		status = http.StatusUnprocessableEntity
	}
	q.render(status, "new", p.Title, t.EntityTypeID, p)
}

// parseForm reads a posted form; a form with files is read up to the upload limit,
// which a declared larger body never reaches (refused before anything is read).
func (q *request) parseForm() error {
	if strings.HasPrefix(q.r.Header.Get("Content-Type"), "multipart/") {
		if q.r.ContentLength > q.s.maxUp {
			return errTooLarge
		}
		q.r.Body = http.MaxBytesReader(q.w, q.r.Body, q.s.maxUp)
		if err := q.r.ParseMultipartForm(8 << 20); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errTooLarge
			}
			return crm.NewError(crm.ErrInvalidArg, "The form could not be read")
		}
		return nil
	}
	return q.r.ParseForm()
}

var errTooLarge = errors.New("request too large")

// formError answers a form that could not be read.
func (q *request) formError(err error) {
	if errors.Is(err, errTooLarge) {
		http.Error(q.w, fmt.Sprintf("The upload is larger than %d MB", q.s.maxUp>>20), http.StatusRequestEntityTooLarge)
		return
	}
	q.fail(err)
}

// editableNames lists the fields a form may set: the sent "fields", or every editable
// field the form holds.
func editableNames(q *request, t *crm.Type, adding bool) []string {
	names := q.r.Form["fields"]
	if len(names) == 0 {
		for _, f := range t.Fields() {
			if editable(t, f, adding) && (q.r.Form.Has(string(f.Name)) || q.r.MultipartForm != nil && q.r.MultipartForm.File[string(f.Name)] != nil) {
				names = append(names, string(f.Name))
			}
		}
	}
	return names
}

func (s *Server) createItem(q *request, t *crm.Type) {
	if err := q.parseForm(); err != nil {
		q.formError(err)
		return
	}
	patch, err := q.formPatch(t, editableNames(q, t, true), nil)
	if err == nil {
		var it *crm.Item
		if _, it, err = s.crm.AddItem(q.ctx, q.actor, t.EntityTypeID, patch); err == nil {
			if q.wantsJSON() {
				_, extra := q.cardFields(t)
				c := q.card(t, it, extra, q.loadTitles(map[int64][]int64{}), stageOptions(t, it.CategoryID()))
				html, ferr := s.fragment("card", c)
				if ferr != nil {
					q.fail(ferr)
					return
				}
				q.json(http.StatusOK, map[string]any{"ok": true, "id": it.ID, "stage": it.StageID(), "html": html})
				return
			}
			http.Redirect(q.w, q.r, DetailsPath(t.EntityTypeID, it.ID), http.StatusSeeOther)
			return
		}
	}
	if q.wantsJSON() {
		q.domainError(t, err, nil)
		return
	}
	if _, msg := errorStatus(err); crm.KindOf(err) != 0 {
		s.newItem(q, t, nil, msg)
		return
	}
	q.fail(err)
}

// domainError answers a refused change to a script: the domain's message, the field it
// concerns with its title and a control to fill it in place, and whether the item
// changed since the page was loaded.
func (q *request) domainError(t *crm.Type, err error, it *crm.Item) {
	status, msg := errorStatus(err)
	if status == http.StatusInternalServerError {
		q.s.log.Error("change failed", "path", q.r.URL.Path, "err", err)
	}
	out := map[string]any{"ok": false, "error": msg}
	var de *crm.Error
	if errors.As(err, &de) {
		switch {
		case de.Kind == crm.ErrStaleVersion:
			out["stale"] = true
			out["error"] = "Someone changed this item after you loaded the page, so your change was not saved. Reload to see their change, then redo yours."
		case de.Field != "":
			if f := mustField(t, crm.FieldName(de.Field)); f != nil {
				out["field"], out["title"] = string(f.Name), f.Title
				if editable(t, f, it == nil) {
					var v any
					if it != nil {
						v = it.Get(f.Name)
					}
					if html, ferr := q.s.fragment("input", q.input(t, f, v, "fill-")); ferr == nil {
						out["input"] = html
					}
				}
			}
		}
	}
	q.json(status, out)
}

// versionOf reads the version the form was rendered with.
func versionOf(q *request) int64 {
	v, _ := strconv.ParseInt(q.r.Form.Get("version"), 10, 64)
	return max(v, 0)
}

// editFields saves the fields an inline edit sends.
func (s *Server) editFields(q *request, t *crm.Type, id int64) {
	if err := q.parseForm(); err != nil {
		q.formError(err)
		return
	}
	_, stored, err := s.crm.GetItem(q.ctx, q.actor, t.EntityTypeID, id)
	if err != nil {
		q.fail(err)
		return
	}
	names := editableNames(q, t, false)
	patch, err := q.formPatch(t, names, stored)
	var it *crm.Item
	if err == nil {
		_, it, err = s.crm.UpdateItem(q.ctx, q.actor, t.EntityTypeID, id, patch, crm.WriteOptions{IfVersion: versionOf(q)})
	}
	if err != nil {
		if q.wantsJSON() {
			q.domainError(t, err, stored)
			return
		}
		_, msg := errorStatus(err)
		q.back(DetailsPath(t.EntityTypeID, id), msg)
		return
	}
	if !q.wantsJSON() {
		q.back(DetailsPath(t.EntityTypeID, id), "Saved")
		return
	}
	var fs []*crm.Field
	for _, n := range names {
		if f := mustField(t, crm.FieldName(n)); f != nil {
			fs = append(fs, f)
		}
	}
	refs := map[int64][]int64{}
	collectRefs(refs, fs, []*crm.Item{it})
	tt := q.loadTitles(refs)
	rows := map[string]string{}
	for _, f := range fs {
		html, err := s.fragment("fieldrow", q.fieldRow(t, f, it, tt))
		if err != nil {
			q.fail(err)
			return
		}
		rows[string(f.Name)] = html
	}
	q.json(http.StatusOK, map[string]any{"ok": true, "version": it.Version, "rows": rows, "title": it.Title(t)})
}

// moveItem moves an item to a stage, with the fields the mover filled in at the same
// time (a field required from that stage on).
func (s *Server) moveItem(q *request, t *crm.Type, id int64) {
	if err := q.parseForm(); err != nil {
		q.formError(err)
		return
	}
	stage := q.r.Form.Get("stage")
	_, stored, err := s.crm.GetItem(q.ctx, q.actor, t.EntityTypeID, id)
	if err != nil {
		q.fail(err)
		return
	}
	var patch crm.Patch
	if names := q.r.Form["fields"]; len(names) > 0 {
		if patch, err = q.formPatch(t, names, stored); err != nil {
			q.domainError(t, err, stored)
			return
		}
	} else {
		patch = crm.Patch{}
	}
	patch[crm.FieldStageID] = stage
	_, it, err := s.crm.UpdateItem(q.ctx, q.actor, t.EntityTypeID, id, patch, crm.WriteOptions{IfVersion: versionOf(q)})
	if err != nil {
		if q.wantsJSON() {
			q.domainError(t, err, stored)
			return
		}
		_, msg := errorStatus(err)
		q.back(q.r.Form.Get("back")+"", msg)
		return
	}
	if q.wantsJSON() {
		q.json(http.StatusOK, map[string]any{"ok": true, "version": it.Version, "stage": it.StageID()})
		return
	}
	back := q.r.Form.Get("back")
	if back == "" {
		back = DetailsPath(t.EntityTypeID, id)
	}
	q.back(back, "")
}

func (s *Server) deleteItem(q *request, t *crm.Type, id int64) {
	if err := s.crm.DeleteItem(q.ctx, q.actor, t.EntityTypeID, id); err != nil {
		q.fail(err)
		return
	}
	q.back(entryPath(t), "Deleted")
}

// cardFragment answers one item's Kanban card (a live update of an item not shown yet).
func (s *Server) cardFragment(q *request, t *crm.Type, id int64) {
	_, it, err := s.crm.GetItem(q.ctx, q.actor, t.EntityTypeID, id)
	if err != nil {
		q.fail(err)
		return
	}
	_, extra := q.cardFields(t)
	refs := map[int64][]int64{}
	collectRefs(refs, extra, []*crm.Item{it})
	html, err := s.fragment("card", q.card(t, it, extra, q.loadTitles(refs), stageOptions(t, it.CategoryID())))
	if err != nil {
		q.fail(err)
		return
	}
	q.json(http.StatusOK, map[string]any{"html": html, "stage": it.StageID(), "category": it.CategoryID(), "version": it.Version})
}

// inputFragment answers a field's control, to fill it in place.
func (s *Server) inputFragment(q *request, t *crm.Type, id int64) {
	f := mustField(t, crm.FieldName(q.r.URL.Query().Get("field")))
	if f == nil || !editable(t, f, false) {
		q.notFound()
		return
	}
	_, it, err := s.crm.GetItem(q.ctx, q.actor, t.EntityTypeID, id)
	if err != nil {
		q.fail(err)
		return
	}
	html, err := s.fragment("input", q.input(t, f, it.Get(f.Name), "fill-"))
	if err != nil {
		q.fail(err)
		return
	}
	q.json(http.StatusOK, map[string]any{"html": html})
}

// readFull reads len(buf) bytes.
func readFull(r io.Reader, buf []byte) (int, error) { return io.ReadFull(r, buf) }
