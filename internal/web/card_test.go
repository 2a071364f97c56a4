package web_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/crm"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// A deal's card lists its child visits, each visit's card links to its deal and its
// client company; the deal's timeline shows its child's creation; to-dos, tasks and
// comments added on the card show on it; older timeline entries page by keyset.
func TestCardLinksChildrenTimeline(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		title := "Visits"
		v, err := e.s.App.CRM.AddType(ctx, admin, crm.TypeSpec{Title: &title, Flags: crm.Flags{crm.FlagStages: true, crm.FlagClient: true},
			Relations: &crm.Relations{Parent: []crm.Relation{{EntityTypeID: 2, IsChildrenListEnabled: true}}}})
		if err != nil {
			t.Fatal(err)
		}
		company := e.add(4, crm.Patch{crm.FieldTitle: "Elm Street Housing"})
		deal := e.add(2, crm.Patch{crm.FieldTitle: "Heating for Elm Street"})
		visit := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Survey visit", crm.ParentField(2): deal.ID, crm.FieldCompanyID: company.ID})
		b := e.signIn("admin", "admin-password-1")

		dealCard := b.page(web.DetailsPath(2, deal.ID))
		if !strings.Contains(dealCard, fmt.Sprintf(`<a href="%s">Survey visit</a>`, web.DetailsPath(v.EntityTypeID, visit.ID))) {
			t.Errorf("the deal's card does not list its visit")
		}
		if !strings.Contains(dealCard, "Created: Survey visit") || !strings.Contains(dealCard, fmt.Sprintf("on <a href=\"%s\">Visits #%d</a>", web.DetailsPath(v.EntityTypeID, visit.ID), visit.ID)) {
			t.Errorf("the deal's timeline lacks its child's creation")
		}
		visitCard := b.page(web.DetailsPath(v.EntityTypeID, visit.ID))
		for _, link := range []string{
			fmt.Sprintf(`<a href="%s">Heating for Elm Street</a>`, web.DetailsPath(2, deal.ID)),
			fmt.Sprintf(`<a href="%s">Elm Street Housing</a>`, web.DetailsPath(4, company.ID)),
		} {
			if !strings.Contains(visitCard, link) {
				t.Errorf("the visit's card lacks %s", link)
			}
		}

		path := web.DetailsPath(v.EntityTypeID, visit.ID)
		b.post(path+"todo", url.Values{"title": {"Call the caretaker"}, "deadline": {"2030-01-02T10:00"}, "responsible": {"1"}})
		b.post(path+"task", url.Values{"title": {"Order the pump"}, "responsible": {"1"}})
		b.post(path+"comment", url.Values{"text": {"Keys are with the caretaker"}})
		page := b.page(path)
		for _, want := range []string{"Call the caretaker · due 2030-01-02 10:00", "Order the pump", "To-do: Call the caretaker", "Task: Order the pump", "Keys are with the caretaker"} {
			if !strings.Contains(page, want) {
				t.Errorf("the card lacks %q", want)
			}
		}
		// Keyset paging of the timeline: 60 more entries, two pages.
		for i := 0; i < 60; i++ {
			if _, err := e.s.App.Timeline.AddComment(ctx, admin, crm.Owner{EntityTypeID: v.EntityTypeID, ID: visit.ID}, fmt.Sprintf("Note %02d", i), nil); err != nil {
				t.Fatal(err)
			}
		}
		page = b.page(path)
		if !strings.Contains(page, "Note 59") || strings.Contains(page, ">Created: Survey visit<") || !strings.Contains(page, "Older entries") {
			t.Errorf("the first timeline page is not the newest 50")
		}
		i := strings.Index(page, `?before=`)
		older := b.page(path + page[i:i+strings.Index(page[i:], `#`)])
		if !strings.Contains(older, "Created: Survey visit") || strings.Contains(older, "Note 59") {
			t.Errorf("the older page is not the rest")
		}
	})
}
