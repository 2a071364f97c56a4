package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/listindex"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// The list indexes page: an administrator sees the type's list indexes and why each
// exists, builds one on chosen fields (refusals beside the form, nothing built), sees
// the lists people ran with their times, and deletes an index, which leaves the table.
func TestAdminListIndexes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		v := e.visits()
		cf := customfield.New(e.s.App.CRM)
		for _, spec := range []customfield.Spec{
			{Name: v.UFPrefix() + "STATUS", Kind: "string", Labels: crm.Labels{EditForm: map[string]string{"en": "Status"}}},
			{Name: v.UFPrefix() + "AMOUNT", Kind: "double", Labels: crm.Labels{EditForm: map[string]string{"en": "Amount"}}},
			{Name: v.UFPrefix() + "TAGS", Kind: "string", Multiple: true, Labels: crm.Labels{EditForm: map[string]string{"en": "Tags"}}},
		} {
			if _, err := cf.Add(ctx, admin, v.EntityTypeID, spec); err != nil {
				t.Fatal(err)
			}
		}
		status, amount, tags := crm.CamelUFName(v.UFPrefix()+"STATUS"), crm.CamelUFName(v.UFPrefix()+"AMOUNT"), crm.CamelUFName(v.UFPrefix()+"TAGS")
		b := e.signIn("admin", "admin-password-1")
		path := web.SettingsPath(v.EntityTypeID, "indexes/")

		page := b.page(path)
		for _, want := range []string{`aria-current="page">List indexes<`, "None yet", "at most 6", `<option value="` + status + `">Status</option>`} {
			if !strings.Contains(page, want) {
				t.Errorf("the empty page lacks %q", want)
			}
		}
		if strings.Contains(page, `value="`+tags+`"`) {
			t.Error("a multiple field is offered for an index")
		}

		indexes := func() []store.ListIndex {
			t.Helper()
			_, ixs, err := e.s.App.Indexes.List(ctx, admin, v.EntityTypeID)
			if err != nil {
				t.Fatal(err)
			}
			return ixs
		}
		// Build one on Status then Amount.
		code, page := b.postPage(path+"add", url.Values{"field": {status, amount, "", ""}})
		if code != http.StatusOK || !strings.Contains(page, "Built the index on Status, Amount") {
			t.Fatalf("building an index: %d %.400s", code, page)
		}
		ixs := indexes()
		if len(ixs) != 1 || ixs[0].Origin != store.OriginAdmin || len(ixs[0].Columns) != 2 {
			t.Fatalf("indexes after the build: %+v", ixs)
		}
		built := ixs[0]
		row := `<tr data-index="` + built.Name + `"><td>Status, Amount</td><td>added by an administrator</td><td>Ready</td>`
		if !strings.Contains(page, row) {
			t.Errorf("the page does not show the index as %s: %.1500s", row, page)
		}

		// Refusals: beside the form, with the fields chosen kept, and nothing built.
		for _, c := range []struct {
			fields []string
			want   string
		}{
			{[]string{status, amount}, "already serves these fields"},
			{[]string{"", ""}, "between 1 and 8 fields"},
			{[]string{"UF_CRM_NOPE"}, "No field UF_CRM_NOPE"},
			{[]string{tags}, "cannot be indexed"},
			{[]string{amount, amount}, "named twice"},
		} {
			code, page := b.postPage(path+"add", url.Values{"field": c.fields})
			if code != http.StatusUnprocessableEntity || !strings.Contains(page, `role="alert"`) || !strings.Contains(page, c.want) {
				t.Errorf("adding %v: %d, want 422 with %q: %.300s", c.fields, code, c.want, page)
			}
			if n := len(indexes()); n != 1 {
				t.Errorf("adding %v left %d indexes", c.fields, n)
			}
		}
		if _, page := b.postPage(path+"add", url.Values{"field": {amount, amount}}); !strings.Contains(page, `<option value="`+amount+`" selected>Amount</option>`) {
			t.Error("a refused form forgets the fields chosen")
		}

		// A list people ran shows with its shape and whether an index serves it.
		e.s.MustOK("crm.item.list", map[string]any{"entityTypeId": v.EntityTypeID, "filter": map[string]any{status: "open", ">" + amount: 10}})
		page = b.page(path)
		if !strings.Contains(page, "<tr><td>Status</td><td>Amount</td><td>—</td><td>1</td>") || !strings.Contains(page, "<td>served</td>") {
			t.Errorf("lists seen lately: %.3000s", page)
		}

		// Delete it: gone from the page and from the table.
		code, page = b.postPage(path+built.Name+"/delete", url.Values{})
		if code != http.StatusOK || !strings.Contains(page, "Deleted the index") || strings.Contains(page, built.Name) {
			t.Fatalf("deleting: %d %.400s", code, page)
		}
		all, err := e.s.App.Store.TableIndexes(ctx, v.EntityTypeID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ix := range all {
			if ix.Name == built.Name {
				t.Errorf("the deleted index is still on the table")
			}
		}
		if resp := b.post(path+"no_such_index/delete", url.Values{}); resp.StatusCode != http.StatusNotFound {
			t.Errorf("deleting an unknown index: %d", resp.StatusCode)
		}

		// The list seen lately has no index now: one click builds what it wants.
		page = b.page(path)
		form := `<input type="hidden" name="eq" value="` + status + `"><input type="hidden" name="range" value="` + amount + `">`
		if !strings.Contains(page, form) || strings.Contains(page, "<td>served</td>") {
			t.Fatalf("the seen list offers no build: %.3000s", page)
		}
		code, page = b.postPage(path+"shape", url.Values{"eq": {status}, "range": {amount}})
		if code != http.StatusOK || !strings.Contains(page, "Built the index on Status, Amount") || !strings.Contains(page, "<td>served</td>") {
			t.Fatalf("building for the seen list: %d %.600s", code, page)
		}
		if code, page = b.postPage(path+"shape", url.Values{"eq": {status}, "range": {amount}}); code != http.StatusOK || !strings.Contains(page, "An index serves this list already") {
			t.Errorf("building for it again: %d %.300s", code, page)
		}
		if code, page = b.postPage(path+"shape", url.Values{"eq": {tags}}); code != http.StatusUnprocessableEntity || !strings.Contains(page, "cannot be indexed") {
			t.Errorf("a shape on a multiple field: %d %.300s", code, page)
		}
		for _, ix := range indexes() {
			if err := e.s.App.Indexes.Delete(ctx, admin, v.EntityTypeID, ix.Name); err != nil {
				t.Fatal(err)
			}
		}

		// The cap: a type holds at most 6. Fields an index of the table serves already
		// (the funnel's, a filterable field's) are refused as such and skipped.
		var rest []string
		for _, f := range listindex.IndexableFields(v) {
			if len(indexes()) == 6 {
				rest = append(rest, string(f.Name))
				continue
			}
			code, page := b.postPage(path+"add", url.Values{"field": {string(f.Name)}})
			if code != http.StatusOK && !strings.Contains(page, "already serves") {
				t.Fatalf("an index on %s: %d %.300s", f.Name, code, page)
			}
		}
		if len(rest) == 0 {
			t.Fatal("no field left for a seventh index")
		}
		capped := false
		for _, f := range rest {
			code, page := b.postPage(path+"add", url.Values{"field": {f}})
			if code != http.StatusUnprocessableEntity {
				t.Fatalf("a seventh index, on %s: %d", f, code)
			}
			if capped = strings.Contains(page, "at most 6 list indexes"); capped {
				break
			}
		}
		if !capped || len(indexes()) != 6 {
			t.Errorf("a seventh index was not refused by the cap (%d indexes)", len(indexes()))
		}

		// Someone who may not configure the CRM does not see the page.
		if _, _, err := e.s.App.Accounts.AddUser(ctx, admin, accountsNewUser("worker", "Ivan")); err != nil {
			t.Fatal(err)
		}
		w := e.signIn("worker", "worker-pass")
		if resp := w.get(path); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a worker opening the page: %d", resp.StatusCode)
		}
		if resp := w.post(path+"add", url.Values{"field": {amount}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a worker building an index: %d", resp.StatusCode)
		}
	})
}
