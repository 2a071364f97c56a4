package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"smartcrm/internal/automation"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// The automation editor of a funnel, laid out as Bitrix24 lays it out: a column per
// stage with its triggers and its robots in the order they run. Robots are dragged to
// reorder them or to another stage; each has a form for its type with a placeholder
// picker, a condition builder that writes the expression (which can also be typed), a
// delay. The whole funnel's document is saved at once (smartcrm.automation.set's
// rules): every problem is shown on the card of the robot or trigger it names, and a
// document with any problem stores nothing. Beside it, the queue of runs with retry
// and cancel.

// maxDocumentBytes bounds a saved document: 100 robots and triggers per stage.
const maxDocumentBytes = 4 << 20

type automationPage struct {
	adminFrame
	Category     *crm.Category
	Categories   []linkView
	Version      int64
	Columns      []automationColumn
	RobotTypes   []robotTemplate
	TriggerTypes []robotTemplate
	Stages       []optionView
	Fields       string // JSON: the fields a condition may compare, for the builder
	Placeholders []optionView
	DateFields   []optionView
	SaveURL      string
	WebhookURL   string // the base of webhook trigger URLs
	Secret       bool   // the webhook base holds a secret made just now
	RunsURL      string
}

type automationColumn struct {
	StageID  string
	Name     string
	Color    string
	Robots   []robotView
	Triggers []triggerView
}

// robotView is a robot's card.
type robotView struct {
	Key       string // unique on the page, for control ids
	ID        string
	Type      string
	TypeTitle string
	Title     string
	Summary   string
	Condition string
	DelayKind string // "", after, field
	After     string
	Field     string
	Offset    string
	Working   bool
	Parallel  bool
	Params    []paramView
	Extra     string
	Dates     []optionView
}

type triggerView struct {
	Key            string
	ID             string
	Type           string
	TypeTitle      string
	Summary        string
	Condition      string
	AllowBackwards bool
	Params         []paramView
	Extra          string
	URL            string // a webhook trigger's URL; an app trigger's code
}

// robotTemplate is a blank card of a type, which the script copies to add one.
type robotTemplate struct {
	Type, Title string
	Robot       robotView
	Trigger     triggerView
}

func (s *Server) automationRoute(q *request, tg target) {
	if !q.admin() {
		return
	}
	t := tg.t
	if s.auto == nil || !t.HasStages() {
		q.notFound()
		return
	}
	switch tg.seg(1) {
	case "runs":
		s.runsPage(q, t, tg.rest[2:])
		return
	case "category":
	default:
		q.notFound()
		return
	}
	cat, rest, ok := categoryOf(t, tg, 1)
	if !ok || len(rest) > 1 {
		q.notFound()
		return
	}
	page := automationPage{adminFrame: s.frame(t, "automation")}
	switch {
	case len(rest) == 1 && rest[0] == "webhook" && q.r.Method == http.MethodPost:
		secret, err := s.people.CreateFor(q.ctx, q.actor, "Automation triggers of "+t.Title)
		if err != nil {
			q.fail(err)
			return
		}
		page.WebhookURL = strings.TrimSuffix(s.auto.PublicURL(), "/") + "/rest/" + itoa(q.actor.UserID) + "/" + secret + "/"
		page.Secret = true
	case len(rest) == 1:
		q.notFound()
		return
	case q.r.Method == http.MethodPost:
		s.saveAutomation(q, t, cat)
		return
	case !q.method(http.MethodGet, http.MethodPost):
		return
	}
	doc, err := s.auto.Get(q.ctx, q.actor, t.EntityTypeID, cat)
	if err != nil {
		q.fail(err)
		return
	}
	s.fillAutomation(q, &page, t, cat, doc)
	q.render(http.StatusOK, "automation", t.Title+": automation", t.EntityTypeID, &page)
}

// saveAutomation stores the document the editor sends as JSON, or answers every
// problem with it.
func (s *Server) saveAutomation(q *request, t *crm.Type, cat int64) {
	var doc automation.Document
	dec := json.NewDecoder(io.LimitReader(q.r.Body, maxDocumentBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		q.json(http.StatusBadRequest, map[string]any{"ok": false, "error": "The editor sent a document that does not read: " + err.Error()})
		return
	}
	doc.EntityTypeID, doc.CategoryID = t.EntityTypeID, cat
	saved, err := s.auto.Set(q.ctx, q.actor, &doc)
	var inv *automation.InvalidError
	switch {
	case errors.As(err, &inv):
		q.json(http.StatusUnprocessableEntity, map[string]any{"ok": false, "error": "Nothing was saved: fix the problems shown on the cards",
			"problems": inv.Problems})
	case err != nil:
		q.fail(err)
	default:
		q.json(http.StatusOK, map[string]any{"ok": true, "version": saved.Version})
	}
}

func (s *Server) editorContext(q *request, t *crm.Type, cat int64) *editorContext {
	ec := &editorContext{t: t, cat: cat, userBy: map[int64]string{}}
	_, users := s.usersByID(q.ctx)
	for _, u := range users {
		if u.Active {
			ec.users = append(ec.users, optionView{Value: itoa(u.ID), Label: fullName(u)})
			ec.userBy[u.ID] = fullName(u)
		}
	}
	for _, etid := range []int64{1, 2, 3, 4} {
		if ot, err := s.crm.ItemType(q.ctx, q.actor, etid); err == nil {
			ec.types = append(ec.types, optionView{Value: itoa(etid), Label: pluralTitle(ot)})
		}
	}
	if types, err := s.crm.AllTypes(q.ctx, q.actor); err == nil {
		for _, ot := range types {
			ec.types = append(ec.types, optionView{Value: itoa(ot.EntityTypeID), Label: ot.Title})
		}
	}
	return ec
}

func (s *Server) fillAutomation(q *request, page *automationPage, t *crm.Type, cat int64, doc *automation.Document) {
	ec := s.editorContext(q, t, cat)
	page.Category, page.Version = t.Category(cat), doc.Version
	page.SaveURL = AutomationPath(t.EntityTypeID, cat)
	page.RunsURL = RunsPath(t.EntityTypeID)
	if page.WebhookURL == "" {
		page.WebhookURL = strings.TrimSuffix(s.auto.PublicURL(), "/") + "/rest/" + itoa(q.actor.UserID) + "/{webhook secret}/"
	}
	for _, c := range t.Categories() {
		page.Categories = append(page.Categories, linkView{Text: c.Name, URL: AutomationPath(t.EntityTypeID, c.ID)})
	}
	type fieldInfo struct {
		Name, Title, Kind string
	}
	var fields []fieldInfo
	page.Placeholders = []optionView{{Value: "{{title}}", Label: "Title"}, {Value: "{{id}}", Label: "ID"},
		{Value: "{{stageName}}", Label: "Stage"}, {Value: "{{url}}", Label: "Link to the item"},
		{Value: "{{assignedBy.fullName}}", Label: "Responsible: name"}, {Value: "{{assignedBy.email}}", Label: "Responsible: e-mail"}}
	for _, f := range t.Fields() {
		if f.Hidden || f.Deprecated || !t.Enabled(f) {
			continue
		}
		fields = append(fields, fieldInfo{Name: string(f.Name), Title: f.Title, Kind: conditionKind(f)})
		if f.Name != crm.FieldTitle && f.Name != crm.FieldID {
			page.Placeholders = append(page.Placeholders, optionView{Value: "{{" + string(f.Name) + "}}", Label: f.Title})
		}
		if isDate(f) {
			page.DateFields = append(page.DateFields, optionView{Value: string(f.Name), Label: f.Title})
		}
	}
	b, _ := json.Marshal(fields)
	page.Fields = string(b)
	page.Stages = stageOptions(t, cat)
	key := 0
	for _, st := range t.StagesOf(cat) {
		col := automationColumn{StageID: st.StatusID, Name: st.Name, Color: st.Color}
		if sa := doc.Stages[st.StatusID]; sa != nil {
			for _, r := range sa.Robots {
				key++
				col.Robots = append(col.Robots, ec.robotView(r, "r"+strconv.Itoa(key), page.DateFields))
			}
			for _, tr := range sa.Triggers {
				key++
				col.Triggers = append(col.Triggers, ec.triggerView(tr, "t"+strconv.Itoa(key), page.WebhookURL))
			}
		}
		page.Columns = append(page.Columns, col)
	}
	for _, rt := range robotTypes {
		page.RobotTypes = append(page.RobotTypes, robotTemplate{Type: rt.Type, Title: rt.Title,
			Robot: ec.robotView(&automation.Robot{Type: rt.Type, Params: map[string]any{}}, "new-"+rt.Type+"-", page.DateFields)})
	}
	for _, tt := range triggerTypes {
		page.TriggerTypes = append(page.TriggerTypes, robotTemplate{Type: tt.Type, Title: tt.Title,
			Trigger: ec.triggerView(&automation.Trigger{Type: tt.Type, Params: map[string]any{}}, "new-"+tt.Type+"-", page.WebhookURL)})
	}
}

func (ec *editorContext) robotView(r *automation.Robot, key string, dates []optionView) robotView {
	spec := typeSpecOf(robotTypes, r.Type)
	v := robotView{Key: key, ID: r.ID, Type: r.Type, TypeTitle: spec.Title, Title: r.Title, Condition: r.Condition, Parallel: r.Parallel,
		Params: ec.paramViews(spec.Params, r.Params, key+"-p-"), Extra: extraParams(spec.Params, r.Params)}
	if r.ID != "" {
		v.Summary = ec.robotSummary(r)
	}
	if d := r.Delay; d != nil {
		v.After, v.Field, v.Offset, v.Working = d.After, d.Field, d.Offset, d.WorkingHours
		switch {
		case d.After != "":
			v.DelayKind = "after"
		case d.Field != "":
			v.DelayKind = "field"
		}
	}
	for _, o := range dates {
		o.Selected = o.Value == v.Field
		v.Dates = append(v.Dates, o)
	}
	return v
}

func (ec *editorContext) triggerView(tr *automation.Trigger, key, webhookBase string) triggerView {
	spec := typeSpecOf(triggerTypes, tr.Type)
	v := triggerView{Key: key, ID: tr.ID, Type: tr.Type, TypeTitle: spec.Title, Condition: tr.Condition, AllowBackwards: tr.AllowBackwards,
		Params: ec.paramViews(spec.Params, tr.Params, key+"-p-"), Extra: extraParams(spec.Params, tr.Params)}
	if tr.ID != "" {
		v.Summary = ec.triggerSummary(tr)
	}
	switch tr.Type {
	case automation.TriggerWebhook:
		v.URL = webhookBase + "crm.automation.trigger/?target=" + triggerTarget(ec.t) + "_{ID}&code=" + tr.ID
	case automation.TriggerApp:
		v.URL = "crm.automation.trigger.execute {CODE: \"" + jsonText(tr.Params["code"]) + "\", OWNER_TYPE_ID: " + itoa(ec.t.EntityTypeID) + ", OWNER_ID: {ID}}"
	}
	return v
}

// triggerTarget is how crm.automation.trigger names the type's items: DEAL_57,
// DYNAMIC_1030_5.
func triggerTarget(t *crm.Type) string {
	switch t.EntityTypeID {
	case 1:
		return "LEAD"
	case 2:
		return "DEAL"
	}
	return "DYNAMIC_" + itoa(t.EntityTypeID)
}

// conditionKind is how the condition builder writes a value of the field.
func conditionKind(f *crm.Field) string {
	switch f.Type.(type) {
	case field.Integer, field.Double, field.Enumeration, field.File:
		return "number"
	case field.Boolean:
		return "bool"
	}
	if isDate(f) {
		return "date"
	}
	return "text"
}

func isDate(f *crm.Field) bool {
	switch f.Type.(type) {
	case field.Date, field.DateTime:
		return true
	}
	return false
}

// The queue of runs.

type runsPage struct {
	adminFrame
	Status   string
	Statuses []optionView
	Runs     []runRow
	Next     string
}

type runRow struct {
	ID        int64
	Item      linkView
	Stage     string
	Robot     string
	Status    string
	Attempts  int64
	Error     string
	Scheduled string
	Finished  string
	CanRetry  bool
	CanCancel bool
}

func (s *Server) runsPage(q *request, t *crm.Type, rest []string) {
	page := runsPage{adminFrame: s.frame(t, "runs")}
	status := http.StatusOK
	if len(rest) == 2 && q.r.Method == http.MethodPost {
		id, err := strconv.ParseInt(rest[0], 10, 64)
		if err != nil {
			q.notFound()
			return
		}
		var run *automation.Run
		switch rest[1] {
		case "retry":
			run, err = s.auto.Retry(q.ctx, q.actor, id)
		case "cancel":
			run, err = s.auto.Cancel(q.ctx, q.actor, id)
		default:
			q.notFound()
			return
		}
		if err == nil && run.EntityTypeID != t.EntityTypeID {
			err = crm.NewError(crm.ErrItemNotFound, "Run %d is not a run of %s", id, t.Title)
		}
		if err == nil {
			q.back(RunsPath(t.EntityTypeID)+"?status="+urlQueryEscape(q.r.URL.Query().Get("status")), "Run "+itoa(id)+": "+run.Status)
			return
		}
		status = page.fail("runs", err)
	} else if len(rest) != 0 || !q.method(http.MethodGet) {
		if len(rest) != 0 {
			q.notFound()
		}
		return
	}
	page.Status = q.r.URL.Query().Get("status")
	for _, st := range []string{"", automation.StatusQueued, automation.StatusWaiting, automation.StatusRunning, automation.StatusDone,
		automation.StatusSkipped, automation.StatusFailed, automation.StatusCancelled} {
		label := st
		if st == "" {
			label = "any"
		}
		page.Statuses = append(page.Statuses, optionView{Value: st, Label: label, Selected: st == page.Status})
	}
	before, _ := strconv.ParseInt(q.r.URL.Query().Get("before"), 10, 64)
	runs, next, err := s.auto.Runs(q.ctx, q.actor, automation.RunQuery{EntityTypeID: t.EntityTypeID, Status: page.Status, Before: before})
	if err != nil {
		status = page.fail("runs", err)
	}
	stageName := func(id string) string {
		if st := t.StageByStatusID(id); st != nil {
			return st.Name
		}
		return id
	}
	for _, r := range runs {
		row := runRow{ID: r.ID, Item: linkView{Text: "#" + itoa(r.ItemID), URL: DetailsPath(t.EntityTypeID, r.ItemID)}, Stage: stageName(r.StageID),
			Robot: r.Title, Status: r.Status, Attempts: r.Attempts, Error: r.Error,
			CanRetry:  r.Status == automation.StatusFailed || r.Status == automation.StatusCancelled,
			CanCancel: r.Status == automation.StatusQueued || r.Status == automation.StatusWaiting}
		if row.Robot == "" {
			row.Robot = typeSpecOf(robotTypes, r.RobotType).Title + " (" + r.RobotID + ")"
		}
		if !r.ScheduledTime.IsZero() {
			row.Scheduled = r.ScheduledTime.Format("2006-01-02 15:04:05")
		}
		if !r.FinishedTime.IsZero() {
			row.Finished = r.FinishedTime.Format("2006-01-02 15:04:05")
		}
		page.Runs = append(page.Runs, row)
	}
	if next != 0 {
		page.Next = RunsPath(t.EntityTypeID) + "?status=" + urlQueryEscape(page.Status) + "&before=" + itoa(next)
	}
	q.render(status, "runs", t.Title+": automation runs", t.EntityTypeID, &page)
}
