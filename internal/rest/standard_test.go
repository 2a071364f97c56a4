package rest_test

import (
	"context"
	"fmt"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// An installation visit and a service request under a deal whose client is a contact
// and a company, the deal itself under a project: links seen from every side, through
// crm.item.* and the legacy methods alike.
func TestDealWithChildrenAndClients(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		underDeal := map[string]any{"parent": []any{map[string]any{"entityTypeId": 2, "isChildrenListEnabled": "true"}}}
		visits := newType(s, map[string]any{"title": "Installation visits", "relations": underDeal})
		requests := newType(s, map[string]any{"title": "Service requests", "relations": underDeal})
		// Set from the project's side: deals are its children.
		projects := newType(s, map[string]any{"title": "Projects", "relations": map[string]any{"child": []any{map[string]any{"entityTypeId": 2}}}})
		project := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": projects, "fields": map[string]any{"title": "Rollout"}}), "item.id")

		company := apitest.Int(s.MustOK("crm.company.add", map[string]any{"fields": map[string]any{
			"TITLE": "Acme", "INDUSTRY": "IT", "REVENUE": 1500000, "PHONE": []any{map[string]any{"VALUE": "+1 555 0100", "VALUE_TYPE": "WORK"}},
		}}), "")
		contact := apitest.Int(s.MustOK("crm.contact.add", map[string]any{"fields": map[string]any{
			"NAME": "Ada", "LAST_NAME": "Lovelace", "POST": "Engineer", "COMPANY_ID": company,
			"PHONE": []any{map[string]any{"VALUE": "+44 20 7946 0000", "VALUE_TYPE": "MOBILE"}},
			"EMAIL": []any{map[string]any{"VALUE": "ada@example.com", "VALUE_TYPE": "WORK"}},
		}}), "")
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{
			"TITLE": "Boiler installation", "OPPORTUNITY": 4200.5, "CURRENCY_ID": "EUR", "COMPANY_ID": company,
			"CONTACT_IDS": []any{contact}, fmt.Sprintf("PARENT_ID_%d", projects): project,
		}}), "")

		add := func(etid int64, fields map[string]any) int64 {
			return apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": fields}), "item.id")
		}
		v1 := add(visits, map[string]any{"title": "Survey", "parentId2": deal})
		r1 := add(requests, map[string]any{"title": "Leak", "PARENT_ID_2": deal})
		add(visits, map[string]any{"title": "Elsewhere"})

		// The deal's card: its children across both types, newest first, in one call.
		children := apitest.Path(s.MustOK("smartcrm.item.children", map[string]any{"entityTypeId": 2, "id": deal}), "children").([]any)
		got := map[string]string{}
		for _, c := range children {
			got[fmt.Sprintf("%d/%d", apitest.Int(c, "entityTypeId"), apitest.Int(c, "id"))] = apitest.Str(c, "title")
		}
		if len(children) != 2 || got[fmt.Sprintf("%d/%d", visits, v1)] != "Survey" || got[fmt.Sprintf("%d/%d", requests, r1)] != "Leak" {
			t.Fatalf("children of the deal: %v", children)
		}
		// The project's children include the deal, by its title.
		pc := apitest.Path(s.MustOK("smartcrm.item.children", map[string]any{"entityTypeId": projects, "id": project}), "children").([]any)
		if len(pc) != 1 || apitest.Int(pc[0], "id") != deal || apitest.Str(pc[0], "title") != "Boiler installation" {
			t.Fatalf("children of the project: %v", pc)
		}

		// crm.item.get of the deal: client links, and the project it belongs to.
		item := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": 2, "id": deal}), "item")
		if apitest.Int(item, "companyId") != company || fmt.Sprint(apitest.Path(item, "contactIds")) != fmt.Sprintf("[%d]", contact) ||
			apitest.Int(item, "contactId") != contact || apitest.Int(item, fmt.Sprintf("parentId%d", projects)) != project ||
			apitest.Str(item, "stageId") != "NEW" || apitest.Int(item, "categoryId") != 0 || apitest.Str(item, "closed") != "N" ||
			apitest.Str(item, "stageSemanticId") != "P" || apitest.Str(item, "currencyId") != "EUR" {
			t.Fatalf("deal item: %v", item)
		}
		// The legacy view of the same row: strings, legacy names, PARENT_ID_N.
		legacy := s.MustOK("crm.deal.get", map[string]any{"id": deal})
		for k, want := range map[string]string{
			"ID": fmt.Sprint(deal), "TITLE": "Boiler installation", "OPPORTUNITY": "4200.50", "COMPANY_ID": fmt.Sprint(company),
			"CONTACT_ID": fmt.Sprint(contact), "STAGE_ID": "NEW", "CATEGORY_ID": "0", "CLOSED": "N", "CREATED_BY_ID": "1",
			fmt.Sprintf("PARENT_ID_%d", projects): fmt.Sprint(project), "STAGE_SEMANTIC_ID": "P",
		} {
			if got := apitest.Str(legacy, k); got != want {
				t.Errorf("crm.deal.get %s = %q, want %q", k, got, want)
			}
		}
		if apitest.Str(legacy, "DATE_CREATE") == "" {
			t.Errorf("crm.deal.get has no DATE_CREATE: %v", legacy)
		}
		// The contact, read both ways.
		c := s.MustOK("crm.contact.get", map[string]any{"id": contact})
		phones, _ := apitest.Path(c, "PHONE").([]any)
		if apitest.Str(c, "NAME") != "Ada" || apitest.Str(c, "HAS_PHONE") != "Y" || apitest.Str(c, "HAS_EMAIL") != "Y" ||
			len(phones) != 1 || apitest.Str(phones[0], "VALUE") != "+44 20 7946 0000" || apitest.Str(phones[0], "VALUE_TYPE") != "MOBILE" ||
			apitest.Str(c, "COMPANY_ID") != fmt.Sprint(company) {
			t.Fatalf("crm.contact.get: %v", c)
		}
		ci := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": 3, "id": contact}), "item")
		fm, _ := apitest.Path(ci, "fm").([]any)
		if apitest.Str(ci, "fullName") != "Ada Lovelace" || len(fm) != 2 || apitest.Str(fm[0], "typeId")+apitest.Str(fm[1], "typeId") != "EMAILPHONE" ||
			fmt.Sprint(apitest.Path(ci, "companyIds")) != fmt.Sprintf("[%d]", company) {
			t.Fatalf("contact item: %v", ci)
		}

		// Find a contact by phone, the most common integration lookup.
		found := s.MustOK("crm.contact.list", map[string]any{"filter": map[string]any{"PHONE": "+44 20 7946 0000"}, "select": []any{"ID", "NAME", "PHONE"}}).([]any)
		if len(found) != 1 || apitest.Str(found[0], "ID") != fmt.Sprint(contact) || apitest.Path(found[0], "PHONE") == nil {
			t.Fatalf("contact by phone: %v", found)
		}
		if none := s.MustOK("crm.contact.list", map[string]any{"filter": map[string]any{"PHONE": "+1 000"}}).([]any); len(none) != 0 {
			t.Errorf("contact by unknown phone: %v", none)
		}

		// Deleting the contact takes it out of the deal in the same transaction.
		s.MustOK("crm.contact.delete", map[string]any{"id": contact})
		item = apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": 2, "id": deal}), "item")
		if fmt.Sprint(apitest.Path(item, "contactIds")) != "[]" || apitest.Path(item, "contactId") != nil {
			t.Errorf("deal after its contact was deleted: %v", item)
		}
		// A deleted contact cannot be linked again.
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": 2, "id": deal, "fields": map[string]any{"contactIds": []any{contact}}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		// Deleting the deal clears its children's links; they stay.
		s.MustOK("crm.deal.delete", map[string]any{"id": deal})
		if got := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": visits, "id": v1}), "item.parentId2"); got != nil {
			t.Errorf("visit still linked to the deleted deal: %v", got)
		}
	})
}

// Deals have funnels with the stage directories and codes Bitrix24 uses.
func TestDealFunnelsAndStages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		cats := apitest.Path(s.MustOK("crm.category.list", map[string]any{"entityTypeId": 2}), "categories").([]any)
		if len(cats) != 1 || apitest.Int(cats[0], "id") != 0 || apitest.Str(cats[0], "isDefault") != "Y" {
			t.Fatalf("deal funnels: %v", cats)
		}
		stages := s.MustOK("crm.status.list", map[string]any{"filter": map[string]any{"ENTITY_ID": "DEAL_STAGE"}}).([]any)
		if len(stages) != 8 || apitest.Str(stages[0], "STATUS_ID") != "NEW" || apitest.Str(stages[5], "STATUS_ID") != "WON" ||
			apitest.Str(stages[5], "EXTRA.SEMANTICS") != "success" {
			t.Fatalf("DEAL_STAGE: %v", stages)
		}
		cat := apitest.Int(s.MustOK("crm.category.add", map[string]any{"entityTypeId": 2, "fields": map[string]any{"name": "Service"}}), "category.id")
		dir := fmt.Sprintf("DEAL_STAGE_%d", cat)
		items := s.MustOK("crm.status.entity.items", map[string]any{"entityId": dir}).([]any)
		if len(items) != 8 || apitest.Str(items[0], "STATUS_ID") != fmt.Sprintf("C%d:NEW", cat) {
			t.Fatalf("%s: %v", dir, items)
		}
		// A stage added to the funnel gets its prefix.
		s.MustOK("crm.status.add", map[string]any{"fields": map[string]any{"ENTITY_ID": dir, "STATUS_ID": "CHECK", "NAME": "Check", "SORT": 45}})
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Repair", "CATEGORY_ID": cat}}), "")
		d := s.MustOK("crm.deal.get", map[string]any{"id": deal})
		if apitest.Str(d, "STAGE_ID") != fmt.Sprintf("C%d:NEW", cat) || apitest.Str(d, "IS_NEW") != "Y" {
			t.Fatalf("deal in funnel %d: %v", cat, d)
		}
		s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"STAGE_ID": fmt.Sprintf("C%d:CHECK", cat)}})
		s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"STAGE_ID": fmt.Sprintf("C%d:WON", cat)}})
		d = s.MustOK("crm.deal.get", map[string]any{"id": deal})
		if apitest.Str(d, "CLOSED") != "Y" || apitest.Str(d, "STAGE_SEMANTIC_ID") != "S" || apitest.Str(d, "IS_NEW") != "N" {
			t.Fatalf("won deal: %v", d)
		}
		// A stage of another funnel is refused and changes nothing.
		r := s.Call("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"STAGE_ID": "NEW"}})
		if code, _ := r.Error(); r.Status != 400 || code != "" {
			t.Fatalf("stage of another funnel: %d %v", r.Status, r.Body)
		}
		history := apitest.Path(s.MustOK("crm.stagehistory.list", map[string]any{"entityTypeId": 2, "filter": map[string]any{"OWNER_ID": deal}}), "items").([]any)
		if len(history) != 3 {
			t.Errorf("deal stage history: %v", history)
		}
		// Leads: the STATUS directory, STATUS_ID in the legacy view, stageId in crm.item.
		lead := apitest.Int(s.MustOK("crm.lead.add", map[string]any{"fields": map[string]any{"TITLE": "Inbound call", "NAME": "Grace",
			"PHONE": []any{map[string]any{"VALUE": "+1 555 0199"}}}}), "")
		l := s.MustOK("crm.lead.get", map[string]any{"id": lead})
		if apitest.Str(l, "STATUS_ID") != "NEW" || apitest.Str(l, "STATUS_SEMANTIC_ID") != "P" || apitest.Path(l, "CATEGORY_ID") != nil {
			t.Fatalf("lead: %v", l)
		}
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": 1, "id": lead, "fields": map[string]any{"stageId": "CONVERTED"}})
		if got := apitest.Str(s.MustOK("crm.lead.get", map[string]any{"id": lead}), "STATUS_SEMANTIC_ID"); got != "S" {
			t.Errorf("converted lead semantics: %s", got)
		}
		s.MustFail("crm.category.list", map[string]any{"entityTypeId": 1}, 400, "ENTITY_TYPE_NOT_SUPPORTED")
		statuses := s.MustOK("crm.status.entity.items", map[string]any{"entityId": "STATUS"}).([]any)
		if len(statuses) != 5 || apitest.Str(statuses[3], "STATUS_ID") != "CONVERTED" {
			t.Errorf("STATUS: %v", statuses)
		}
		// Standard types are not smart processes.
		s.MustFail("crm.type.getByEntityTypeId", map[string]any{"entityTypeId": 2}, 400, "0")
	})
}

// Custom fields on deals, filtered through the legacy list with its paging rules.
func TestLegacyListWithCustomFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		// Shown in the filter, so it gets an index.
		ufID := apitest.Str(s.MustOK("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{
			"entityId": "CRM_DEAL", "fieldName": "UF_CRM_REGION", "userTypeId": "string", "showFilter": "E"}}), "field.id")
		s.MustFail("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{
			"entityId": "CRM_DEAL", "fieldName": "UF_CRM_1_X", "userTypeId": "nope"}}, 400, "ERROR_CORE")
		for i := 0; i < 60; i++ {
			region := "north"
			if i%3 == 0 {
				region = "south"
			}
			s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": fmt.Sprintf("Deal %d", i), "UF_CRM_REGION": region, "OPPORTUNITY": i}})
		}
		page := s.Call("crm.deal.list", map[string]any{"filter": map[string]any{"UF_CRM_REGION": "north", ">OPPORTUNITY": 10},
			"select": []any{"ID", "TITLE", "UF_*"}, "order": map[string]any{"ID": "DESC"}})
		rows := page.Result().([]any)
		if page.Status != 200 || len(rows) != 33 || apitest.Int(page.Body, "total") != 33 || apitest.Str(rows[0], "UF_CRM_REGION") != "north" ||
			apitest.Str(rows[0], "TITLE") != "Deal 59" || apitest.Path(rows[0], "OPPORTUNITY") != nil {
			t.Fatalf("filtered page: %d %d %v", page.Status, len(rows), page.Body["total"])
		}
		all := s.Call("crm.deal.list", map[string]any{})
		if len(all.Result().([]any)) != 50 || apitest.Int(all.Body, "next") != 50 || apitest.Int(all.Body, "total") != 60 {
			t.Fatalf("first page: next=%v total=%v", all.Body["next"], all.Body["total"])
		}
		if _, hasUF := all.Result().([]any)[0].(map[string]any)["UF_CRM_REGION"]; hasUF {
			t.Errorf("custom fields without UF_* in select")
		}
		// crm.item.* reads the same field by its camelCase name.
		item := apitest.Path(s.MustOK("crm.item.list", map[string]any{"entityTypeId": 2, "filter": map[string]any{"ufCrm_REGION": "south"}}), "items").([]any)
		if len(item) != 20 {
			t.Errorf("crm.item.list by ufCrm_REGION: %d", len(item))
		}
		fields := s.MustOK("crm.deal.fields", nil)
		if apitest.Str(fields, "UF_CRM_REGION.type") != "string" || apitest.Str(fields, "STAGE_ID.statusType") != "DEAL_STAGE" ||
			apitest.Str(fields, "CREATED_BY_ID.type") != "user" {
			t.Errorf("crm.deal.fields: %v", fields)
		}
		if apitest.Str(s.MustOK("crm.contact.fields", nil), "PHONE.type") != "crm_multifield" {
			t.Errorf("crm.contact.fields has no PHONE")
		}
		// Taking the field out of the filter and back, then deleting it with its values
		// (SQLite cannot drop an indexed column: the index must go first).
		for _, sf := range []string{"N", "I"} {
			s.MustOK("userfieldconfig.update", map[string]any{"moduleId": "crm", "id": ufID, "field": map[string]any{"showFilter": sf}})
		}
		s.MustOK("userfieldconfig.delete", map[string]any{"moduleId": "crm", "id": ufID})
		if f := apitest.Path(s.MustOK("crm.deal.fields", nil), "UF_CRM_REGION"); f != nil {
			t.Errorf("deleted field still described: %v", f)
		}
		s.MustFail("crm.deal.list", map[string]any{"filter": map[string]any{"UF_CRM_REGION": "north"}}, 400, "")
	})
}

// Bad input to the standard types is refused with a clear error and writes nothing.
func TestStandardTypesBadInput(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		visits := newType(s, map[string]any{"title": "Visits", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 2}}}})
		count := func(method string) int64 { return apitest.Int(s.Call(method, map[string]any{}).Body, "total") }

		cases := []struct {
			name, method string
			params       map[string]any
		}{
			{"phone without a value", "crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "X", "PHONE": []any{map[string]any{"VALUE_TYPE": "WORK"}}}}},
			{"phone of an unknown value type", "crm.contact.add", map[string]any{"fields": map[string]any{"PHONE": []any{map[string]any{"VALUE": "1", "VALUE_TYPE": "SATELLITE"}}}}},
			{"e-mail that is not one", "crm.contact.add", map[string]any{"fields": map[string]any{"EMAIL": []any{map[string]any{"VALUE": "nobody"}}}}},
			{"phones not a list", "crm.contact.add", map[string]any{"fields": map[string]any{"PHONE": "+1 555"}}},
			{"company that does not exist", "crm.contact.add", map[string]any{"fields": map[string]any{"COMPANY_ID": 999}}},
			{"contact that does not exist", "crm.deal.add", map[string]any{"fields": map[string]any{"CONTACT_IDS": []any{999}}}},
			{"parent that does not exist", "crm.deal.add", map[string]any{"fields": map[string]any{"PARENT_ID_1234": 1}}},
			{"funnel that does not exist", "crm.deal.add", map[string]any{"fields": map[string]any{"CATEGORY_ID": 77}}},
		}
		for _, c := range cases {
			before := count(c.method[:len(c.method)-len("add")] + "list")
			r := s.Call(c.method, c.params)
			if code, desc := r.Error(); r.Status != 400 || code != "" || desc == "" {
				t.Errorf("%s: %d %v", c.name, r.Status, r.Body)
			}
			if after := count(c.method[:len(c.method)-len("add")] + "list"); after != before {
				t.Errorf("%s: wrote an item", c.name)
			}
		}
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": visits, "fields": map[string]any{"parentId2": 999}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": visits, "fields": map[string]any{"parentId3": 1}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.type.add", map[string]any{"fields": map[string]any{"title": "Bad", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 4444}}}}}, 400, "INVALID_ARG_VALUE")
		s.MustFail("crm.deal.get", map[string]any{"id": 999}, 400, "")
		s.MustFail("crm.deal.get", map[string]any{}, 400, "")

		// Multifield entries change by ID and go with DELETE=Y.
		id := apitest.Int(s.MustOK("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Bo",
			"PHONE": []any{map[string]any{"VALUE": "111"}, map[string]any{"VALUE": "222"}}}}), "")
		phones := apitest.Path(s.MustOK("crm.contact.get", map[string]any{"id": id}), "PHONE").([]any)
		first, second := apitest.Str(phones[0], "ID"), apitest.Str(phones[1], "ID")
		s.MustOK("crm.contact.update", map[string]any{"id": id, "fields": map[string]any{"PHONE": []any{
			map[string]any{"ID": first, "VALUE": "333"}, map[string]any{"ID": second, "DELETE": "Y"}, map[string]any{"VALUE": "444", "VALUE_TYPE": "HOME"}}}})
		phones = apitest.Path(s.MustOK("crm.contact.get", map[string]any{"id": id}), "PHONE").([]any)
		if len(phones) != 2 || apitest.Str(phones[0], "VALUE") != "333" || apitest.Str(phones[1], "VALUE") != "444" || apitest.Str(phones[1], "VALUE_TYPE") != "HOME" {
			t.Errorf("phones after update: %v", phones)
		}
		s.MustFail("crm.contact.update", map[string]any{"id": id, "fields": map[string]any{"PHONE": []any{map[string]any{"ID": 99, "VALUE": "5"}}}}, 400, "")
	})
}

// Removing a relation with linked items drops the field and the links; adding it back
// starts empty.
func TestRelationRemovedWithData(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		visits := newType(s, map[string]any{"title": "Visits", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 2}}}})
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "D"}}), "")
		v := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": visits, "fields": map[string]any{"parentId2": deal}}), "item.id")
		// The deal's side shows the relation too: the SPA item is its child.
		if n := len(apitest.Path(s.MustOK("smartcrm.item.children", map[string]any{"entityTypeId": 2, "id": deal}), "children").([]any)); n != 1 {
			t.Fatalf("children before removal: %d", n)
		}
		s.MustOK("crm.type.update", map[string]any{"id": 1, "fields": map[string]any{"relations": map[string]any{"parent": []any{}}}})
		if f := apitest.Path(s.MustOK("crm.item.fields", map[string]any{"entityTypeId": visits}), "fields.parentId2"); f != nil {
			t.Errorf("parentId2 still described: %v", f)
		}
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": visits, "id": v, "fields": map[string]any{"parentId2": deal}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustOK("crm.type.update", map[string]any{"id": 1, "fields": map[string]any{"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 2}}}}})
		if got := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": visits, "id": v}), "item"); apitest.Path(got, "parentId2") != nil {
			t.Errorf("link survived the removal of its relation: %v", got)
		}
	})
}

// On PostgreSQL a parent link is a real foreign key: even a write that bypassed the
// operation could not leave a link to nothing.
func TestParentLinkForeignKey(t *testing.T) {
	s := apitest.Start(t, store.Postgres)
	visits := newType(s, map[string]any{"title": "Visits", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 2}}}})
	ctx := context.Background()
	cols := []store.Column{{Name: store.LinkColumn(2), Storage: field.StorageInt}}
	err := s.App.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SeedItemsRaw(ctx, visits, cols, [][]any{{int64(12345)}}) })
	if err == nil {
		t.Fatal("a link to a deal that does not exist was stored")
	}
	deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Real"}}), "")
	if err := s.App.Store.InTx(ctx, func(tx *store.Tx) error { return tx.SeedItemsRaw(ctx, visits, cols, [][]any{{deal}}) }); err != nil {
		t.Fatalf("a link to an existing deal: %v", err)
	}
	// The deal can be deleted (the operation clears the link first), and so can the
	// type, its column and key going with it.
	s.MustOK("crm.deal.delete", map[string]any{"id": deal})
	items := apitest.Path(s.MustOK("crm.item.list", map[string]any{"entityTypeId": visits}), "items").([]any)
	if len(items) != 1 || apitest.Path(items[0], "parentId2") != nil {
		t.Fatalf("visit after its deal was deleted: %v", items)
	}
	s.MustOK("crm.item.delete", map[string]any{"entityTypeId": visits, "id": apitest.Int(items[0], "id")})
	s.MustOK("crm.type.delete", map[string]any{"id": 1})
}
