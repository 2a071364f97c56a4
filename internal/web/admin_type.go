package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/crm"
)

// The list of smart processes with their item counts, creating one (from a preset or
// blank), and a type's general settings: its name, every flag with what it changes,
// its relations with what they do, deleting it and exporting it as a process file.

// flagHelp says in one line what each setting changes.
var flagHelp = map[crm.Flag]string{
	crm.FlagStages:             "Stages: items move through stages, shown as a Kanban with a column per stage.",
	crm.FlagCategories:         "Several funnels: items can be kept in more than one funnel, each with its own stages.",
	crm.FlagAutomation:         "Automation: robots and triggers run on the stages (the automation editor).",
	crm.FlagBeginCloseDates:    "Start and end dates: items get “Start date” and “End date” fields.",
	crm.FlagClient:             "Client: items link to contacts and a company, and appear on their cards.",
	crm.FlagLinkWithProducts:   "Amount: items carry an amount and a currency, summed per stage on the Kanban.",
	crm.FlagMycompany:          "Your company: items name which of your own companies they belong to.",
	crm.FlagSource:             "Source: items record where they came from, with a description.",
	crm.FlagObservers:          "Observers: people besides the responsible can follow each item.",
	crm.FlagUseInUserfield:     "Linkable: “Link to CRM items” fields of other types may point to these items.",
	crm.FlagDocuments:          "Documents: printable documents can be made from items (kept for Bitrix24 clients).",
	crm.FlagRecyclebin:         "Recycle bin: kept for Bitrix24 clients; deleted items are deleted at once here.",
	crm.FlagBizProc:            "Workflows: kept for Bitrix24 clients; use automation for what happens on stages.",
	crm.FlagSetOpenPermissions: "Open to everyone: every employee may see and edit the items.",
	crm.FlagPayments:           "Payments: follows from the payment set-up; shown, not set here.",
	crm.FlagCounters:           "Counters: follows from the CRM's counters; shown, not set here.",
}

// flagOrder lists the flags as the page shows them: what changes most first.
var flagOrder = []crm.Flag{crm.FlagStages, crm.FlagCategories, crm.FlagAutomation, crm.FlagClient, crm.FlagLinkWithProducts,
	crm.FlagBeginCloseDates, crm.FlagObservers, crm.FlagSource, crm.FlagMycompany, crm.FlagUseInUserfield,
	crm.FlagSetOpenPermissions, crm.FlagDocuments, crm.FlagRecyclebin, crm.FlagBizProc, crm.FlagPayments, crm.FlagCounters}

type typesPage struct {
	csrfHolder
	Types   []typeRow
	Presets []PresetInfo
	Error   string
	Title   string // the blank form's title, kept after a refusal
}

type typeRow struct {
	EntityTypeID int64
	Title        string
	Items        int64
	Kanban       string
	Settings     string
}

// typesRoute answers /crm/type/: the list, and creating a type.
func (s *Server) typesRoute(q *request) {
	if !q.admin() || !q.method(http.MethodGet, http.MethodPost) {
		return
	}
	var page typesPage
	status := http.StatusOK
	if q.r.Method == http.MethodPost {
		f := q.r.PostForm
		if name := f.Get("preset"); name != "" {
			p := s.processes()
			if p == nil {
				q.notFound()
				return
			}
			etid, err := p.ApplyPreset(q.ctx, q.actor, name)
			if err == nil {
				t, terr := s.crm.ItemType(q.ctx, q.actor, etid)
				if terr == nil {
					http.Redirect(q.w, q.r, entryPath(t), http.StatusSeeOther)
					return
				}
				err = terr
			}
			status, page.Error = errorStatus(err)
		} else {
			title := f.Get("title")
			flags := crm.Flags{}
			for _, fl := range []crm.Flag{crm.FlagStages, crm.FlagAutomation, crm.FlagCategories, crm.FlagClient, crm.FlagLinkWithProducts} {
				flags[fl] = q.checked(string(fl))
			}
			t, err := s.crm.AddType(q.ctx, q.actor, crm.TypeSpec{Title: &title, Flags: flags})
			if err == nil {
				q.back(SettingsPath(t.EntityTypeID, "fields/"), "Created “"+t.Title+"”: add its fields, then its stages")
				return
			}
			status, page.Error = errorStatus(err)
			page.Title = title
		}
	}
	types, err := s.crm.AllTypes(q.ctx, q.actor)
	if err != nil {
		q.fail(err)
		return
	}
	for _, t := range types {
		n, err := s.itemCount(q, t)
		if err != nil {
			q.fail(err)
			return
		}
		page.Types = append(page.Types, typeRow{EntityTypeID: t.EntityTypeID, Title: t.Title, Items: n, Kanban: entryPath(t),
			Settings: SettingsPath(t.EntityTypeID, "")})
	}
	if p := s.processes(); p != nil {
		page.Presets = p.Presets()
	}
	q.render(status, "types", "Smart processes", 0, &page)
}

// itemCount counts a type's items: from the stage counters when it has stages (no
// scan), else by its list's count.
func (s *Server) itemCount(q *request, t *crm.Type) (int64, error) {
	if t.HasStages() {
		var n int64
		for _, c := range t.Categories() {
			stats, err := s.history.StageStats(q.ctx, q.actor, t.EntityTypeID, c.ID)
			if err != nil {
				return 0, err
			}
			for _, st := range stats {
				n += st.Items
			}
		}
		return n, nil
	}
	_, list, err := s.crm.ListItems(q.ctx, q.actor, t.EntityTypeID, crm.ItemQuery{Select: []*crm.Field{}, Limit: 1})
	if err != nil {
		return 0, err
	}
	return int64(list.Total), nil
}

type typeSettingsPage struct {
	adminFrame
	Flags     []flagView
	Parents   []relationView
	Children  []relationView
	Choices   []optionView // types a relation may name
	Items     int64
	CanExport bool
}

type flagView struct {
	Name     string
	Help     string
	On       bool
	Settable bool
}

type relationView struct {
	EntityTypeID int64
	Title        string
	ShowInCard   bool
	Predefined   bool
	Effect       string
}

// typeSettings answers a type's general page and its forms: save (title and flags),
// relations, delete, export.
func (s *Server) typeSettings(q *request, t *crm.Type, action string) {
	page := typeSettingsPage{adminFrame: s.frame(t, "general")}
	status := http.StatusOK
	if action == "export" {
		s.exportType(q, t)
		return
	}
	if q.r.Method == http.MethodPost {
		var err error
		var done string
		switch action {
		case "save":
			title := q.r.PostForm.Get("title")
			flags := crm.Flags{}
			for _, fl := range crm.AllFlags() {
				if fl.Settable() {
					flags[fl] = q.checked(string(fl))
				}
			}
			_, err = s.crm.UpdateType(q.ctx, q.actor, t.ID, crm.TypeSpec{Title: &title, Flags: flags})
			done = "Saved the settings"
		case "relations":
			rel := editRelations(t, q.r.PostForm)
			_, err = s.crm.UpdateType(q.ctx, q.actor, t.ID, crm.TypeSpec{Relations: &rel})
			done = "Saved the relations"
		case "delete":
			if err = s.crm.DeleteType(q.ctx, q.actor, t.ID, false); err == nil {
				q.back(TypesPath, "Deleted “"+t.Title+"”")
				return
			}
		default:
			q.notFound()
			return
		}
		if err == nil {
			q.back(SettingsPath(t.EntityTypeID, ""), done)
			return
		}
		status = page.fail(action, err)
	} else if action != "" || !q.method(http.MethodGet) {
		if action != "" {
			q.notFound()
		}
		return
	}
	s.fillTypeSettings(q, &page)
	if msg, ok := page.Errors["delete"]; ok && page.Items > 0 {
		page.Errors["delete"] = fmt.Sprintf("%s: “%s” holds %d items. Delete them, or move them to another type, first.", msg, t.Title, page.Items)
	}
	q.render(status, "type_settings", t.Title+": settings", t.EntityTypeID, &page)
}

func (s *Server) fillTypeSettings(q *request, page *typeSettingsPage) {
	t := page.Type
	for _, fl := range flagOrder {
		page.Flags = append(page.Flags, flagView{Name: string(fl), Help: flagHelp[fl], On: t.Flag(fl), Settable: fl.Settable()})
	}
	title := func(etid int64) string {
		if ot, err := s.crm.ItemType(q.ctx, q.actor, etid); err == nil {
			return pluralTitle(ot)
		}
		return "Type " + itoa(etid)
	}
	for _, r := range t.Relations.Parent {
		p := title(r.EntityTypeID)
		effect := fmt.Sprintf("Each %s item gets a “%s” field linking it to one of them.", t.Title, p)
		if r.IsChildrenListEnabled {
			effect += fmt.Sprintf(" Their cards list their %s items.", t.Title)
		}
		page.Parents = append(page.Parents, relationView{EntityTypeID: r.EntityTypeID, Title: p, ShowInCard: r.IsChildrenListEnabled,
			Predefined: r.IsPredefined, Effect: effect})
	}
	for _, r := range t.Relations.Child {
		c := title(r.EntityTypeID)
		effect := fmt.Sprintf("Each %s item gets a “%s” field linking it to one %s item.", c, t.Title, t.Title)
		if r.IsChildrenListEnabled {
			effect += fmt.Sprintf(" %s cards list their %s.", t.Title, c)
		}
		page.Children = append(page.Children, relationView{EntityTypeID: r.EntityTypeID, Title: c, ShowInCard: r.IsChildrenListEnabled, Effect: effect})
	}
	for _, etid := range []int64{1, 2, 3, 4} {
		page.Choices = append(page.Choices, optionView{Value: itoa(etid), Label: title(etid)})
	}
	if types, err := s.crm.AllTypes(q.ctx, q.actor); err == nil {
		for _, ot := range types {
			page.Choices = append(page.Choices, optionView{Value: itoa(ot.EntityTypeID), Label: ot.Title})
		}
	}
	page.Items, _ = s.itemCount(q, t)
	page.CanExport = s.processes() != nil
}

// editRelations applies the relations form to the type's relations: each listed
// relation kept or removed with its "show in card", and one added.
func editRelations(t *crm.Type, f map[string][]string) crm.Relations {
	get := func(k string) string {
		if v := f[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	out := crm.Relations{Parent: []crm.Relation{}, Child: []crm.Relation{}}
	for side, list := range map[string][]crm.Relation{"parent": t.Relations.Parent, "child": t.Relations.Child} {
		for _, r := range list {
			if r.IsPredefined {
				continue
			}
			key := side + "-" + itoa(r.EntityTypeID)
			if get("remove") == key {
				continue
			}
			r.IsChildrenListEnabled = get("card-"+key) == "Y"
			if side == "parent" {
				out.Parent = append(out.Parent, r)
			} else {
				out.Child = append(out.Child, r)
			}
		}
	}
	if etid, err := strconv.ParseInt(get("add"), 10, 64); err == nil && etid > 0 {
		r := crm.Relation{EntityTypeID: etid, IsChildrenListEnabled: get("add-card") == "Y"}
		if get("side") == "child" {
			out.Child = append(out.Child, r)
		} else {
			out.Parent = append(out.Parent, r)
		}
	}
	return out
}

// exportType downloads the type's process file.
func (s *Server) exportType(q *request, t *crm.Type) {
	p := s.processes()
	if p == nil || !q.method(http.MethodGet) {
		if p == nil {
			q.notFound()
		}
		return
	}
	b, err := p.Export(q.ctx, q.actor, t.EntityTypeID)
	if err != nil {
		q.fail(err)
		return
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(t.Title))
	h := q.w.Header()
	h.Set("Content-Type", "application/yaml; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.yaml"`, name, time.Now().Format("2006-01-02")))
	h.Set("Cache-Control", "no-store")
	_, _ = q.w.Write(b)
}
