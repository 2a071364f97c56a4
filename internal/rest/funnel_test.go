package rest_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

func TestCategories(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		plain := newType(s, map[string]any{"title": "Plain"})
		etid := newType(s, map[string]any{"title": "Sales", "isCategoriesEnabled": "Y", "isStagesEnabled": "Y"})

		// Every type has its default funnel; without isCategoriesEnabled it is the only one.
		res := s.MustOK("crm.category.list", map[string]any{"entityTypeId": plain})
		cats := apitest.Path(res, "categories").([]any)
		if len(cats) != 1 || apitest.Str(cats[0], "name") != "General" || apitest.Str(cats[0], "isDefault") != "Y" || apitest.Int(cats[0], "sort") != 500 {
			t.Fatalf("default funnel: %v", cats)
		}
		s.MustFail("crm.category.add", map[string]any{"entityTypeId": plain, "fields": map[string]any{"name": "Second"}}, 400, "ENTITY_TYPE_NOT_SUPPORTED")

		def := apitest.Int(s.MustOK("crm.category.list", map[string]any{"entityTypeId": etid}), "categories.0.id")
		add := func(fields map[string]any) int64 {
			return apitest.Int(s.MustOK("crm.category.add", map[string]any{"entityTypeId": etid, "fields": fields}), "category.id")
		}
		wholesale := add(map[string]any{"name": "Wholesale", "sort": 100})
		negative := add(map[string]any{"name": "Negative sort", "sort": -5})
		if apitest.Int(s.MustOK("crm.category.get", map[string]any{"entityTypeId": etid, "id": negative}), "category.sort") != 0 {
			t.Errorf("a negative sort is stored as 0")
		}
		// A new funnel comes with the five default stages.
		stages := s.MustOK("crm.status.entity.items", map[string]any{"entityId": fmt.Sprintf("DYNAMIC_%d_STAGE_%d", etid, wholesale)}).([]any)
		if len(stages) != 5 || apitest.Str(stages[0], "STATUS_ID") != fmt.Sprintf("DT%d_%d:NEW", etid, wholesale) || apitest.Int(stages[4], "SORT") != 50 {
			t.Errorf("default stages: %v", stages)
		}
		r := s.MustFail("crm.category.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"name": "   "}}, 400, "0")
		if _, isNum := r.Body["error"].(json.Number); !isNum {
			t.Errorf("a missing name is the number 0: %s", r.Raw)
		}
		s.MustFail("crm.category.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"sort": 1}}, 400, "0")

		// Another funnel becomes the default; the old one loses the flag.
		res = s.MustOK("crm.category.update", map[string]any{"entityTypeId": etid, "id": wholesale, "fields": map[string]any{"isDefault": "Y", "name": "Wholesale B2B"}})
		if apitest.Str(res, "category.isDefault") != "Y" || apitest.Str(res, "category.name") != "Wholesale B2B" {
			t.Errorf("update: %v", res)
		}
		if apitest.Str(s.MustOK("crm.category.get", map[string]any{"entityTypeId": etid, "id": def}), "category.isDefault") != "N" {
			t.Errorf("the old default kept its flag")
		}
		s.MustFail("crm.category.update", map[string]any{"entityTypeId": etid, "id": wholesale, "fields": map[string]any{"isDefault": "N"}}, 400, "INVALID_ARG_VALUE")
		// New items go to the default funnel.
		item := s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{}})
		if apitest.Int(item, "item.categoryId") != wholesale {
			t.Errorf("new item in funnel %v, want the default %d", apitest.Path(item, "item.categoryId"), wholesale)
		}
		// The default funnel and funnels with items are not deleted.
		s.MustFail("crm.category.delete", map[string]any{"entityTypeId": etid, "id": wholesale}, 400, "BX_ERROR")
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": apitest.Int(item, "item.id"), "fields": map[string]any{"categoryId": negative}})
		s.MustFail("crm.category.delete", map[string]any{"entityTypeId": etid, "id": negative}, 400, "BX_ERROR")
		r = s.Call("crm.category.delete", map[string]any{"entityTypeId": etid, "id": def})
		if r.Status != 200 || r.Result() != nil {
			t.Errorf("delete: %s", r.Raw)
		}
		s.MustFail("crm.category.get", map[string]any{"entityTypeId": etid, "id": def}, 400, "NOT_FOUND")
		s.MustFail("crm.status.entity.items", map[string]any{"entityId": fmt.Sprintf("DYNAMIC_%d_STAGE_%d", etid, def)}, 400, "The parameter entityId is not defined or invalid.")
		s.MustFail("crm.category.list", map[string]any{"entityTypeId": 4444}, 400, "NOT_FOUND")
		f := s.MustOK("crm.category.fields", map[string]any{"entityTypeId": etid})
		if apitest.Path(f, "fields.isDefault.isReadOnly") != true || apitest.Path(f, "fields.name.isRequired") != true {
			t.Errorf("fields: %v", f)
		}
	})
}

func TestStatuses(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Sales", "isStagesEnabled": "Y"})
		other := newType(s, map[string]any{"title": "Other"})
		dir := fmt.Sprintf("DYNAMIC_%d_STAGE_1", etid)
		code := func(c string) string { return fmt.Sprintf("DT%d_1:%s", etid, c) }
		add := func(fields map[string]any) *apitest.Response {
			return s.Call("crm.status.add", map[string]any{"fields": fields})
		}

		r := add(map[string]any{"ENTITY_ID": dir, "STATUS_ID": "NEGOTIATION", "NAME": "Negotiation", "SORT": 35, "COLOR": "#AABBCC"})
		if r.Status != 200 {
			t.Fatalf("add: %s", r.Raw)
		}
		id := apitest.Int(r.Body, "result")
		row := s.MustOK("crm.status.get", map[string]any{"id": id})
		want := map[string]any{"ENTITY_ID": dir, "STATUS_ID": code("NEGOTIATION"), "NAME": "Negotiation", "SORT": "35", "SYSTEM": "N", "CATEGORY_ID": "1", "COLOR": "#AABBCC", "SEMANTICS": nil}
		for k, v := range want {
			if apitest.Path(row, k) != v {
				t.Errorf("%s = %#v, want %#v", k, apitest.Path(row, k), v)
			}
		}
		if _, has := row.(map[string]any)["EXTRA"]; has {
			t.Errorf("smart-process stages carry no EXTRA")
		}
		// Already-prefixed codes are kept; failure stages may be added after success.
		if r := add(map[string]any{"ENTITY_ID": dir, "STATUS_ID": code("LOST"), "NAME": "Lost", "SORT": 60, "SEMANTICS": "F"}); r.Status != 200 {
			t.Errorf("failure stage: %s", r.Raw)
		}
		bad := []struct {
			name   string
			fields map[string]any
			code   string
		}{
			{"no ENTITY_ID nor STATUS_ID", map[string]any{"NAME": "x"}, ""},
			{"no name", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "X"}, ""},
			{"spaces in code", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "MY STAGE", "NAME": "x"}, ""},
			{"another type's prefix", map[string]any{"ENTITY_ID": dir, "STATUS_ID": fmt.Sprintf("DT%d_2:X", other), "NAME": "x"}, ""},
			{"unknown directory", map[string]any{"ENTITY_ID": "DYNAMIC_4444_STAGE_1", "STATUS_ID": "X", "NAME": "x"}, ""},
			{"taken code", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "NEGOTIATION", "NAME": "x"}, "ERROR_CORE"},
			{"second success", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "WON2", "NAME": "x", "SORT": 45, "SEMANTICS": "S"}, ""},
			{"failure before success", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "EARLY_FAIL", "NAME": "x", "SORT": 5, "SEMANTICS": "F"}, ""},
			{"in progress after success", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "LATE", "NAME": "x", "SORT": 45}, ""},
			{"bad semantics", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "Q", "NAME": "x", "SEMANTICS": "W"}, ""},
			{"too long", map[string]any{"ENTITY_ID": dir, "STATUS_ID": "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ", "NAME": "x"}, ""},
		}
		for _, b := range bad {
			r := add(b.fields)
			if got, _ := r.Error(); r.Status != 400 || got != b.code {
				t.Errorf("%s: %d %s", b.name, r.Status, r.Raw)
			}
		}
		n := len(s.MustOK("crm.status.entity.items", map[string]any{"entityId": dir}).([]any))
		if n != 7 {
			t.Errorf("stages after refused adds: %d, want 7", n)
		}

		if r := s.Call("crm.status.update", map[string]any{"id": id, "fields": map[string]any{"NAME": "Talks", "SORT": 25, "COLOR": "#000000"}}); r.Result() != true {
			t.Errorf("update: %s", r.Raw)
		}
		s.MustFail("crm.status.update", map[string]any{"id": id, "fields": map[string]any{"SORT": 999}}, 400,
			fmt.Sprintf("Cannot create more stages after the final stage: stage %s (SORT 999) is in progress but sorts after the success stage (SORT 40)", code("NEGOTIATION")))
		s.MustFail("crm.status.get", map[string]any{"id": 99999}, 400, "Status is not found.")
		s.MustFail("crm.status.update", map[string]any{"fields": map[string]any{"NAME": "x"}}, 400, "Invalid identifier.")

		// Deleting: system stages need FORCED; stages with items stay; each kind keeps one.
		items := s.MustOK("crm.status.list", map[string]any{"filter": map[string]any{"ENTITY_ID": dir}, "order": map[string]any{"SORT": "ASC"}}).([]any)
		ids := map[string]int64{}
		for _, it := range items {
			var n int64
			fmt.Sscan(apitest.Str(it, "ID"), &n)
			ids[apitest.Str(it, "STATUS_ID")] = n
		}
		s.MustFail("crm.status.delete", map[string]any{"id": ids[code("NEW")]}, 400, `CRM System Status can be deleted only if parameter FORCED is specified and equal to "Y".`)
		s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"stageId": code("NEGOTIATION")}})
		s.MustFail("crm.status.delete", map[string]any{"id": ids[code("NEGOTIATION")]}, 400, "There are active items in this status.")
		if r := s.Call("crm.status.delete", map[string]any{"id": ids[code("LOST")]}); r.Result() != true {
			t.Errorf("delete: %s", r.Raw)
		}
		s.MustFail("crm.status.delete", map[string]any{"id": ids[code("FAIL")], "params": map[string]any{"FORCED": "Y"}}, 400, "A pipeline needs at least one failure stage")
		s.MustFail("crm.status.delete", map[string]any{"id": ids[code("SUCCESS")], "params": map[string]any{"FORCED": "Y"}}, 400, "A pipeline needs its success stage")
		if r := s.Call("crm.status.delete", map[string]any{"id": ids[code("NEW")], "params": map[string]any{"FORCED": "Y"}}); r.Result() != true {
			t.Errorf("forced delete of a system stage: %s", r.Raw)
		}
		s.MustFail("crm.status.list", map[string]any{"filter": map[string]any{"ENTITY_ID": 5}}, 400, "Filter by ENTITY_ID must be a string")

		types := s.MustOK("crm.status.entity.types", nil).([]any)
		found := false
		for _, d := range types {
			if apitest.Str(d, "ID") == dir {
				found = apitest.Str(d, "PREFIX") == fmt.Sprintf("DT%d_1", etid) && apitest.Str(d, "CATEGORY_NAME") == "General" &&
					apitest.Path(d, "IS_DEFAULT_CATEGORY") == true && fmt.Sprint(apitest.Path(d, "SEMANTIC_INFO")) == "[]"
			}
		}
		if !found {
			t.Errorf("entity.types lacks %s: %v", dir, types)
		}
		if f := s.MustOK("crm.status.fields", nil); apitest.Path(f, "STATUS_ID.isImmutable") != true {
			t.Errorf("fields: %v", f)
		}
	})
}

// Moving between funnels: without a stage the item goes to the new funnel's first
// stage with the same semantics as its current one.
func TestFunnelChangeKeepsSemantics(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Sales", "isStagesEnabled": "Y", "isCategoriesEnabled": "Y"})
		other := newType(s, map[string]any{"title": "Other", "isStagesEnabled": "Y"})
		second := apitest.Int(s.MustOK("crm.category.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"name": "B"}}), "category.id")
		st := func(cat int64, c string) string { return fmt.Sprintf("DT%d_%d:%s", etid, cat, c) }
		add := func(stage string) int64 {
			return apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"stageId": stage}}), "item.id")
		}
		move := func(id int64, fields map[string]any) map[string]any {
			return apitest.Path(s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": fields}), "item").(map[string]any)
		}
		won := add(st(1, "SUCCESS"))
		working := add(st(1, "CLIENT"))
		if it := move(won, map[string]any{"categoryId": second}); it["stageId"] != st(second, "SUCCESS") || it["previousStageId"] != st(1, "SUCCESS") {
			t.Errorf("success item moved to %v", it["stageId"])
		}
		if it := move(working, map[string]any{"categoryId": second}); it["stageId"] != st(second, "NEW") {
			t.Errorf("in-progress item moved to %v, want the first stage in progress", it["stageId"])
		}
		if it := move(working, map[string]any{"categoryId": 1, "stageId": st(1, "FAIL")}); it["stageId"] != st(1, "FAIL") {
			t.Errorf("explicit stage with the funnel: %v", it["stageId"])
		}
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": won, "fields": map[string]any{"stageId": st(1, "NEW")}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": won, "fields": map[string]any{"stageId": fmt.Sprintf("DT%d_1:NEW", other)}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		if got := apitest.Str(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": won}), "item.stageId"); got != st(second, "SUCCESS") {
			t.Errorf("a refused move changed the stage to %s", got)
		}
	})
}

func TestStageHistoryAndCounts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Sales", "isStagesEnabled": "Y", "isCategoriesEnabled": "Y", "isLinkWithProductsEnabled": "Y"})
		second := apitest.Int(s.MustOK("crm.category.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"name": "B"}}), "category.id")
		st := func(cat int64, c string) string { return fmt.Sprintf("DT%d_%d:%s", etid, cat, c) }
		a := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"opportunity": 100}}), "item.id")
		b := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"opportunity": 50, "stageId": st(1, "CLIENT")}}), "item.id")
		update := func(id int64, f map[string]any) {
			s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": f})
		}
		update(a, map[string]any{"stageId": st(1, "PREPARATION")})
		update(a, map[string]any{"stageId": st(1, "SUCCESS"), "opportunity": 120})
		update(a, map[string]any{"title": "no move"})
		update(b, map[string]any{"categoryId": second})
		update(b, map[string]any{"opportunity": 70})

		res := s.Call("crm.stagehistory.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"OWNER_ID": a}, "order": map[string]any{"ID": "ASC"}})
		rows := apitest.Path(res.Result(), "items").([]any)
		var kinds, stages []string
		for _, r := range rows {
			kinds = append(kinds, fmt.Sprint(apitest.Path(r, "TYPE_ID")))
			stages = append(stages, apitest.Str(r, "STAGE_ID")+"/"+apitest.Str(r, "STAGE_SEMANTIC_ID"))
		}
		if fmt.Sprint(kinds) != "[1 2 3]" || stages[2] != st(1, "SUCCESS")+"/S" || apitest.Int(res.Body, "total") != 3 {
			t.Errorf("history of a: %v %v total %v", kinds, stages, res.Body["total"])
		}
		res = s.Call("crm.stagehistory.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"OWNER_ID": b, "TYPE_ID": 5}, "select": []string{"ID", "STAGE_ID"}})
		rows = apitest.Path(res.Result(), "items").([]any)
		if len(rows) != 1 || apitest.Str(rows[0], "STAGE_ID") != st(second, "NEW") || len(rows[0].(map[string]any)) != 2 {
			t.Errorf("funnel change of b: %v", rows)
		}
		s.MustFail("crm.stagehistory.list", map[string]any{"entityTypeId": 4444}, 400, "ENTITY_TYPE_NOT_SUPPORTED")
		s.MustFail("crm.stagehistory.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"nope": 1}}, 400, "INVALID_ARG_VALUE")

		counts := func(cat int64) map[string]string {
			out := map[string]string{}
			for _, r := range apitest.Path(s.MustOK("smartcrm.stage.counts", map[string]any{"entityTypeId": etid, "categoryId": cat}), "stages").([]any) {
				if apitest.Int(r, "count") > 0 {
					out[apitest.Str(r, "stageId")] = fmt.Sprintf("%v/%v", apitest.Path(r, "count"), apitest.Path(r, "amount"))
				}
			}
			return out
		}
		if got := counts(1); fmt.Sprint(got) != fmt.Sprint(map[string]string{st(1, "SUCCESS"): "1/120"}) {
			t.Errorf("funnel 1 counts: %v", got)
		}
		if got := counts(second); fmt.Sprint(got) != fmt.Sprint(map[string]string{st(second, "NEW"): "1/70"}) {
			t.Errorf("funnel 2 counts: %v", got)
		}
		s.MustOK("crm.item.delete", map[string]any{"entityTypeId": etid, "id": a})
		if got := counts(1); len(got) != 0 {
			t.Errorf("counts after delete: %v", got)
		}
		// History stays after the item is gone: analytics of lost deals need it.
		res = s.Call("crm.stagehistory.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"OWNER_ID": a}})
		if apitest.Int(res.Body, "total") != 3 {
			t.Errorf("history after delete: %v", res.Body["total"])
		}
		s.MustFail("smartcrm.stage.counts", map[string]any{"entityTypeId": etid, "categoryId": 999}, 400, "NOT_FOUND")
	})
}

// A field required from a stage on: entering that stage or a later one without it is
// refused with the field named; failure stages never demand it; clearing it while
// there is refused; other funnels are unaffected.
func TestRequiredFromStage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Sales", "isStagesEnabled": "Y", "isCategoriesEnabled": "Y", "isLinkWithProductsEnabled": "Y"})
		second := apitest.Int(s.MustOK("crm.category.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"name": "B"}}), "category.id")
		st := func(cat int64, c string) string { return fmt.Sprintf("DT%d_%d:%s", etid, cat, c) }
		s.MustOK("smartcrm.stage.requiredFields.set", map[string]any{"entityTypeId": etid, "field": "xmlId", "stageId": st(1, "CLIENT")})
		s.MustOK("smartcrm.stage.requiredFields.set", map[string]any{"entityTypeId": etid, "field": "OPPORTUNITY", "stageId": st(1, "SUCCESS")})

		rules := s.MustOK("smartcrm.stage.requiredFields.list", map[string]any{"entityTypeId": etid}).([]any)
		if len(rules) != 2 || apitest.Str(rules[1], "field") != "xmlId" || apitest.Str(rules[1], "fromStageId") != st(1, "CLIENT") {
			t.Fatalf("rules: %v", rules)
		}
		id := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{}}), "item.id")
		move := func(fields map[string]any) *apitest.Response {
			return s.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": fields})
		}
		if r := move(map[string]any{"stageId": st(1, "PREPARATION")}); r.Status != 200 {
			t.Errorf("a stage before the rule: %s", r.Raw)
		}
		r := s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": st(1, "CLIENT")}}, 400, "CRM_FIELD_ERROR_REQUIRED")
		if _, d := r.Error(); d != `The "External code" field is required from the stage "Approval" on` {
			t.Errorf("message: %s", d)
		}
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": st(1, "SUCCESS"), "xmlId": "X-1"}}, 400, "CRM_FIELD_ERROR_REQUIRED")
		if got := apitest.Str(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}), "item.stageId"); got != st(1, "PREPARATION") {
			t.Fatalf("a refused move changed the stage to %s", got)
		}
		if r := move(map[string]any{"stageId": st(1, "CLIENT"), "xmlId": "X-1"}); r.Status != 200 {
			t.Errorf("move with the field filled: %s", r.Raw)
		}
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"xmlId": ""}}, 400, "CRM_FIELD_ERROR_REQUIRED")
		if r := move(map[string]any{"title": "Other changes are fine"}); r.Status != 200 {
			t.Errorf("unrelated update: %s", r.Raw)
		}
		if r := move(map[string]any{"stageId": st(1, "FAIL"), "xmlId": ""}); r.Status != 200 {
			t.Errorf("a failure stage demands nothing: %s", r.Raw)
		}
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"stageId": st(1, "CLIENT")}}, 400, "CRM_FIELD_ERROR_REQUIRED")
		if r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"categoryId": second, "stageId": st(second, "SUCCESS")}}); r.Status != 200 {
			t.Errorf("another funnel is unaffected: %s", r.Raw)
		}

		for name, p := range map[string]map[string]any{
			"unknown field":      {"entityTypeId": etid, "field": "nope", "stageId": st(1, "CLIENT")},
			"system field":       {"entityTypeId": etid, "field": "createdTime", "stageId": st(1, "CLIENT")},
			"unknown stage":      {"entityTypeId": etid, "field": "xmlId", "stageId": "DT1_1:NEW"},
			"from failure stage": {"entityTypeId": etid, "field": "xmlId", "stageId": st(1, "FAIL")},
		} {
			if r := s.Call("smartcrm.stage.requiredFields.set", p); r.Status != 400 {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		s.MustOK("smartcrm.stage.requiredFields.delete", map[string]any{"entityTypeId": etid, "categoryId": 1, "field": "xmlId"})
		s.MustFail("smartcrm.stage.requiredFields.delete", map[string]any{"entityTypeId": etid, "categoryId": 1, "field": "xmlId"}, 400, "NOT_FOUND")
		if r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"stageId": st(1, "CLIENT")}}); r.Status != 200 {
			t.Errorf("after the rule is gone: %s", r.Raw)
		}
		if n := len(s.MustOK("smartcrm.stage.requiredFields.list", map[string]any{"entityTypeId": etid}).([]any)); n != 1 {
			t.Errorf("rules after delete: %d", n)
		}
	})
}

// Without isStagesEnabled the stage fields read as null, writes to them are ignored and
// they cannot be filtered on; the funnel is still there.
func TestTypeWithoutStages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Plain"})
		it := apitest.Path(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"stageId": fmt.Sprintf("DT%d_1:SUCCESS", etid)}}), "item").(map[string]any)
		for _, k := range []string{"stageId", "previousStageId", "movedBy", "movedTime"} {
			if v, present := it[k]; !present || v != nil {
				t.Errorf("%s = %v, want null", k, v)
			}
		}
		if apitest.Int(it, "categoryId") != 1 {
			t.Errorf("categoryId: %v", it["categoryId"])
		}
		s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"stageId": "x"}}, 400, "INVALID_ARG_VALUE")
		// Switched on later, the item is in the funnel's first stage, not where the
		// ignored write tried to put it.
		s.MustOK("crm.type.update", map[string]any{"id": 1, "fields": map[string]any{"isStagesEnabled": "Y"}})
		if got := apitest.Str(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": apitest.Int(it, "id")}), "item.stageId"); got != fmt.Sprintf("DT%d_1:NEW", etid) {
			t.Errorf("stage after enabling stages: %s", got)
		}
	})
}

// Opposite moves at the same time neither deadlock nor skew the counters: afterwards
// every stage's count and amount equal a recount of the items.
func TestConcurrentMovesKeepCountsExact(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Sales", "isStagesEnabled": "Y", "isLinkWithProductsEnabled": "Y"})
		stages := []string{"NEW", "PREPARATION", "CLIENT", "SUCCESS"}
		st := func(i int) string { return fmt.Sprintf("DT%d_1:%s", etid, stages[i%len(stages)]) }
		seed(s, etid, 40, func(i int) map[string]any { return map[string]any{"stageId": st(i), "opportunity": 10 * (i + 1)} })
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 25; i++ {
					id := 1 + (w*5+i)%40
					r := s.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{
						"stageId": st(w + i), "opportunity": w*100 + i,
					}})
					if r.Status != 200 {
						t.Errorf("move: %s", r.Raw)
						return
					}
				}
			}(w)
		}
		wg.Wait()
		want := map[string][2]float64{}
		for _, it := range apitest.Path(s.MustOK("crm.item.list", map[string]any{"entityTypeId": etid, "select": []string{"stageId", "opportunity"}}), "items").([]any) {
			c := want[apitest.Str(it, "stageId")]
			o, _ := apitest.Path(it, "opportunity").(json.Number).Float64()
			want[apitest.Str(it, "stageId")] = [2]float64{c[0] + 1, c[1] + o}
		}
		for _, row := range apitest.Path(s.MustOK("smartcrm.stage.counts", map[string]any{"entityTypeId": etid}), "stages").([]any) {
			n, _ := apitest.Path(row, "count").(json.Number).Float64()
			a, _ := apitest.Path(row, "amount").(json.Number).Float64()
			if w := want[apitest.Str(row, "stageId")]; n != w[0] || a != w[1] {
				t.Errorf("%s: counted %v/%v, items say %v/%v", apitest.Str(row, "stageId"), n, a, w[0], w[1])
			}
		}
	})
}
