package web

import (
	"net/http"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
)

// Funnels and their stages: funnels added, renamed and deleted (refused with the
// reason while they hold items); each funnel's stages in their three groups — in
// progress, success, failure — added, renamed, recoloured and reordered (by drag, or
// with the move buttons), with the funnel's rules enforced by the domain and its
// refusals shown beside the form that caused them; a stage that holds items asks where
// its items go before it is deleted.

type funnelsPage struct {
	adminFrame
	Funnels []funnelView
	// Moving is the stage whose items need a new stage before it is deleted.
	Moving *stageDeleteView
}

type funnelView struct {
	ID        int64
	Name      string
	IsDefault bool
	Items     int64
	Groups    []stageGroupView
	OrderURL  string
}

type stageGroupView struct {
	Semantics string // P, S, F
	Title     string
	Help      string
	Stages    []stageView
	AddURL    string
	Color     string // the colour a new stage of the group starts with
}

type stageView struct {
	ID       int64
	StatusID string
	Name     string
	Color    string
	Items    int64
	First    bool
	Last     bool
}

type stageDeleteView struct {
	Stage   stageView
	Funnel  string
	Targets []optionView
	Action  string
}

var stageGroups = []struct {
	sem         crm.Semantics
	title, help string
	color       string
}{
	{crm.InProgress, "In progress", "Items move through these in order.", "#39A8EF"},
	{crm.Success, "Success", "The one stage that means the work succeeded.", "#7BD500"},
	{crm.Failure, "Failure", "Stages that mean it failed; they come after the success stage.", "#FF5752"},
}

// funnelsRoute answers settings/funnels/…
func (s *Server) funnelsRoute(q *request, t *crm.Type, rest []string) {
	page := funnelsPage{adminFrame: s.frame(t, "funnels")}
	back := SettingsPath(t.EntityTypeID, "funnels/")
	if len(rest) == 0 {
		if q.method(http.MethodGet) {
			s.renderFunnels(q, &page, http.StatusOK)
		}
		return
	}
	if q.r.Method != http.MethodPost {
		q.method(http.MethodPost)
		return
	}
	f := q.r.PostForm
	var (
		key, done string
		err       error
	)
	switch {
	case len(rest) == 1 && rest[0] == "add":
		key, done = "funnel-add", "Added the funnel"
		name := f.Get("name")
		_, err = s.crm.AddCategory(q.ctx, q.actor, t.EntityTypeID, crm.CategorySpec{Name: &name})
	case len(rest) == 3 && rest[0] == "stage":
		id, perr := strconv.ParseInt(rest[1], 10, 64)
		st := stageByID(t, id)
		if perr != nil || st == nil {
			q.notFound()
			return
		}
		key = "stage-" + rest[1]
		switch rest[2] {
		case "save":
			done = "Saved the stage"
			name, color := f.Get("name"), f.Get("color")
			err = s.crm.UpdateStage(q.ctx, q.actor, id, crm.StageSpec{Name: &name, Color: &color})
		case "delete":
			done = "Deleted the stage “" + st.Name + "”"
			if to := f.Get("to"); to != "" {
				err = s.crm.DeleteStageMovingItems(q.ctx, q.actor, id, to)
			} else if err = s.crm.DeleteStage(q.ctx, q.actor, id, true); crm.KindOf(err) == crm.ErrHasItems {
				// Ask where its items go.
				page.Moving = &stageDeleteView{Stage: stageView{ID: st.ID, StatusID: st.StatusID, Name: st.Name},
					Funnel: t.Category(st.CategoryID).Name, Action: back + "stage/" + rest[1] + "/delete"}
				for _, o := range t.StagesOf(st.CategoryID) {
					if o.ID != st.ID {
						page.Moving.Targets = append(page.Moving.Targets, optionView{Value: o.StatusID, Label: o.Name})
					}
				}
				s.renderFunnels(q, &page, http.StatusOK)
				return
			}
		default:
			q.notFound()
			return
		}
	case len(rest) >= 2:
		cat, perr := strconv.ParseInt(rest[0], 10, 64)
		c := t.Category(cat)
		if perr != nil || c == nil {
			q.notFound()
			return
		}
		switch strings.Join(rest[1:], "/") {
		case "rename":
			key, done = "funnel-"+rest[0], "Renamed the funnel"
			name := f.Get("name")
			_, err = s.crm.UpdateCategory(q.ctx, q.actor, t.EntityTypeID, cat, crm.CategorySpec{Name: &name})
		case "delete":
			key, done = "funnel-"+rest[0], "Deleted the funnel “"+c.Name+"”"
			err = s.crm.DeleteCategory(q.ctx, q.actor, t.EntityTypeID, cat)
		case "stages/add":
			key, done = "add-"+rest[0]+"-"+f.Get("semantics"), "Added the stage"
			err = s.addStage(q, t, cat, crm.Semantics(f.Get("semantics")), f.Get("name"), f.Get("color"))
		case "order":
			key, done = "order-"+rest[0], "Saved the order of the stages"
			order := f["order"]
			if move := f.Get("move"); move != "" {
				order = movedOrder(t.StagesOf(cat), move)
			}
			err = s.crm.ReorderStages(q.ctx, q.actor, t.EntityTypeID, cat, order)
		default:
			q.notFound()
			return
		}
	default:
		q.notFound()
		return
	}
	if q.wantsJSON() {
		if err != nil {
			q.fail(err)
			return
		}
		q.json(http.StatusOK, map[string]any{"ok": true})
		return
	}
	if err == nil {
		q.back(back, done)
		return
	}
	status := page.fail(key, err)
	// The type as it is now: an earlier part of the form may have changed it.
	if fresh, ferr := s.crm.ItemType(q.ctx, q.actor, t.EntityTypeID); ferr == nil {
		page.Type = fresh
	}
	s.renderFunnels(q, &page, status)
}

func stageByID(t *crm.Type, id int64) *crm.Stage {
	for _, c := range t.Categories() {
		for _, st := range t.StagesOf(c.ID) {
			if st.ID == id {
				return st
			}
		}
	}
	return nil
}

// movedOrder is a funnel's order with one stage moved a place up or down within its
// group ("STATUS_ID:up"), the keyboard's way to reorder.
func movedOrder(stages []*crm.Stage, move string) []string {
	i := strings.LastIndexByte(move, ':')
	if i < 0 {
		return nil
	}
	id, dir := move[:i], move[i+1:]
	order := make([]string, len(stages))
	at := -1
	for i, st := range stages {
		order[i] = st.StatusID
		if st.StatusID == id {
			at = i
		}
	}
	to := at + 1
	if dir == "up" {
		to = at - 1
	}
	if at >= 0 && to >= 0 && to < len(stages) && stages[to].Semantics == stages[at].Semantics {
		order[at], order[to] = order[to], order[at]
	}
	return order
}

// addStage adds a stage at the end of its group, in one unit: the funnel's stages are
// renumbered 10, 20, … first, so there is room wherever the group ends.
func (s *Server) addStage(q *request, t *crm.Type, cat int64, sem crm.Semantics, name, color string) error {
	stages := t.StagesOf(cat)
	order := make([]string, len(stages))
	sortOf := int64(len(stages)+1) * 10 // a failure stage: after the last one
	taken := map[string]bool{}
	for i, st := range stages {
		order[i] = st.StatusID
		taken[st.StatusID] = true
		if st.Semantics == crm.InProgress && (sem == crm.InProgress || sem == "") {
			sortOf = int64(i+1)*10 + 5
		}
	}
	code := fieldCode(name)
	if len(code) > 20 {
		code = strings.TrimRight(code[:20], "_")
	}
	prefix := t.StagePrefix(cat)
	for n := 2; code == "" || taken[prefix+":"+code] || taken[code]; n++ {
		base := fieldCode(name)
		if len(base) > 16 || base == "" {
			base = "STAGE"
		}
		code = base + "_" + strconv.Itoa(n)
	}
	if color == "" {
		for _, g := range stageGroups {
			if g.sem == sem {
				color = g.color
			}
		}
	}
	return s.crm.Run(q.ctx, q.actor, func(u *crm.Unit) error {
		if err := u.ReorderStages(t.EntityTypeID, cat, order); err != nil {
			return err
		}
		_, err := u.AddStage(crm.StageSpec{Directory: t.StageDirectory(cat), StatusID: code, Semantics: sem, Name: &name, Sort: &sortOf, Color: &color})
		return err
	})
}

func (s *Server) renderFunnels(q *request, page *funnelsPage, status int) {
	t := page.Type
	back := SettingsPath(t.EntityTypeID, "funnels/")
	for _, c := range t.Categories() {
		fv := funnelView{ID: c.ID, Name: c.Name, IsDefault: c.IsDefault, OrderURL: back + itoa(c.ID) + "/order"}
		stats, err := s.history.StageStats(q.ctx, q.actor, t.EntityTypeID, c.ID)
		if err != nil {
			q.fail(err)
			return
		}
		counts := map[string]int64{}
		for _, st := range stats {
			counts[st.Stage.StatusID] = st.Items
			fv.Items += st.Items
		}
		for _, g := range stageGroups {
			gv := stageGroupView{Semantics: string(g.sem), Title: g.title, Help: g.help, Color: g.color, AddURL: back + itoa(c.ID) + "/stages/add"}
			for _, st := range t.StagesOf(c.ID) {
				if st.Semantics == g.sem {
					gv.Stages = append(gv.Stages, stageView{ID: st.ID, StatusID: st.StatusID, Name: st.Name, Color: st.Color, Items: counts[st.StatusID]})
				}
			}
			if n := len(gv.Stages); n > 0 {
				gv.Stages[0].First, gv.Stages[n-1].Last = true, true
			}
			fv.Groups = append(fv.Groups, gv)
		}
		page.Funnels = append(page.Funnels, fv)
	}
	q.render(status, "funnels", t.Title+": funnels and stages", t.EntityTypeID, page)
}
