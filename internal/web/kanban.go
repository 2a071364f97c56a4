package web

import (
	"net/http"
	"strconv"

	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
)

// The Kanban of a funnel: a column per stage with its count and amount from the stage
// counters (never a scan), the newest cards of each column, more on scroll by keyset
// (id below the last card shown), drag and drop and a "move to stage" control on every
// card, quick add at the top of a column, and moves by others arriving as server-sent
// events (live.go).

// columnSize is how many cards a column shows at first and loads at a time: ten columns
// of it keep the page small however many items the funnel holds.
const columnSize = 20

type kanbanPage struct {
	csrfHolder
	Type       *crm.Type
	Category   *crm.Category
	Categories []linkView
	Columns    []columnView
	Base       string
	ListURL    string
	Analytics  string
	EventsURL  string
	CountsURL  string
	ColumnURL  string
	NewURL     string
	HasAmount  bool
	Stages     []optionView
	// SettingsURL links administrators to the type's settings.
	SettingsURL string
}

type columnView struct {
	StageID   string
	Name      string
	Color     string
	Semantics string
	Items     int64
	Amount    string
	Cards     []cardView
	More      int64 // the id to load more below; 0 when the column is complete
}

type cardView struct {
	ID          int64
	Version     int64
	Title       string
	URL         string
	Responsible string
	Amount      string
	Extra       []kv
	StageID     string
	MoveURL     string
}

type kv struct{ Key, Value string }

func (s *Server) kanbanRoute(q *request, tg target) {
	t := tg.t
	if !t.HasStages() {
		http.Redirect(q.w, q.r, ListPath(t.EntityTypeID, -1), http.StatusSeeOther)
		return
	}
	cat, rest, ok := categoryOf(t, tg, 1)
	if !ok {
		q.notFound()
		return
	}
	if !q.method(http.MethodGet) {
		return
	}
	switch {
	case len(rest) == 0:
		s.kanban(q, t, cat)
	case rest[0] == "column":
		s.kanbanColumn(q, t, cat)
	case rest[0] == "counts":
		s.kanbanCounts(q, t, cat)
	case rest[0] == "events":
		s.live.serve(q, t.EntityTypeID, cat)
	default:
		q.notFound()
	}
}

func (s *Server) kanban(q *request, t *crm.Type, cat int64) {
	stats, err := s.history.StageStats(q.ctx, q.actor, t.EntityTypeID, cat)
	if err != nil {
		q.fail(err)
		return
	}
	p := kanbanPage{Type: t, Category: t.Category(cat), Base: basePath(t.EntityTypeID),
		ListURL: ListPath(t.EntityTypeID, cat), Analytics: AnalyticsPath(t.EntityTypeID, cat),
		EventsURL: KanbanPath(t.EntityTypeID, cat) + "events", CountsURL: KanbanPath(t.EntityTypeID, cat) + "counts",
		ColumnURL: KanbanPath(t.EntityTypeID, cat) + "column", NewURL: DetailsPath(t.EntityTypeID, 0),
		HasAmount: t.Enabled(mustField(t, crm.FieldOpportunity))}
	for _, c := range t.Categories() {
		p.Categories = append(p.Categories, linkView{Text: c.Name, URL: KanbanPath(t.EntityTypeID, c.ID)})
	}
	stageOpts := stageOptions(t, cat)
	p.Stages = stageOpts
	if q.actor.IsAdmin {
		p.SettingsURL = SettingsPath(t.EntityTypeID, "fields/")
		if !t.IsStandard() {
			p.SettingsURL = SettingsPath(t.EntityTypeID, "")
		}
	}
	for _, st := range stats {
		col := columnView{StageID: st.Stage.StatusID, Name: st.Stage.Name, Color: st.Stage.Color, Semantics: string(st.Stage.Semantics),
			Items: st.Items, Amount: formatMoney(st.Amount)}
		if st.Items > 0 {
			cards, more, err := s.columnCards(q, t, cat, st.Stage.StatusID, 0, stageOpts)
			if err != nil {
				q.fail(err)
				return
			}
			col.Cards, col.More = cards, more
		}
		p.Columns = append(p.Columns, col)
	}
	q.render(http.StatusOK, "kanban", t.Title+": "+p.Category.Name, t.EntityTypeID, &p)
}

func stageOptions(t *crm.Type, cat int64) []optionView {
	var out []optionView
	for _, st := range t.StagesOf(cat) {
		out = append(out, optionView{Value: st.StatusID, Label: st.Name})
	}
	return out
}

// cardFields are the fields a card reads: its own, and the extra fields the person's
// (or the common) Kanban choice names (crm.KanbanFields).
func (q *request) cardFields(t *crm.Type) (read []*crm.Field, extra []*crm.Field) {
	for _, n := range []crm.FieldName{crm.FieldTitle, crm.FieldFirstName, crm.FieldLastName, crm.FieldFullName, crm.FieldStageID,
		crm.FieldCategoryID, crm.FieldAssignedByID, crm.FieldOpportunity, crm.FieldCurrencyID} {
		if f := mustField(t, n); f != nil && f.Column != "" && t.Enabled(f) {
			read = append(read, f)
		}
	}
	extra, _, err := q.s.layouts.KanbanFields(q.ctx, q.actor, t.EntityTypeID, q.actor.UserID)
	if err != nil {
		q.s.log.Warn("reading the Kanban card fields", "entityTypeId", t.EntityTypeID, "err", err)
		extra = cardlayout.KanbanDefault(t)
	}
	for _, f := range extra {
		if f.Column != "" {
			read = append(read, f)
		}
	}
	return read, extra
}

// columnCards reads a column's cards below id `after` (0: the newest), newest first,
// and the id to continue from (0 when there are no more).
func (s *Server) columnCards(q *request, t *crm.Type, cat int64, stageID string, after int64, stageOpts []optionView) ([]cardView, int64, error) {
	read, extra := q.cardFields(t)
	where := []query.Expr{
		query.Cond{Field: t.QueryField(mustField(t, crm.FieldCategoryID)), Op: field.OpEq, Value: cat},
		query.Cond{Field: t.QueryField(mustField(t, crm.FieldStageID)), Op: field.OpEq, Value: stageID},
	}
	idf := t.QueryField(mustField(t, crm.FieldID))
	if after > 0 {
		where = append(where, query.Cond{Field: idf, Op: field.OpLt, Value: after})
	}
	// A column is a few cards off the (funnel, stage, id) index: a point read, which
	// slow lists must not hold up.
	_, list, err := s.crm.ListItems(store.PointRead(q.ctx), q.actor, t.EntityTypeID, crm.ItemQuery{Where: query.Group{Items: where},
		Order: []query.Order{{Field: idf, Desc: true}}, Select: read, NoCount: true, Limit: columnSize + 1})
	if err != nil {
		return nil, 0, err
	}
	items := list.Items
	more := int64(0)
	if len(items) > columnSize {
		items = items[:columnSize]
		more = items[len(items)-1].ID
	}
	refs := map[int64][]int64{}
	collectRefs(refs, extra, items)
	tt := q.loadTitles(refs)
	out := make([]cardView, len(items))
	for i, it := range items {
		out[i] = q.card(t, it, extra, tt, stageOpts)
	}
	return out, more, nil
}

// card is one item as its Kanban card shows it.
func (q *request) card(t *crm.Type, it *crm.Item, extra []*crm.Field, tt titles, stageOpts []optionView) cardView {
	c := cardView{ID: it.ID, Version: it.Version, Title: it.Title(t), URL: DetailsPath(t.EntityTypeID, it.ID),
		Responsible: q.s.userName(q.ctx, it.AssignedByID()), StageID: it.StageID(), MoveURL: DetailsPath(t.EntityTypeID, it.ID) + "stage"}
	if c.Title == "" {
		c.Title = "#" + itoa(it.ID)
	}
	if f := mustField(t, crm.FieldOpportunity); f != nil && t.Enabled(f) {
		amount, _ := it.Get(crm.FieldOpportunity).(float64)
		cur, _ := it.Get(crm.FieldCurrencyID).(string)
		c.Amount = formatMoney(amount) + " " + cur
	}
	for _, f := range extra {
		v := q.display(t, f, it.Get(f.Name), tt)
		text := v.Text
		for _, l := range v.Links {
			text += l.Text + " "
		}
		if !v.Empty {
			c.Extra = append(c.Extra, kv{Key: f.Title, Value: text})
		}
	}
	return c
}

// kanbanColumn answers "load more": the next cards of a column as HTML.
func (s *Server) kanbanColumn(q *request, t *crm.Type, cat int64) {
	stage := q.r.URL.Query().Get("stage")
	if t.Stage(cat, stage) == nil {
		q.notFound()
		return
	}
	after, _ := strconv.ParseInt(q.r.URL.Query().Get("after"), 10, 64)
	cards, more, err := s.columnCards(q, t, cat, stage, after, stageOptions(t, cat))
	if err != nil {
		q.fail(err)
		return
	}
	html, err := s.fragment("cards", cards)
	if err != nil {
		q.fail(err)
		return
	}
	q.json(http.StatusOK, map[string]any{"html": html, "more": more})
}

// kanbanCounts answers the columns' counts and amounts, from the counters.
func (s *Server) kanbanCounts(q *request, t *crm.Type, cat int64) {
	stats, err := s.history.StageStats(q.ctx, q.actor, t.EntityTypeID, cat)
	if err != nil {
		q.fail(err)
		return
	}
	out := make([]map[string]any, len(stats))
	for i, st := range stats {
		out[i] = map[string]any{"id": st.Stage.StatusID, "items": st.Items, "amount": formatMoney(st.Amount)}
	}
	q.json(http.StatusOK, map[string]any{"stages": out})
}
