package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/listindex"
	"smartcrm/internal/store"
)

// List indexes: the composite indexes the server built for the lists people use (or an
// administrator asked for), why each exists and whether it is ready, each removable;
// a form to build one on chosen fields; and the list shapes seen lately with how long
// they took and whether an index serves them — what an administrator needs to judge
// why a list is slow and what an index would change.

type indexesPage struct {
	adminFrame
	Indexes  []indexView
	Seen     []shapeView
	Slots    []slotView // the add form's field choices, first to last
	PerTable int
	AddURL   string
	ShapeURL string
}

type indexView struct {
	Name      string
	Fields    string
	Why       string
	Ready     bool
	DeleteURL string
}

// slotView is one field choice of the add form, with the fields an index may hold.
type slotView struct {
	N       int
	Options []optionView
}

type shapeView struct {
	Equal, Range, Order string
	Seen                int
	Mean                string
	Indexed             bool
	Buildable           bool // an index would serve it better than the built-in ones
	// The shape's fields by name, for its "build" form.
	EqNames, OrderNames []string
	RangeName           string
}

// indexSlots is how many fields the add form offers; the REST method takes up to eight.
const indexSlots = 4

var indexOrigins = map[string]string{
	store.OriginKanban:   "the Kanban",
	store.OriginFilter:   "a saved filter, seen slow",
	store.OriginObserved: "lists seen often and slow",
	store.OriginAdmin:    "added by an administrator",
}

// indexesRoute answers settings/indexes/…: the page, add, and {name}/delete.
func (s *Server) indexesRoute(q *request, t *crm.Type, rest []string) {
	page := indexesPage{adminFrame: s.frame(t, "indexes"), PerTable: s.indexes.PerTable(), AddURL: SettingsPath(t.EntityTypeID, "indexes/add"),
		ShapeURL: SettingsPath(t.EntityTypeID, "indexes/shape")}
	back := SettingsPath(t.EntityTypeID, "indexes/")
	status := http.StatusOK
	switch {
	case len(rest) == 0 || len(rest) == 1 && rest[0] == "":
		if !q.method(http.MethodGet) {
			return
		}
	case len(rest) == 1 && rest[0] == "add":
		if !q.method(http.MethodPost) {
			return
		}
		fields, err := fieldsNamed(t, q.r.PostForm["field"])
		if err == nil {
			var ix store.ListIndex
			if ix, err = s.indexes.Add(q.ctx, q.actor, t.EntityTypeID, fields); err == nil {
				q.back(back, "Built the index on "+columnTitles(t.FieldsByColumn(), ix.Columns))
				return
			}
		}
		status = page.fail("add", err)
	case len(rest) == 1 && rest[0] == "shape":
		if !q.method(http.MethodPost) {
			return
		}
		built, err := s.buildForShape(q, t)
		if err == nil {
			msg := "An index serves this list already"
			if len(built) > 0 {
				var on []string
				byColumn := t.FieldsByColumn()
				for _, ix := range built {
					on = append(on, columnTitles(byColumn, ix.Columns))
				}
				msg = "Built the index on " + strings.Join(on, " and on ")
			}
			q.back(back, msg)
			return
		}
		status = page.fail("shape", err)
	case len(rest) == 2 && rest[1] == "delete":
		if !q.method(http.MethodPost) {
			return
		}
		if err := s.indexes.Delete(q.ctx, q.actor, t.EntityTypeID, rest[0]); err != nil {
			q.fail(err)
			return
		}
		q.back(back, "Deleted the index")
		return
	default:
		q.notFound()
		return
	}
	s.renderIndexes(q, t, &page, status)
}

// buildForShape builds the indexes of a list shape the page showed: its fields posted
// as eq (several), range and order (several).
func (s *Server) buildForShape(q *request, t *crm.Type) ([]store.ListIndex, error) {
	eq, err := fieldsNamed(t, q.r.PostForm["eq"])
	if err != nil {
		return nil, err
	}
	order, err := fieldsNamed(t, q.r.PostForm["order"])
	if err != nil {
		return nil, err
	}
	rng, err := fieldsNamed(t, []string{q.r.PostForm.Get("range")})
	if err != nil {
		return nil, err
	}
	var r *crm.Field
	if len(rng) > 0 {
		r = rng[0]
	}
	return s.indexes.AddForShape(q.ctx, q.actor, t.EntityTypeID, eq, r, order)
}

// fieldsNamed reads posted field names; empty ones are choices left empty.
func fieldsNamed(t *crm.Type, names []string) ([]*crm.Field, error) {
	var out []*crm.Field
	for _, name := range names {
		if name == "" {
			continue
		}
		f, ok := t.FieldByName(name)
		if !ok {
			return nil, &crm.Error{Kind: crm.ErrInvalidArg, Msg: "No field " + name + " in this type"}
		}
		out = append(out, f)
	}
	return out, nil
}

func (s *Server) renderIndexes(q *request, t *crm.Type, page *indexesPage, status int) {
	_, ixs, err := s.indexes.List(q.ctx, q.actor, t.EntityTypeID)
	if err != nil {
		q.fail(err)
		return
	}
	seen, err := s.indexes.Seen(q.ctx, q.actor, t.EntityTypeID)
	if err != nil {
		q.fail(err)
		return
	}
	byColumn := t.FieldsByColumn()
	for _, ix := range ixs {
		page.Indexes = append(page.Indexes, indexView{Name: ix.Name, Fields: columnTitles(byColumn, ix.Columns), Why: indexOrigins[ix.Origin],
			Ready: ix.Ready, DeleteURL: SettingsPath(t.EntityTypeID, "indexes/"+ix.Name+"/delete")})
	}
	name := func(col string) string {
		if f := byColumn[col]; f != nil {
			return string(f.Name)
		}
		return ""
	}
	for _, sh := range seen {
		view := shapeView{Equal: columnTitles(byColumn, sh.Shape.Eq), Range: columnTitles(byColumn, []string{sh.Shape.Range}),
			Order: columnTitles(byColumn, sh.Shape.Order), Seen: sh.Seen, Mean: formatMillis(sh.Mean), Indexed: sh.Indexed,
			Buildable: len(store.IndexesFor(sh.Shape)) > 0, RangeName: name(sh.Shape.Range)}
		for _, c := range sh.Shape.Eq {
			view.EqNames = append(view.EqNames, name(c))
		}
		for _, c := range sh.Shape.Order {
			view.OrderNames = append(view.OrderNames, name(c))
		}
		page.Seen = append(page.Seen, view)
	}
	chosen := q.r.PostForm["field"] // kept after a refusal
	fields := listindex.IndexableFields(t)
	for i := range indexSlots {
		slot := slotView{N: i + 1}
		for _, f := range fields {
			slot.Options = append(slot.Options, optionView{Value: string(f.Name), Label: f.Title, Selected: i < len(chosen) && chosen[i] == string(f.Name)})
		}
		page.Slots = append(page.Slots, slot)
	}
	q.render(status, "indexes", t.Title+": list indexes", t.EntityTypeID, page)
}

// columnTitles names columns by their fields' titles, a column without a field by
// itself ("—" for none).
func columnTitles(byColumn map[string]*crm.Field, cols []string) string {
	var out []string
	for _, c := range cols {
		switch f := byColumn[c]; {
		case c == "":
		case f != nil:
			out = append(out, f.Title)
		default:
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return "—"
	}
	return strings.Join(out, ", ")
}

func formatMillis(d time.Duration) string {
	return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000)
}
