package web

import (
	"net/http"
	"strconv"
	"strings"

	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
)

// The card layout editor: the sections of the item card with their fields — fields
// dragged between sections (or sent with each field's "section" choice, the keyboard's
// way), sections renamed, added, removed and reordered — and the fields Kanban cards
// show; saved as the common layout or as the person's own.

type cardLayoutPage struct {
	adminFrame
	Scope    string // the layout shown: P (own), C (common) or "" (the default)
	Common   bool   // the person may save the common layout (an administrator)
	Sections []layoutSection
	Unused   []layoutField
	Kanban   []optionView
	MaxCards int
}

type layoutSection struct {
	Key, Title string
	Fields     []layoutField
}

type layoutField struct {
	Name, Title string
}

func (s *Server) cardLayoutRoute(q *request, t *crm.Type) {
	page := cardLayoutPage{adminFrame: s.frame(t, "card"), MaxCards: cardlayout.MaxKanbanFields, Common: q.actor.IsAdmin}
	if !page.Common {
		// A person who may not configure the CRM sees only their own layout's tab.
		page.Tabs = []tabView{{Text: "Card layout", URL: SettingsPath(t.EntityTypeID, "card/"), Current: true}}
	}
	status := http.StatusOK
	switch q.r.Method {
	case http.MethodPost:
		scope := cardlayout.Scope(q.r.PostForm.Get("scope"))
		if !page.Common {
			scope = cardlayout.ScopePersonal
		}
		var err error
		if q.r.PostForm.Get("reset") == "Y" {
			if err = s.layouts.Reset(q.ctx, q.actor, t.EntityTypeID, scope, q.actor.UserID); err == nil {
				err = s.layouts.ResetKanbanFields(q.ctx, q.actor, t.EntityTypeID, scope, q.actor.UserID)
			}
		} else {
			err = s.saveCardLayout(q, t, scope)
		}
		if err == nil {
			q.back(SettingsPath(t.EntityTypeID, "card/"), "Saved the card layout")
			return
		}
		status = page.fail("save", err)
	default:
		if !q.method(http.MethodGet) {
			return
		}
	}
	sections, scope, err := s.layouts.Get(q.ctx, q.actor, t.EntityTypeID, q.actor.UserID)
	if err != nil {
		q.fail(err)
		return
	}
	page.Scope = string(scope)
	placed := map[crm.FieldName]bool{}
	for i, sec := range sections {
		ls := layoutSection{Key: "s" + strconv.Itoa(i), Title: sec.Title}
		for _, n := range sec.Fields {
			if f, ok := t.FieldByName(string(n)); ok {
				ls.Fields = append(ls.Fields, layoutField{Name: string(f.Name), Title: f.Title})
				placed[f.Name] = true
			}
		}
		page.Sections = append(page.Sections, ls)
	}
	shown, _, err := s.layouts.KanbanFields(q.ctx, q.actor, t.EntityTypeID, q.actor.UserID)
	if err != nil {
		q.fail(err)
		return
	}
	onCard := map[crm.FieldName]bool{}
	for _, f := range shown {
		onCard[f.Name] = true
	}
	for _, f := range layoutCandidates(t) {
		if !placed[f.Name] {
			page.Unused = append(page.Unused, layoutField{Name: string(f.Name), Title: f.Title})
		}
		if kanbanCandidate(f) {
			page.Kanban = append(page.Kanban, optionView{Value: string(f.Name), Label: f.Title, Selected: onCard[f.Name]})
		}
	}
	q.render(status, "cardlayout", t.Title+": card layout", t.EntityTypeID, &page)
}

// layoutCandidates are the fields a card may show: the default layout's, which leaves
// out what is hidden, switched off or computed.
func layoutCandidates(t *crm.Type) []*crm.Field {
	var out []*crm.Field
	for _, sec := range cardlayout.Default(t) {
		for _, n := range sec.Fields {
			if f, ok := t.FieldByName(string(n)); ok {
				out = append(out, f)
			}
		}
	}
	return out
}

// kanbanCandidate: the card shows its title, stage, responsible and amount anyway.
func kanbanCandidate(f *crm.Field) bool {
	switch f.Name {
	case crm.FieldTitle, crm.FieldStageID, crm.FieldAssignedByID, crm.FieldOpportunity, crm.FieldCurrencyID:
		return false
	}
	return true
}

// saveCardLayout reads the editor's form: sections in order (`sections`), each with its
// title (`title-KEY`), its fields in order (`f-KEY`) — a field whose section choice
// (`to-FIELD`) names another section goes there — and one new section; then the
// Kanban fields.
func (s *Server) saveCardLayout(q *request, t *crm.Type, scope cardlayout.Scope) error {
	f := q.r.PostForm
	var keys []string
	for _, k := range f["sections"] {
		if f.Get("remove-"+k) != "Y" {
			keys = append(keys, k)
		}
	}
	if title := strings.TrimSpace(f.Get("new-section")); title != "" {
		keys = append(keys, "new")
		f.Set("title-new", title)
	}
	byKey := map[string]*cardlayout.Section{}
	out := make([]cardlayout.Section, len(keys))
	for i, k := range keys {
		out[i] = cardlayout.Section{Name: "section_" + strconv.Itoa(i+1), Title: strings.TrimSpace(f.Get("title-" + k))}
		if out[i].Title == "" {
			out[i].Title = "Section " + strconv.Itoa(i+1)
		}
		byKey[k] = &out[i]
	}
	// Every field the form lists, in order, with the section it goes to.
	for _, k := range f["sections"] {
		for _, name := range f["f-"+k] {
			to := k
			if chosen, given := f["to-"+name]; given && len(chosen) > 0 {
				to = chosen[0]
			}
			if sec := byKey[to]; sec != nil {
				sec.Fields = append(sec.Fields, crm.FieldName(name))
			}
		}
	}
	// Fields not shown yet, sent to a section with their choice.
	for _, name := range f["f-unused"] {
		if sec := byKey[f.Get("to-"+name)]; sec != nil {
			sec.Fields = append(sec.Fields, crm.FieldName(name))
		}
	}
	var kanban []crm.FieldName
	for _, n := range f["kanban"] {
		kanban = append(kanban, crm.FieldName(n))
	}
	// The Kanban choice is checked first: it is the one a form can get wrong (too
	// many), and a refused save should change neither.
	if len(kanban) > cardlayout.MaxKanbanFields {
		return &crm.Error{Kind: crm.ErrInvalidArg, Field: "kanban", Msg: "A Kanban card shows at most " + strconv.Itoa(cardlayout.MaxKanbanFields) + " fields: untick some"}
	}
	if err := s.layouts.Set(q.ctx, q.actor, t.EntityTypeID, scope, q.actor.UserID, out); err != nil {
		return err
	}
	return s.layouts.SetKanbanFields(q.ctx, q.actor, t.EntityTypeID, scope, q.actor.UserID, kanban)
}
