package web_test

import (
	"fmt"
	"strings"
	"testing"

	"smartcrm/internal/crm"
	"smartcrm/internal/store"
	"smartcrm/internal/web"
)

// Every main page renders for a signed-in person.
func TestPagesRender(t *testing.T) {
	e := start(t, store.SQLite)
	v := e.visits()
	it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Fix the boiler", crm.FieldOpportunity: "120"})
	b := e.signIn("admin", "admin-password-1")
	for _, p := range []string{
		web.KanbanPath(v.EntityTypeID, 0), "/crm/deal/kanban/category/0/", web.ListPath(v.EntityTypeID, -1),
		web.DetailsPath(v.EntityTypeID, it.ID), web.DetailsPath(v.EntityTypeID, 0), web.AnalyticsPath(v.EntityTypeID, 0),
		"/crm/contact/list/", "/crm/company/list/", "/crm/lead/kanban/", "/users", "/search?q=boiler", "/crm/deal/category/0/",
	} {
		page := b.page(p)
		if !strings.Contains(page, "</html>") {
			t.Errorf("%s: %.300s", p, page)
		}
	}
	if page := b.page(web.KanbanPath(v.EntityTypeID, 0)); !strings.Contains(page, fmt.Sprintf(`data-item-id="%d"`, it.ID)) {
		t.Errorf("the Kanban lacks the card")
	}
}
