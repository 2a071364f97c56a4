package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"smartcrm/internal/crm"
)

// Bitrix24's URL scheme: the built-in types by name (/crm/deal/…, /crm/contact/…),
// smart processes by entity type id (/crm/type/{entityTypeId}/…); then the view
// (kanban, list, details, analytics) and, for funnels, /category/{id}/. Deals' list of
// a funnel is also /crm/deal/category/{id}/, as in Bitrix24.

// standardPaths name the built-in types in URLs.
var standardPaths = map[string]int64{"lead": 1, "deal": 2, "contact": 3, "company": 4}

// basePath is the root of a type's pages, ending in "/".
func basePath(etid int64) string {
	for name, id := range standardPaths {
		if id == etid {
			return "/crm/" + name + "/"
		}
	}
	return "/crm/type/" + itoa(etid) + "/"
}

// KanbanPath, ListPath, DetailsPath and AnalyticsPath are a type's pages.
func KanbanPath(etid, cat int64) string { return basePath(etid) + "kanban/category/" + itoa(cat) + "/" }

// ListPath is a type's list, of one funnel when cat >= 0.
func ListPath(etid, cat int64) string {
	if cat < 0 {
		return basePath(etid) + "list/"
	}
	return basePath(etid) + "list/category/" + itoa(cat) + "/"
}

// DetailsPath is an item's card; id 0 is the form of a new item.
func DetailsPath(etid, id int64) string { return basePath(etid) + "details/" + itoa(id) + "/" }

// AnalyticsPath is a funnel's analytics.
func AnalyticsPath(etid, cat int64) string {
	return basePath(etid) + "analytics/category/" + itoa(cat) + "/"
}

// navEntry is a type in the sidebar.
type navEntry struct {
	EntityTypeID int64
	Title        string
	URL          string
	Standard     bool
}

// nav lists the standard types and every smart process.
func (s *Server) nav(q *request) ([]navEntry, error) {
	out := []navEntry{}
	for _, etid := range []int64{1, 2, 3, 4} {
		t, err := s.crm.ItemType(q.ctx, q.actor, etid)
		if err != nil {
			continue // a type this person may not read is not listed
		}
		out = append(out, navEntry{EntityTypeID: etid, Title: pluralTitle(t), URL: entryPath(t), Standard: true})
	}
	types, err := s.crm.AllTypes(q.ctx, q.actor)
	if err != nil {
		if crm.KindOf(err) == crm.ErrAccessDenied {
			return out, nil
		}
		return nil, err
	}
	for _, t := range types {
		out = append(out, navEntry{EntityTypeID: t.EntityTypeID, Title: t.Title, URL: entryPath(t)})
	}
	return out, nil
}

// pluralTitle names a built-in type in the sidebar.
func pluralTitle(t *crm.Type) string {
	switch t.EntityTypeID {
	case 1:
		return "Leads"
	case 2:
		return "Deals"
	case 3:
		return "Contacts"
	case 4:
		return "Companies"
	}
	return t.Title
}

// entryPath is where a type's link leads: its Kanban when it has stages, else its list.
func entryPath(t *crm.Type) string {
	if t.HasStages() {
		return KanbanPath(t.EntityTypeID, defaultCategory(t))
	}
	return ListPath(t.EntityTypeID, -1)
}

func defaultCategory(t *crm.Type) int64 {
	if c := t.DefaultCategory(); c != nil {
		return c.ID
	}
	return 0
}

func (s *Server) home(q *request) {
	http.Redirect(q.w, q.r, basePath(2)+"kanban/category/0/", http.StatusSeeOther)
}

// target is a parsed /crm/… path: the type, then the rest of the segments.
type target struct {
	t    *crm.Type
	rest []string
}

// seg returns the i-th remaining segment, or "".
func (t target) seg(i int) string {
	if i < len(t.rest) {
		return t.rest[i]
	}
	return ""
}

func (t target) num(i int) (int64, bool) {
	n, err := strconv.ParseInt(t.seg(i), 10, 64)
	return n, err == nil
}

// entity parses /crm/{name}/… or /crm/type/{id}/… and hands the request to the page.
func (s *Server) entity(q *request) {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(q.r.URL.Path, "/crm/"), "/"), "/")
	var etid int64
	switch {
	case segs[0] == "type" && len(segs) == 1:
		s.typesRoute(q)
		return
	case segs[0] == "type" && len(segs) >= 2:
		n, err := strconv.ParseInt(segs[1], 10, 64)
		if err != nil {
			q.notFound()
			return
		}
		etid, segs = n, segs[2:]
	case standardPaths[segs[0]] != 0:
		etid, segs = standardPaths[segs[0]], segs[1:]
	default:
		q.notFound()
		return
	}
	t, err := s.crm.ItemType(q.ctx, q.actor, etid)
	if err != nil {
		q.fail(err)
		return
	}
	tg := target{t: t, rest: segs}
	// /crm/deal/category/{id}/ is Bitrix24's deal list of a funnel.
	if tg.seg(0) == "category" {
		tg.rest = append([]string{"list"}, tg.rest...)
	}
	switch tg.seg(0) {
	case "":
		http.Redirect(q.w, q.r, entryPath(t), http.StatusSeeOther)
	case "kanban":
		s.kanbanRoute(q, tg)
	case "list":
		s.listRoute(q, tg)
	case "details":
		s.detailsRoute(q, tg)
	case "analytics":
		s.analyticsRoute(q, tg)
	case "settings":
		s.settingsRoute(q, tg)
	case "automation":
		s.automationRoute(q, tg)
	default:
		q.notFound()
	}
}

// categoryOf reads /category/{id}/ at position i of the rest, or the default funnel;
// rest is what follows it.
func categoryOf(t *crm.Type, tg target, i int) (cat int64, rest []string, ok bool) {
	cat = defaultCategory(t)
	rest = tg.rest[min(i, len(tg.rest)):]
	if tg.seg(i) == "category" {
		n, isNum := tg.num(i + 1)
		if isNum && n == 0 && t.Category(0) == nil {
			n = cat // category/0 is the default funnel, whatever its id
		}
		if !isNum || t.Category(n) == nil {
			return 0, nil, false
		}
		cat, rest = n, tg.rest[min(i+2, len(tg.rest)):]
	}
	return cat, rest, true
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// method checks the request's method.
func (q *request) method(allowed ...string) bool {
	for _, m := range allowed {
		if q.r.Method == m || m == http.MethodGet && q.r.Method == http.MethodHead {
			return true
		}
	}
	q.w.Header().Set("Allow", strings.Join(allowed, ", "))
	http.Error(q.w, "Method not allowed", http.StatusMethodNotAllowed)
	return false
}
