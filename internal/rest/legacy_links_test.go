package rest_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/change"
	"smartcrm/internal/testdb"
)

// bindings reads items.get as "id:SORT:IS_PRIMARY" entries, checking each binding's keys.
func bindings(t *testing.T, s *apitest.Server, method string, id int64, key string) string {
	t.Helper()
	r := s.Call(method, map[string]any{"id": id})
	list, ok := r.Result().([]any)
	if r.Status != 200 || !ok {
		t.Fatalf("%s %d: %s", method, id, r.Raw)
	}
	var out []string
	for i, b := range list {
		if keys := strings.Join(keysOf(t, r.Raw, "result", fmt.Sprint(i)), " "); keys != key+" SORT ROLE_ID IS_PRIMARY" {
			t.Errorf("%s binding keys: %s", method, keys)
		}
		if apitest.Path(b, "ROLE_ID") == nil || apitest.Int(b, "ROLE_ID") != 0 {
			t.Errorf("%s ROLE_ID: %v", method, b)
		}
		out = append(out, fmt.Sprintf("%d:%d:%s", apitest.Int(b, key), apitest.Int(b, "SORT"), apitest.Str(b, "IS_PRIMARY")))
	}
	return strings.Join(out, " ")
}

// linkChanges counts the updates of an item in the outbox that changed field.
func linkChanges(t *testing.T, s *apitest.Server, etid, id int64, field string) int {
	t.Helper()
	n := 0
	for _, c := range outboxChanges(t, s) {
		if c.Entity == change.Item && c.Kind == change.Updated && c.EntityTypeID == etid && c.ID == id && slices.Contains(c.Changed, field) {
			n++
		}
	}
	return n
}

// listOf reads an item's link list through crm.item.get.
func listOf(s *apitest.Server, etid, id int64, field string) string {
	return fmt.Sprint(apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}), "item."+field))
}

// The contacts of deals and leads as bindings: set in SORT order with the primary one
// first, added where SORT puts them, removed one by one or all at once — each change an
// item update with its timeline entry and outbox change, each no-op writing nothing.
func TestDealAndLeadContactBindings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		contact := func(name string) int64 {
			return apitest.Int(s.MustOK("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": name}}), "")
		}
		a, b, c, d, e := contact("Ada"), contact("Bob"), contact("Cy"), contact("Di"), contact("Ed")
		for _, fam := range []struct {
			word string
			etid int64
		}{{"deal", 2}, {"lead", 1}} {
			p := "crm." + fam.word + ".contact."
			owner := apitest.Int(s.MustOK("crm."+fam.word+".add", map[string]any{"fields": map[string]any{"TITLE": "With contacts"}}), "")
			get := func() string { return bindings(t, s, p+"items.get", owner, "CONTACT_ID") }
			if got := get(); got != "" {
				t.Fatalf("%s: a new item has bindings: %s", fam.word, got)
			}

			if res := s.MustOK(p+"items.set", map[string]any{"id": owner, "items": []any{
				map[string]any{"CONTACT_ID": a, "SORT": 100},
				map[string]any{"CONTACT_ID": b, "SORT": 50},
				map[string]any{"CONTACT_ID": c, "SORT": 300, "IS_PRIMARY": "Y"},
			}}); res != true {
				t.Errorf("%s items.set answers %v", fam.word, res)
			}
			if got, want := get(), fmt.Sprintf("%d:10:Y %d:20:N %d:30:N", c, b, a); got != want {
				t.Errorf("%s after set: %s, want %s", fam.word, got, want)
			}
			legacy := s.MustOK("crm."+fam.word+".get", map[string]any{"id": owner})
			if apitest.Str(legacy, "CONTACT_ID") != fmt.Sprint(c) || listOf(s, fam.etid, owner, "contactIds") != fmt.Sprint([]int64{c, b, a}) {
				t.Errorf("%s: the primary contact is CONTACT_ID: %v", fam.word, legacy)
			}

			// add: a bound contact answers false; SORT places a new one among the
			// positions (10, 20, 30); IS_PRIMARY puts it first. items.add is the same.
			if res := s.MustOK(p+"add", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": a}}); res != false {
				t.Errorf("%s add of a bound contact: %v", fam.word, res)
			}
			if res := s.MustOK(p+"add", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": d, "SORT": 15}}); res != true {
				t.Errorf("%s add: %v", fam.word, res)
			}
			s.MustOK(p+"items.add", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": e, "IS_PRIMARY": "Y"}})
			if got, want := get(), fmt.Sprintf("%d:10:Y %d:20:N %d:30:N %d:40:N %d:50:N", e, c, d, b, a); got != want {
				t.Errorf("%s after add: %s, want %s", fam.word, got, want)
			}
			// delete: the primary one goes, the next becomes primary; again is false.
			if res := s.MustOK(p+"delete", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": e}}); res != true {
				t.Errorf("%s delete: %v", fam.word, res)
			}
			if res := s.MustOK(p+"delete", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": e}}); res != false {
				t.Errorf("%s delete of an unbound contact: %v", fam.word, res)
			}
			if got, want := get(), fmt.Sprintf("%d:10:Y %d:20:N %d:30:N %d:40:N", c, d, b, a); got != want {
				t.Errorf("%s after delete: %s, want %s", fam.word, got, want)
			}
			if res := s.MustOK(p+"items.delete", map[string]any{"id": owner}); res != true {
				t.Errorf("%s items.delete: %v", fam.word, res)
			}
			if got := get(); got != "" {
				t.Errorf("%s after items.delete: %s", fam.word, got)
			}
			if v := apitest.Path(s.MustOK("crm."+fam.word+".get", map[string]any{"id": owner}), "CONTACT_ID"); v != nil {
				t.Errorf("%s CONTACT_ID after items.delete: %v", fam.word, v)
			}
			// Five changes, five updates through the write path; the two no-ops none.
			if n := linkChanges(t, s, fam.etid, owner, "contactIds"); n != 5 {
				t.Errorf("%s: %d updates of contactIds in the outbox, want 5", fam.word, n)
			}
			entries, _, _ := timeline(s, fam.etid, owner, nil)
			changed := 0
			for _, en := range entries {
				if apitest.Str(en, "kind") == "changed" && apitest.Str(en, "data.field") == "contactIds" {
					changed++
				}
			}
			if changed != 5 {
				t.Errorf("%s: %d timeline entries for contactIds, want 5", fam.word, changed)
			}

			// Bad input changes nothing.
			s.MustOK(p+"items.set", map[string]any{"id": owner, "items": []any{map[string]any{"CONTACT_ID": a}}})
			for _, bad := range []struct {
				method string
				params map[string]any
				desc   string
			}{
				{"items.set", map[string]any{"id": owner, "items": []any{map[string]any{"CONTACT_ID": b}, map[string]any{"CONTACT_ID": 99999}}}, "the contact 99999 does not exist"},
				{"add", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": 99999}}, "the contact 99999 does not exist"},
				{"items.set", map[string]any{"id": 99999, "items": []any{map[string]any{"CONTACT_ID": b}}}, "Not found"},
				{"items.get", map[string]any{"id": 99999}, "Not found"},
				{"items.delete", map[string]any{"id": 99999}, "Not found"},
				{"add", map[string]any{"id": 99999, "fields": map[string]any{"CONTACT_ID": b}}, "Not found"},
				{"items.get", map[string]any{}, "The parameter ownerEntityID is invalid or not defined."},
				{"items.set", map[string]any{"id": "x", "items": []any{}}, "The parameter ownerEntityID is invalid or not defined."},
				{"items.set", map[string]any{"id": owner}, "The parameter items must be array."},
				{"items.set", map[string]any{"id": owner, "items": "all"}, "The parameter items must be array."},
				{"items.set", map[string]any{"id": owner, "items": map[string]any{"CONTACT_ID": b}}, "The parameter items must be array."},
				{"items.set", map[string]any{"id": owner, "items": []any{map[string]any{"CONTACT_ID": "Bob"}}}, "The parameter items is not valid: item 0: CONTACT_ID must be a positive id."},
				{"items.set", map[string]any{"id": owner, "items": []any{map[string]any{"CONTACT_ID": b, "SORT": "first"}}}, "The parameter items is not valid: item 0: SORT must be an integer."},
				{"items.set", map[string]any{"id": owner, "items": []any{b}}, "The parameter items is not valid: item 0: a binding is an object {CONTACT_ID, SORT, IS_PRIMARY}."},
				{"add", map[string]any{"id": owner}, "The parameter 'fields' must be array."},
				{"add", map[string]any{"id": owner, "fields": "CONTACT_ID"}, "The parameter 'fields' must be array."},
				{"add", map[string]any{"id": owner, "fields": []any{}}, "The parameter 'fields' is not valid: CONTACT_ID must be a positive id."},
				{"add", map[string]any{"id": owner, "fields": map[string]any{"SORT": 10}}, "The parameter 'fields' is not valid: CONTACT_ID must be a positive id."},
				{"add", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": b, "IS_PRIMARY": "maybe"}}, "The parameter 'fields' is not valid: IS_PRIMARY must be Y or N."},
				{"delete", map[string]any{"id": owner, "fields": map[string]any{"CONTACT_ID": -4}}, "The parameter 'fields' is not valid: CONTACT_ID must be a positive id."},
			} {
				r := s.Call(p+bad.method, bad.params)
				code, desc := r.Error()
				if r.Status != 400 || code != "" || !strings.HasSuffix(desc, bad.desc) {
					t.Errorf("%s%s %v: %d %v %q, want 400 \"\" …%q", p, bad.method, bad.params, r.Status, code, desc, bad.desc)
				}
			}
			if got, want := get(), fmt.Sprintf("%d:10:Y", a); got != want {
				t.Errorf("%s: bad input changed the bindings: %s, want %s", fam.word, got, want)
			}
			f := s.MustOK(p+"fields", nil)
			expect(t, p+"fields", f, map[string]any{"CONTACT_ID.type": "integer", "CONTACT_ID.isRequired": true, "SORT.type": "integer", "IS_PRIMARY.type": "char"})
		}
	})
}

// A contact's companies: its companyIds, in binding order.
func TestContactCompanyBindings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		company := func(title string) int64 {
			return apitest.Int(s.MustOK("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": title}}), "")
		}
		x, y, z := company("X"), company("Y"), company("Z")
		k := apitest.Int(s.MustOK("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Kim"}}), "")
		get := func() string { return bindings(t, s, "crm.contact.company.items.get", k, "COMPANY_ID") }

		s.MustOK("crm.contact.company.items.set", map[string]any{"id": k, "items": []any{
			map[string]any{"COMPANY_ID": x}, map[string]any{"COMPANY_ID": y, "IS_PRIMARY": "Y"}}})
		if got, want := get(), fmt.Sprintf("%d:10:Y %d:20:N", y, x); got != want {
			t.Errorf("after set: %s, want %s", got, want)
		}
		if v := apitest.Str(s.MustOK("crm.contact.get", map[string]any{"id": k}), "COMPANY_ID"); v != fmt.Sprint(y) {
			t.Errorf("COMPANY_ID is the primary company: %s", v)
		}
		if res := s.MustOK("crm.contact.company.add", map[string]any{"id": k, "fields": map[string]any{"COMPANY_ID": z}}); res != true {
			t.Errorf("add: %v", res)
		}
		if res := s.MustOK("crm.contact.company.add", map[string]any{"id": k, "fields": map[string]any{"COMPANY_ID": z, "IS_PRIMARY": "Y"}}); res != false {
			t.Errorf("add of a bound company: %v", res)
		}
		s.MustOK("crm.contact.company.delete", map[string]any{"id": k, "fields": map[string]any{"COMPANY_ID": y}})
		if got, want := get(), fmt.Sprintf("%d:10:Y %d:20:N", x, z); got != want {
			t.Errorf("after add and delete: %s, want %s", got, want)
		}
		// The company side sees the same links.
		if got, want := bindings(t, s, "crm.company.contact.items.get", x, "CONTACT_ID"), fmt.Sprintf("%d:10:Y", k); got != want {
			t.Errorf("company %d's contacts: %s, want %s", x, got, want)
		}
		r := s.MustFail("crm.contact.company.items.set", map[string]any{"id": k, "items": []any{map[string]any{"COMPANY_ID": 99999}}}, 400, "")
		if _, desc := r.Error(); !strings.HasSuffix(desc, "the company 99999 does not exist") {
			t.Errorf("a company that does not exist: %s", desc)
		}
		if got, want := get(), fmt.Sprintf("%d:10:Y %d:20:N", x, z); got != want {
			t.Errorf("bad input changed the bindings: %s, want %s", got, want)
		}
		s.MustOK("crm.contact.company.items.delete", map[string]any{"id": k})
		if got := get(); got != "" || listOf(s, 3, k, "companyIds") != "[]" {
			t.Errorf("after items.delete: %s", got)
		}
		if n := linkChanges(t, s, 3, k, "companyIds"); n != 4 {
			t.Errorf("%d updates of companyIds in the outbox, want 4", n)
		}
		expect(t, "fields", s.MustOK("crm.contact.company.fields", nil), map[string]any{"COMPANY_ID.isRequired": true, "COMPANY_ID.title": "Company"})
	})
}

// A company's contacts are the contacts whose companies hold it: binding and unbinding
// them changes those contacts, all of one call in one unit.
func TestCompanyContactBindings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		company := func(title string) int64 {
			return apitest.Int(s.MustOK("crm.company.add", map[string]any{"fields": map[string]any{"TITLE": title}}), "")
		}
		co, other := company("Acme"), company("Other")
		contact := func(name string, companies ...int64) int64 {
			return apitest.Int(s.MustOK("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": name, "COMPANY_IDS": companies}}), "")
		}
		p, q, r := contact("Pat", other), contact("Quinn"), contact("Ray")
		get := func() string { return bindings(t, s, "crm.company.contact.items.get", co, "CONTACT_ID") }
		companies := func(id int64) string { return listOf(s, 3, id, "companyIds") }

		// IS_PRIMARY makes the company that contact's primary company; the others get it
		// after theirs.
		if res := s.MustOK("crm.company.contact.items.set", map[string]any{"id": co, "items": []any{
			map[string]any{"CONTACT_ID": p}, map[string]any{"CONTACT_ID": q, "IS_PRIMARY": "Y"}}}); res != true {
			t.Errorf("items.set: %v", res)
		}
		if got, want := get(), fmt.Sprintf("%d:10:N %d:20:Y", p, q); got != want {
			t.Errorf("after set: %s, want %s", got, want)
		}
		if companies(p) != fmt.Sprint([]int64{other, co}) || companies(q) != fmt.Sprint([]int64{co}) {
			t.Errorf("the contacts' companies: %s, %s", companies(p), companies(q))
		}
		// A new set replaces the old one: p and q lose the company, r gets it.
		s.MustOK("crm.company.contact.items.set", map[string]any{"id": co, "items": []any{map[string]any{"CONTACT_ID": r}}})
		if got, want := get(), fmt.Sprintf("%d:10:Y", r); got != want || companies(p) != fmt.Sprint([]int64{other}) || companies(q) != "[]" {
			t.Errorf("after a second set: %s (want %s), p %s, q %s", got, want, companies(p), companies(q))
		}
		// One unit: a contact that does not exist undoes the whole call — r keeps the
		// company it would have lost, p does not get it.
		bad := s.MustFail("crm.company.contact.items.set", map[string]any{"id": co, "items": []any{
			map[string]any{"CONTACT_ID": p}, map[string]any{"CONTACT_ID": 99999}}}, 400, "")
		if _, desc := bad.Error(); desc != "The contact 99999 does not exist" {
			t.Errorf("a contact that does not exist: %q", desc)
		}
		if got, want := get(), fmt.Sprintf("%d:10:Y", r); got != want || companies(p) != fmt.Sprint([]int64{other}) {
			t.Errorf("a refused set changed something: %s, p %s", got, companies(p))
		}

		if res := s.MustOK("crm.company.contact.add", map[string]any{"id": co, "fields": map[string]any{"CONTACT_ID": p, "IS_PRIMARY": "Y"}}); res != true {
			t.Errorf("add: %v", res)
		}
		if res := s.MustOK("crm.company.contact.add", map[string]any{"id": co, "fields": map[string]any{"CONTACT_ID": p}}); res != false {
			t.Errorf("add of a bound contact: %v", res)
		}
		if got, want := get(), fmt.Sprintf("%d:10:Y %d:20:Y", p, r); got != want || companies(p) != fmt.Sprint([]int64{co, other}) {
			t.Errorf("after add: %s (want %s), p %s", got, want, companies(p))
		}
		if res := s.MustOK("crm.company.contact.delete", map[string]any{"id": co, "fields": map[string]any{"CONTACT_ID": p}}); res != true {
			t.Errorf("delete: %v", res)
		}
		for _, unbound := range []int64{p, 99999} {
			if res := s.MustOK("crm.company.contact.delete", map[string]any{"id": co, "fields": map[string]any{"CONTACT_ID": unbound}}); res != false {
				t.Errorf("delete of unbound contact %d: %v", unbound, res)
			}
		}
		if companies(p) != fmt.Sprint([]int64{other}) {
			t.Errorf("p after delete: %s", companies(p))
		}
		s.MustOK("crm.company.contact.items.delete", map[string]any{"id": co})
		if got := get(); got != "" || companies(r) != "[]" {
			t.Errorf("after items.delete: %s, r %s", got, companies(r))
		}
		// Every binding change was an update of the contact it changed.
		for id, want := range map[int64]int{p: 4, q: 2, r: 2} {
			if n := linkChanges(t, s, 3, id, "companyIds"); n != want {
				t.Errorf("contact %d: %d updates of companyIds, want %d", id, n, want)
			}
		}
		for _, m := range []string{"items.get", "items.set", "items.delete"} {
			r := s.MustFail("crm.company.contact."+m, map[string]any{"id": 99999, "items": []any{}}, 400, "")
			if _, desc := r.Error(); desc != "Not found" {
				t.Errorf("%s of a company that does not exist: %q", m, desc)
			}
		}
		s.MustFail("crm.company.contact.add", map[string]any{"id": co, "fields": map[string]any{"CONTACT_ID": 99999}}, 400, "")
		expect(t, "fields", s.MustOK("crm.company.contact.fields", nil), map[string]any{"CONTACT_ID.isRequired": true, "CONTACT_ID.title": "Contact"})
	})
}
