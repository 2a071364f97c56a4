package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// The list of a type (of one funnel, or all): columns each person chooses, sort by any
// sortable column, the filter bar (filter.go) with saved filters, keyset paging, bulk
// changes of the selected items, and export of the filtered list (export.go).

type listPage struct {
	csrfHolder
	Type       *crm.Type
	Base       string
	Path       string // this list, without its query
	Category   *crm.Category
	Categories []linkView
	Columns    []columnHead
	Rows       []listRow
	Next       string
	First      string
	Filters    []filterRow
	Fields     []fieldOption
	OpsJSON    string
	OpLabels   []optionView
	Saved      []savedFilter
	Query      string // the filter and sort, for links that keep them
	Error      string
	Stages     []optionView
	Users      []optionView
	ExportCSV  string
	ExportXLSX string
	KanbanURL  string
	NewURL     string
	Choosable  []fieldOption
}

type columnHead struct {
	Name, Title, SortURL, Dir string
}

type listRow struct {
	ID    int64
	URL   string
	Cells []valueView
}

type fieldOption struct {
	Name, Title string
	Selected    bool
}

type savedFilter struct {
	Name  string `json:"name"`
	Query string `json:"query"`
	URL   string `json:"-"`
}

func (s *Server) listRoute(q *request, tg target) {
	t := tg.t
	cat := int64(-1)
	rest := tg.rest[1:]
	if tg.seg(1) == "category" {
		c, r, ok := categoryOf(t, tg, 1)
		if !ok {
			q.notFound()
			return
		}
		cat, rest = c, r
	}
	switch {
	case len(rest) == 0:
		if q.method(http.MethodGet) {
			s.list(q, t, cat)
		}
	case rest[0] == "export.csv" && q.method(http.MethodGet):
		s.exportCSV(q, t, cat)
	case rest[0] == "export.xlsx" && q.method(http.MethodGet):
		s.exportXLSX(q, t, cat)
	case rest[0] == "bulk" && q.method(http.MethodPost):
		s.bulk(q, t, cat)
	case rest[0] == "columns" && q.method(http.MethodPost):
		s.saveColumns(q, t, cat)
	case rest[0] == "filters" && q.method(http.MethodPost):
		s.saveFilter(q, t, cat)
	default:
		q.notFound()
	}
}

func columnsKey(t *crm.Type) string { return "list.columns." + itoa(t.EntityTypeID) }
func filtersKey(t *crm.Type) string { return "list.filters." + itoa(t.EntityTypeID) }

// columns are the person's chosen columns, or the default ones.
func (s *Server) columns(q *request, t *crm.Type) []*crm.Field {
	var names []string
	if raw, err := s.accounts.Preference(q.ctx, q.actor.UserID, columnsKey(t)); err == nil && raw != "" {
		_ = json.Unmarshal([]byte(raw), &names)
	}
	var out []*crm.Field
	for _, n := range names {
		if f := mustField(t, crm.FieldName(n)); f != nil && t.Enabled(f) && f.Column != "" {
			out = append(out, f)
		}
	}
	if len(out) > 0 {
		return out
	}
	for _, n := range []crm.FieldName{crm.FieldID, crm.FieldTitle, crm.FieldFullName, crm.FieldStageID, crm.FieldAssignedByID,
		crm.FieldOpportunity, crm.FieldCreatedTime} {
		if f := mustField(t, n); f != nil && t.Enabled(f) && f.Column != "" {
			out = append(out, f)
		}
	}
	return out
}

// listQuery reads the filter, the funnel and the sort of a list request.
func (q *request) listQuery(t *crm.Type, cat int64) (query.Group, []filterRow, listOrder, error) {
	return listQueryOf(t, cat, q.r.URL.Query())
}

// listQueryOf reads the filter, the funnel and the sort of a list's query string.
func listQueryOf(t *crm.Type, cat int64, vals url.Values) (query.Group, []filterRow, listOrder, error) {
	where, rows, err := parseFilter(t, vals)
	if cat >= 0 && t.HasStages() {
		where.Items = append(where.Items, query.Cond{Field: t.QueryField(mustField(t, crm.FieldCategoryID)), Op: field.OpEq, Value: cat})
	}
	o := listOrder{f: mustField(t, crm.FieldID), desc: true}
	if name := vals.Get("sort"); name != "" {
		if f := mustField(t, crm.FieldName(name)); f != nil && !t.QueryField(f).NoOrder {
			o.f, o.desc = f, vals.Get("dir") == "desc"
		}
	}
	return where, rows, o, err
}

// keptQuery is the list's query without its page, for links that keep filter and sort.
func keptQuery(v url.Values, drop ...string) url.Values {
	out := url.Values{}
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	for _, d := range append(drop, "after", "msg") {
		out.Del(d)
	}
	return out
}

func (s *Server) list(q *request, t *crm.Type, cat int64) {
	path := ListPath(t.EntityTypeID, cat)
	p := listPage{Type: t, Base: basePath(t.EntityTypeID), Path: path, NewURL: DetailsPath(t.EntityTypeID, 0)}
	if cat >= 0 {
		p.Category = t.Category(cat)
	}
	if t.HasStages() {
		kc := cat
		if kc < 0 {
			kc = defaultCategory(t)
		}
		p.KanbanURL = KanbanPath(t.EntityTypeID, kc)
		p.Categories = append(p.Categories, linkView{Text: "All pipelines", URL: ListPath(t.EntityTypeID, -1)})
		for _, c := range t.Categories() {
			p.Categories = append(p.Categories, linkView{Text: c.Name, URL: ListPath(t.EntityTypeID, c.ID)})
		}
		p.Stages = stageOptions(t, kc)
	}
	where, rows, o, err := q.listQuery(t, cat)
	p.Filters = rows
	v := q.r.URL.Query()
	kept := keptQuery(v)
	p.Query = kept.Encode()
	p.ExportCSV = path + "export.csv?" + p.Query
	p.ExportXLSX = path + "export.xlsx?" + p.Query
	cols := s.columns(q, t)
	for _, f := range cols {
		h := columnHead{Name: string(f.Name), Title: f.Title}
		if !t.QueryField(f).NoOrder {
			sk := keptQuery(v, "sort", "dir")
			sk.Set("sort", string(f.Name))
			if o.f == f && !o.desc {
				sk.Set("dir", "desc")
				h.Dir = "ascending"
			} else {
				sk.Set("dir", "asc")
				if o.f == f {
					h.Dir = "descending"
				}
			}
			h.SortURL = path + "?" + sk.Encode()
		}
		p.Columns = append(p.Columns, h)
	}
	ops := map[string][]string{}
	for _, f := range sortedFields(filterable(t)) {
		p.Fields = append(p.Fields, fieldOption{Name: string(f.Name), Title: f.Title})
		ops[string(f.Name)] = opsFor(f)
	}
	for _, f := range sortedFields(t.Fields()) {
		if f.Column != "" && t.Enabled(f) && !f.Hidden {
			sel := false
			for _, c := range cols {
				sel = sel || c == f
			}
			p.Choosable = append(p.Choosable, fieldOption{Name: string(f.Name), Title: f.Title, Selected: sel})
		}
	}
	b, _ := json.Marshal(ops)
	p.OpsJSON = string(b)
	for _, d := range opDefs {
		p.OpLabels = append(p.OpLabels, optionView{Value: d.Key, Label: d.Label})
	}
	_, users := s.usersByID(q.ctx)
	for _, u := range users {
		if u.Active {
			p.Users = append(p.Users, optionView{Value: itoa(u.ID), Label: fullName(u)})
		}
	}
	if raw, _ := s.accounts.Preference(q.ctx, q.actor.UserID, filtersKey(t)); raw != "" {
		_ = json.Unmarshal([]byte(raw), &p.Saved)
		for i := range p.Saved {
			p.Saved[i].URL = path + "?" + p.Saved[i].Query
		}
	}
	status := http.StatusOK
	if err != nil {
		_, p.Error = errorStatus(err)
		status = http.StatusUnprocessableEntity
		q.render(status, "list", t.Title, t.EntityTypeID, &p)
		return
	}
	var cur *cursor
	if a := v.Get("after"); a != "" {
		c, ok := decodeCursor(a)
		if !ok {
			p.Error = "The page link is out of date"
		} else {
			cur = &c
		}
		p.First = path + "?" + p.Query
	}
	items, next, err := q.page(t, where, o, cur, cols, crm.PageSize)
	if err != nil {
		if crm.KindOf(err) == 0 {
			q.fail(err)
			return
		}
		_, p.Error = errorStatus(err)
		status = http.StatusUnprocessableEntity
	}
	if next != nil {
		nk := keptQuery(v)
		nk.Set("after", next.encode())
		p.Next = path + "?" + nk.Encode()
	}
	refs := map[int64][]int64{}
	collectRefs(refs, cols, items)
	tt := q.loadTitles(refs)
	for _, it := range items {
		r := listRow{ID: it.ID, URL: DetailsPath(t.EntityTypeID, it.ID)}
		for _, f := range cols {
			r.Cells = append(r.Cells, q.display(t, f, it.Get(f.Name), tt))
		}
		p.Rows = append(p.Rows, r)
	}
	title := t.Title
	if p.Category != nil {
		title += ": " + p.Category.Name
	}
	q.render(status, "list", title, t.EntityTypeID, &p)
}

func (s *Server) saveColumns(q *request, t *crm.Type, cat int64) {
	var names []string
	for _, n := range q.r.PostForm["col"] {
		if f := mustField(t, crm.FieldName(n)); f != nil && f.Column != "" {
			names = append(names, string(f.Name))
		}
	}
	b, _ := json.Marshal(names)
	if err := s.accounts.SetPreference(q.ctx, q.actor.UserID, columnsKey(t), string(b)); err != nil {
		q.fail(err)
		return
	}
	q.back(ListPath(t.EntityTypeID, cat)+"?"+q.r.PostForm.Get("query"), "Columns saved")
}

// maxSavedFilters bounds a person's saved filters of one type.
const maxSavedFilters = 30

func (s *Server) saveFilter(q *request, t *crm.Type, cat int64) {
	var saved []savedFilter
	if raw, _ := s.accounts.Preference(q.ctx, q.actor.UserID, filtersKey(t)); raw != "" {
		_ = json.Unmarshal([]byte(raw), &saved)
	}
	name := strings.TrimSpace(q.r.PostForm.Get("name"))
	query := q.r.PostForm.Get("query")
	msg := "Filter saved"
	if del := q.r.PostForm.Get("delete"); del != "" {
		i, err := strconv.Atoi(del)
		if err == nil && i >= 0 && i < len(saved) {
			saved = append(saved[:i], saved[i+1:]...)
		}
		msg = "Filter deleted"
	} else {
		if name == "" || len(name) > 100 {
			q.back(ListPath(t.EntityTypeID, cat)+"?"+query, "A saved filter needs a name of at most 100 characters")
			return
		}
		if len(saved) >= maxSavedFilters {
			q.back(ListPath(t.EntityTypeID, cat)+"?"+query, fmt.Sprintf("At most %d saved filters", maxSavedFilters))
			return
		}
		vals, _ := url.ParseQuery(query)
		saved = append(saved, savedFilter{Name: name, Query: keptQuery(vals).Encode()})
		// A saved filter is a list shape people will use: it gets its indexes the
		// first time it runs slow.
		s.wantIndexes(t, cat, vals)
	}
	b, _ := json.Marshal(saved)
	if err := s.accounts.SetPreference(q.ctx, q.actor.UserID, filtersKey(t), string(b)); err != nil {
		q.fail(err)
		return
	}
	q.back(ListPath(t.EntityTypeID, cat)+"?"+query, msg)
}

// wantIndexes tells the list indexes the shape of a saved filter.
func (s *Server) wantIndexes(t *crm.Type, cat int64, vals url.Values) {
	if where, _, o, err := listQueryOf(t, cat, vals); err == nil && s.indexes != nil {
		s.indexes.Want(t.EntityTypeID, where, []query.Order{{Field: t.QueryField(o.f), Desc: o.desc}})
	}
}

// maxBulk bounds the items one bulk action changes.
const maxBulk = 500

// bulk changes the stage or the responsible of the selected items, or deletes them,
// each through the one write path; refusals are reported item by item.
func (s *Server) bulk(q *request, t *crm.Type, cat int64) {
	back := ListPath(t.EntityTypeID, cat) + "?" + q.r.PostForm.Get("query")
	ids := q.r.PostForm["ids"]
	if len(ids) == 0 {
		q.back(back, "Select items first")
		return
	}
	if len(ids) > maxBulk {
		q.back(back, fmt.Sprintf("At most %d items at once", maxBulk))
		return
	}
	action := q.r.PostForm.Get("action")
	var patch crm.Patch
	switch action {
	case "stage":
		patch = crm.Patch{crm.FieldStageID: q.r.PostForm.Get("stage")}
	case "assign":
		patch = crm.Patch{crm.FieldAssignedByID: q.r.PostForm.Get("assignee")}
	case "delete":
	default:
		q.back(back, "Choose what to do with the selected items")
		return
	}
	done := 0
	var refused []string
	for _, raw := range ids {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			continue
		}
		if action == "delete" {
			err = s.crm.DeleteItem(q.ctx, q.actor, t.EntityTypeID, id)
		} else {
			_, _, err = s.crm.UpdateItem(q.ctx, q.actor, t.EntityTypeID, id, patch, crm.WriteOptions{})
		}
		if err != nil {
			status, msg := errorStatus(err)
			if status == http.StatusInternalServerError {
				s.log.Error("bulk change", "id", id, "err", err)
			}
			if len(refused) < 5 {
				refused = append(refused, fmt.Sprintf("#%d: %s", id, msg))
			} else if len(refused) == 5 {
				refused = append(refused, "…")
			}
			continue
		}
		done++
	}
	msg := fmt.Sprintf("%d changed", done)
	if action == "delete" {
		msg = fmt.Sprintf("%d deleted", done)
	}
	if len(refused) > 0 {
		msg += "; refused " + strings.Join(refused, "; ")
	}
	q.back(back, msg)
}
