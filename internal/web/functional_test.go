package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"smartcrm/internal/crm"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

var (
	rowRe  = regexp.MustCompile(`<tr data-item-id="(\d+)">`)
	nextRe = regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
)

// listIDs walks a list through its "Next page" links and returns the ids in order.
func listIDs(t *testing.T, b *browser, first string) []string {
	t.Helper()
	var ids []string
	for path, pages := first, 0; path != ""; pages++ {
		if pages > 100 {
			t.Fatal("the list does not end")
		}
		page := b.page(path)
		for _, m := range rowRe.FindAllStringSubmatch(page, -1) {
			ids = append(ids, m[1])
		}
		path = ""
		if m := nextRe.FindStringSubmatch(page); m != nil {
			path = html.UnescapeString(m[1])
		}
	}
	return ids
}

// The list pages by keyset in any sort, on both databases alike: every item once, in
// order, those without a value after those with one; the filter bar filters; bulk
// actions go through the write path; saved filters and columns are per person; CSV
// and XLSX exports hold the filtered list.
func TestListPagingFilterBulkExport(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		var all []string
		for i := 1; i <= 130; i++ {
			p := crm.Patch{crm.FieldTitle: fmt.Sprintf("Visit %03d", i)}
			if i%3 != 0 {
				p[crm.FieldXMLID] = fmt.Sprintf("X%02d", i%17) // duplicates: ties broken by id
			}
			all = append(all, itoa(e.add(v.EntityTypeID, p).ID))
		}
		b := e.signIn("admin", "admin-password-1")
		base := web.ListPath(v.EntityTypeID, -1)
		for _, dir := range []string{"asc", "desc"} {
			got := listIDs(t, b, base+"?sort=xmlId&dir="+dir)
			sorted := slices.Clone(got)
			slices.Sort(sorted)
			want := slices.Clone(all)
			slices.Sort(want)
			if !slices.Equal(sorted, want) {
				t.Fatalf("sort by xmlId %s: %d ids, want each of %d once", dir, len(got), len(all))
			}
			// Items with an external code first, ordered by (code, id); then the rest by id.
			var lastKey string
			seenEmpty := false
			for _, id := range got {
				_, it, _ := e.s.App.CRM.GetItem(context.Background(), admin, v.EntityTypeID, atoi(id))
				code, _ := it.Get(crm.FieldXMLID).(string)
				if code == "" {
					seenEmpty = true
					continue
				}
				if seenEmpty {
					t.Fatalf("%s: an item with a code after those without", dir)
				}
				key := fmt.Sprintf("%s/%06d", code, it.ID)
				if dir == "desc" {
					key = fmt.Sprintf("%s/%06d", code, 999999-it.ID)
					if lastKey != "" && code > strings.Split(lastKey, "/")[0] {
						t.Fatalf("desc order broken at %s", id)
					}
				} else if lastKey != "" && key < lastKey {
					t.Fatalf("asc order broken at %s", id)
				}
				lastKey = key
			}
		}
		if got := listIDs(t, b, base); len(got) != 130 || got[0] != all[129] {
			t.Errorf("default order (newest first): %d ids from %v", len(got), got[:1])
		}

		// Filter: title contains "Visit 01" (010–019 and 001… no: "Visit 01x").
		filtered := base + "?ff=title&fo=has&fv=" + url.QueryEscape("Visit 01")
		if got := listIDs(t, b, filtered); len(got) != 10 {
			t.Errorf("filter: %d rows, want 10", len(got))
		}
		if r := b.get(base + "?ff=id&fo=has&fv=1"); r.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(readAll(r), "cannot be compared") {
			t.Errorf("an operator that does not fit the field: %d", r.StatusCode)
		}
		if r := b.get(base + "?ff=opportunity&fo=gt&fv=lots"); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a value that does not fit the field: %d", r.StatusCode)
		}
		if got := listIDs(t, b, base+"?ff=xmlId&fo=empty"); len(got) != 43 {
			t.Errorf("is empty: %d rows, want 43", len(got))
		}

		// Saved filters and columns belong to the person.
		b.post(base+"filters", url.Values{"name": {"Tens"}, "query": {"ff=title&fo=has&fv=Visit+01"}})
		b.post(base+"columns", url.Values{"col": {"title", "xmlId"}})
		page := b.page(base)
		if !strings.Contains(page, ">Tens</a>") || !strings.Contains(page, `<th scope="col" ><a`) && !strings.Contains(page, ">External code</a></th>") {
			t.Errorf("saved filter or columns missing")
		}
		if strings.Contains(page, ">Assigned to</a></th>") {
			t.Errorf("a column not chosen is shown")
		}

		// Bulk: move three to Preparation, delete two.
		prep := v.StagesOf(v.DefaultCategory().ID)[1].StatusID
		r := b.post(base+"bulk", url.Values{"action": {"stage"}, "stage": {prep}, "ids": all[:3]})
		if !strings.Contains(r.Header.Get("Location"), "3+changed") {
			t.Errorf("bulk stage: %s", r.Header.Get("Location"))
		}
		for _, id := range all[:3] {
			if _, it, _ := e.s.App.CRM.GetItem(context.Background(), admin, v.EntityTypeID, atoi(id)); it.StageID() != prep {
				t.Errorf("bulk stage: item %s is in %s", id, it.StageID())
			}
		}
		b.post(base+"bulk", url.Values{"action": {"delete"}, "ids": all[3:5]})
		if got := listIDs(t, b, base); len(got) != 128 {
			t.Errorf("after deleting two: %d", len(got))
		}

		// Exports of the filtered list.
		csv := readAll(b.get(filtered[:len(base)] + "export.csv" + filtered[len(base):]))
		if lines := strings.Count(strings.TrimSpace(csv), "\n"); lines != 10 || !strings.Contains(csv, "Visit 015") {
			t.Errorf("CSV export: %d data lines:\n%s", lines, csv)
		}
		resp := b.get(base + "export.xlsx?ff=title&fo=has&fv=" + url.QueryEscape("Visit 01"))
		f, err := excelize.OpenReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows("Sheet1")
		if len(rows) != 11 || rows[0][0] != "Name" {
			t.Errorf("XLSX export: %d rows, header %v", len(rows), rows[:1])
		}
	})
}

func atoi(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

// An edit made on a card loaded before someone else's change is refused as stale and
// changes nothing; the same edit at the current version goes through.
func TestStaleEdit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Contract 7"})
		b := e.signIn("admin", "admin-password-1")
		path := web.DetailsPath(v.EntityTypeID, it.ID)
		loaded := it.Version
		if _, _, err := e.s.App.CRM.UpdateItem(context.Background(), admin, v.EntityTypeID, it.ID, crm.Patch{crm.FieldTitle: "Contract 7 (signed)"}, crm.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		status, ans := b.fetch(path+"field", url.Values{"fields": {"title"}, "title": {"Contract 7b"}, "version": {itoa(loaded)}})
		if status != http.StatusConflict || ans["stale"] != true || !strings.Contains(fmt.Sprint(ans["error"]), "changed this item") {
			t.Errorf("stale edit: %d %v", status, ans)
		}
		status, ans = b.fetch(path+"stage", url.Values{"stage": {v.StagesOf(v.DefaultCategory().ID)[1].StatusID}, "version": {itoa(loaded)}})
		if status != http.StatusConflict || ans["stale"] != true {
			t.Errorf("stale move: %d %v", status, ans)
		}
		_, now, _ := e.s.App.CRM.GetItem(context.Background(), admin, v.EntityTypeID, it.ID)
		if now.Title(v) != "Contract 7 (signed)" || now.StageID() != it.StageID() {
			t.Errorf("a stale edit changed the item: %q %s", now.Title(v), now.StageID())
		}
		status, ans = b.fetch(path+"field", url.Values{"fields": {"title"}, "title": {"Contract 7b"}, "version": {itoa(now.Version)}})
		if status != http.StatusOK || ans["version"] != float64(now.Version+1) {
			t.Errorf("an edit at the current version: %d %v", status, ans)
		}
		// A value the field cannot hold: the domain's message, the field named.
		status, ans = b.fetch(path+"field", url.Values{"fields": {"opportunity"}, "opportunity": {"a lot"}, "version": {"0"}})
		if status != http.StatusUnprocessableEntity || ans["field"] != "opportunity" || !strings.Contains(fmt.Sprint(ans["error"]), "Amount") {
			t.Errorf("an invalid amount: %d %v", status, ans)
		}
	})
}

// The card shows the common layout's sections, or the person's own; REST's
// crm.item.details.configuration.* sets and reads them in Bitrix24's shape.
func TestCardLayout(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Order 5", crm.FieldOpportunity: "99"})
		set := func(scope string, title string, fields ...string) {
			elems := []any{}
			for _, f := range fields {
				elems = append(elems, map[string]any{"name": f})
			}
			e.s.MustOK("crm.item.details.configuration.set", map[string]any{"entityTypeId": v.EntityTypeID, "scope": scope,
				"data": []any{map[string]any{"name": "s1", "title": title, "type": "section", "elements": elems}}})
		}
		set("C", "Common section", "TITLE", "OPPORTUNITY")
		if _, _, err := e.s.App.Accounts.AddUser(context.Background(), admin, accountsNewUser("other", "Olga")); err != nil {
			t.Fatal(err)
		}
		o := e.signIn("other", "other-pass")
		card := web.DetailsPath(v.EntityTypeID, it.ID)
		page := o.page(card)
		if !strings.Contains(page, ">Common section</h2>") || strings.Contains(page, `data-field="assignedById"`) || !strings.Contains(page, `data-field="opportunity"`) {
			t.Errorf("the common layout is not the card")
		}
		set("P", "Mine", "TITLE", "ASSIGNED_BY_ID")
		a := e.signIn("admin", "admin-password-1")
		if page := a.page(card); !strings.Contains(page, ">Mine</h2>") || !strings.Contains(page, `data-field="assignedById"`) {
			t.Errorf("the personal layout is not the card")
		}
		if page := o.page(card); !strings.Contains(page, ">Common section</h2>") {
			t.Errorf("someone else's personal layout shows")
		}
		// A person who is not an administrator lays out their own card from the
		// card's link; asking for the common scope still saves only theirs.
		editor := web.SettingsPath(v.EntityTypeID, "card/")
		if page := o.page(card); !strings.Contains(page, `href="`+editor+`"`) {
			t.Errorf("the card has no link to lay it out")
		}
		if page := o.page(editor); strings.Contains(page, `value="C"`) || strings.Contains(page, "Fields</a>") {
			t.Errorf("a non-administrator is offered the common layout or other settings")
		}
		r := o.post(editor, url.Values{"scope": {"C"}, "sections": {"s0"}, "title-s0": {"Olga own"}, "f-s0": {"title", "assignedById"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving an own layout: %d %.300s", r.StatusCode, readAll(r))
		}
		if page := o.page(card); !strings.Contains(page, ">Olga own</h2>") || !strings.Contains(page, `data-field="assignedById"`) {
			t.Errorf("the own layout is not the card")
		}
		if page := a.page(card); !strings.Contains(page, ">Mine</h2>") {
			t.Errorf("a non-administrator's save changed someone else's card")
		}
		if r := o.post(web.SettingsPath(v.EntityTypeID, "fields/"), url.Values{}); r.StatusCode != http.StatusForbidden {
			t.Errorf("other settings must stay the administrators': %d", r.StatusCode)
		}
		got := e.s.MustOK("crm.item.details.configuration.get", map[string]any{"entityTypeId": v.EntityTypeID, "scope": "C"})
		b, _ := jsonMarshal(got)
		if !strings.Contains(b, `"name":"s1"`) || !strings.Contains(b, `"name":"OPPORTUNITY"`) || !strings.Contains(b, `"type":"section"`) {
			t.Errorf("configuration.get: %s", b)
		}
		e.s.MustOK("crm.item.details.configuration.reset", map[string]any{"entityTypeId": v.EntityTypeID, "scope": "P"})
		if page := a.page(card); !strings.Contains(page, ">Common section</h2>") {
			t.Errorf("after reset the common layout should show")
		}
	})
}

// The users page adds people, who then sign in; switching someone off ends their
// session and sign-in; a reset password works and the old one does not; only an
// administrator sees the page.
func TestUsersPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		a := e.signIn("admin", "admin-password-1")
		r := a.post("/users/add", url.Values{"login": {"hr.manager"}, "name": {"Hanna"}, "lastName": {"Roe"}, "email": {"hanna@example.com"}})
		page := readAll(r)
		m := regexp.MustCompile(`Password of Hanna Roe: <code>([^<]+)</code>`).FindStringSubmatch(page)
		if r.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("add user: %d %.400s", r.StatusCode, page)
		}
		h := e.signIn("hr.manager", m[1])
		if r := h.get("/users"); r.StatusCode != http.StatusForbidden {
			t.Errorf("a non-administrator on /users: %d", r.StatusCode)
		}
		if r := a.post("/users/add", url.Values{"login": {"hr.manager"}, "name": {"Again"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("a taken login: %d", r.StatusCode)
		}
		id := userIDByLogin(t, e, "hr.manager")
		a.post(fmt.Sprintf("/users/%d/active", id), url.Values{"active": {"N"}})
		if r := h.get("/crm/deal/list/"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("a switched-off user's session still works: %d", r.StatusCode)
		}
		bad := &browser{e: e, c: &http.Client{CheckRedirect: noRedirect}}
		if r := bad.post("/login", url.Values{"login": {"hr.manager"}, "password": {m[1]}}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("a switched-off user signs in: %d", r.StatusCode)
		}
		a.post(fmt.Sprintf("/users/%d/active", id), url.Values{"active": {"Y"}})
		page = readAll(a.post(fmt.Sprintf("/users/%d/password", id), url.Values{}))
		m2 := regexp.MustCompile(`<code>([^<]+)</code>`).FindStringSubmatch(page)
		if m2 == nil || m2[1] == m[1] {
			t.Fatalf("reset password: %.300s", page)
		}
		e.signIn("hr.manager", m2[1])
		if r := bad.post("/login", url.Values{"login": {"hr.manager"}, "password": {m[1]}}); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("the old password still works: %d", r.StatusCode)
		}
		if r := a.post("/users/1/active", url.Values{"active": {"N"}}); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("switching off the administrator: %d", r.StatusCode)
		}
	})
}

func userIDByLogin(t *testing.T, e *env, login string) int64 {
	logins, err := e.s.App.Accounts.Logins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for id, l := range logins {
		if l == login {
			return id
		}
	}
	t.Fatalf("no user %s", login)
	return 0
}

// The global search finds items of every type by title and contacts by name, phone
// and e-mail.
func TestGlobalSearch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Heat pump install"})
		e.add(2, crm.Patch{crm.FieldTitle: "Heat pump deal"})
		e.add(3, crm.Patch{crm.FieldFirstName: "Maria", crm.FieldLastName: "Lopez",
			crm.FieldFM: []any{map[string]any{"TYPE_ID": "PHONE", "VALUE": "+1 555 0199"}, map[string]any{"TYPE_ID": "EMAIL", "VALUE": "maria@lopez.example"}}})
		b := e.signIn("admin", "admin-password-1")
		for q, want := range map[string][]string{
			"heat pump": {"Heat pump install", "Heat pump deal"}, "lopez": {"Maria Lopez"}, "555 0199": {"Maria Lopez"},
			"maria@lopez": {"Maria Lopez"}, "nothing like it": nil,
		} {
			page := b.page("/search?q=" + url.QueryEscape(q))
			for _, w := range want {
				if !strings.Contains(page, ">"+w+"</a>") {
					t.Errorf("search %q: %q not found", q, w)
				}
			}
			if want == nil && !strings.Contains(page, "Nothing found") {
				t.Errorf("search %q found something", q)
			}
		}
	})
}

// Analytics count from the counters and the stage history: items per stage now,
// conversion and failure share, created per week.
func TestAnalytics(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		st := v.StagesOf(v.DefaultCategory().ID)
		var ids []int64
		for i := 0; i < 5; i++ {
			ids = append(ids, e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: fmt.Sprintf("V%d", i)}).ID)
		}
		move := func(id int64, stage string) {
			if _, _, err := e.s.App.CRM.UpdateItem(context.Background(), admin, v.EntityTypeID, id, crm.Patch{crm.FieldStageID: stage}, crm.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		move(ids[0], st[1].StatusID)
		move(ids[0], st[3].StatusID) // success
		move(ids[1], st[4].StatusID) // failure
		r, err := e.s.App.History.FunnelReport(context.Background(), admin, v.EntityTypeID, 0, 4)
		if err != nil {
			t.Fatal(err)
		}
		if r.Entered != 5 || r.Succeeded != 1 || r.Failed != 1 || r.Conversion() != 0.2 || r.Weeks[3].Created != 5 || r.Weeks[3].Closed != 2 {
			t.Errorf("report: entered %d, success %d, failed %d, weeks %+v", r.Entered, r.Succeeded, r.Failed, r.Weeks)
		}
		if r.Now[0].Items != 3 || r.Time[st[0].StatusID].Stays != 2 {
			t.Errorf("now %d in the first stage, %d stays measured there", r.Now[0].Items, r.Time[st[0].StatusID].Stays)
		}
		b := e.signIn("admin", "admin-password-1")
		page := b.page(web.AnalyticsPath(v.EntityTypeID, 0))
		if !strings.Contains(page, "<td>20.0%</td>") || strings.Count(page, "<svg") != 4 {
			t.Errorf("analytics page: conversion or charts missing")
		}
	})
}
