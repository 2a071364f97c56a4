package web

import (
	"net/http"
	"strings"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// The global search: items of every type by title, contacts also by name, phone and
// e-mail. A few hits per type; the type's list has the rest.

const searchPerType = 5

type searchPage struct {
	Q      string
	Groups []searchGroup
}

type searchGroup struct {
	Title string
	More  string
	Hits  []linkView
}

func (s *Server) search(q *request) {
	if !q.method(http.MethodGet) {
		return
	}
	text := strings.TrimSpace(q.r.URL.Query().Get("q"))
	p := searchPage{Q: text}
	if len([]rune(text)) > 200 {
		text = string([]rune(text)[:200])
	}
	if text != "" {
		types := []*crm.Type{}
		for _, etid := range []int64{1, 2, 3, 4} {
			if t, err := s.crm.ItemType(q.ctx, q.actor, etid); err == nil {
				types = append(types, t)
			}
		}
		if more, err := s.crm.AllTypes(q.ctx, q.actor); err == nil {
			types = append(types, more...)
		}
		for _, t := range types {
			g, err := s.searchType(q, t, text)
			if err != nil {
				q.fail(err)
				return
			}
			if len(g.Hits) > 0 {
				p.Groups = append(p.Groups, g)
			}
		}
	}
	q.render(http.StatusOK, "search", "Search", 0, p)
}

func (s *Server) searchType(q *request, t *crm.Type, text string) (searchGroup, error) {
	tf := t.TitleField()
	if tf == nil {
		return searchGroup{}, nil
	}
	any := query.Group{Or: true, Items: []query.Expr{query.Cond{Field: t.QueryField(tf), Op: field.OpContains, Value: text}}}
	for _, n := range []crm.FieldName{crm.FieldFirstName, crm.FieldLastName} {
		if f := mustField(t, n); f != nil && f != tf && !t.QueryField(f).NoFilter {
			any.Items = append(any.Items, query.Cond{Field: t.QueryField(f), Op: field.OpContains, Value: text})
		}
	}
	for _, kind := range []string{"PHONE", "EMAIL"} {
		if qf, ok := t.MultifieldKindField(kind); ok {
			any.Items = append(any.Items, query.Cond{Field: qf, Op: field.OpContains, Value: text})
		}
	}
	idf := t.QueryField(mustField(t, crm.FieldID))
	_, list, err := s.crm.ListItems(q.ctx, q.actor, t.EntityTypeID, crm.ItemQuery{Where: query.Group{Items: []query.Expr{any}},
		Order: []query.Order{{Field: idf, Desc: true}}, Select: []*crm.Field{tf}, NoCount: true, Limit: searchPerType + 1})
	if err != nil {
		return searchGroup{}, err
	}
	g := searchGroup{Title: pluralTitle(t)}
	items := list.Items
	if len(items) > searchPerType {
		items = items[:searchPerType]
		g.More = ListPath(t.EntityTypeID, -1) + "?ff=" + string(tf.Name) + "&fo=has&fv=" + urlQueryEscape(text)
	}
	for _, it := range items {
		title := it.Title(t)
		if title == "" {
			title = "#" + itoa(it.ID)
		}
		g.Hits = append(g.Hits, linkView{Text: title, URL: DetailsPath(t.EntityTypeID, it.ID)})
	}
	return g, nil
}
