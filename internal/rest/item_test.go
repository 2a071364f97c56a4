package rest_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

func TestItemAddDefaultsAndGating(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "HR", "isStagesEnabled": "Y", "isBeginCloseDatesEnabled": "Y"})
		res := s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"unknownField": "ignored"}})
		it := apitest.Path(res, "item").(map[string]any)
		id := apitest.Int(it, "id")
		if apitest.Str(it, "title") != fmt.Sprintf("HR #%d", id) {
			t.Errorf("default title: %v", it["title"])
		}
		if apitest.Int(it, "assignedById") != 1 || apitest.Int(it, "createdBy") != 1 || apitest.Str(it, "opened") != "Y" {
			t.Errorf("defaults: %v", it)
		}
		if apitest.Int(it, "entityTypeId") != etid {
			t.Errorf("entityTypeId: %v", it["entityTypeId"])
		}
		cat := apitest.Int(it, "categoryId")
		if apitest.Str(it, "stageId") != fmt.Sprintf("DT%d_%d:NEW", etid, cat) {
			t.Errorf("first stage: %v", it["stageId"])
		}
		created, err := time.Parse(time.RFC3339, apitest.Str(it, "createdTime"))
		if err != nil || time.Since(created) > time.Minute {
			t.Errorf("createdTime: %v", it["createdTime"])
		}
		begin, _ := time.Parse(time.RFC3339, apitest.Str(it, "begindate"))
		end, _ := time.Parse(time.RFC3339, apitest.Str(it, "closedate"))
		if end.Sub(begin) != 7*24*time.Hour || begin.Hour() != 0 {
			t.Errorf("begindate/closedate: %v %v", it["begindate"], it["closedate"])
		}
		// Fields of switched-off features are present and null; writes to them are ignored.
		for _, k := range []string{"opportunity", "currencyId", "companyId", "contactIds", "observers", "sourceId", "mycompanyId"} {
			if v, present := it[k]; !present || v != nil {
				t.Errorf("%s: present=%v value=%v, want null", k, present, v)
			}
		}
		res = s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"opportunity": 500, "title": "Dated", "begindate": "2025-03-01"}})
		if apitest.Path(res, "item.opportunity") != nil {
			t.Errorf("disabled opportunity was written")
		}
		if got := apitest.Str(res, "item.begindate"); got[:19] != "2025-03-01T00:00:00" {
			t.Errorf("date comes back as a datetime at midnight: %s", got)
		}
		// Switching the feature on shows the column, still empty for old items.
		s.MustOK("crm.type.update", map[string]any{"id": 1, "fields": map[string]any{"isLinkWithProductsEnabled": "Y"}})
		got := s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": apitest.Int(res, "item.id")})
		if v, present := apitest.Path(got, "item").(map[string]any)["opportunity"]; !present || v != nil {
			t.Errorf("opportunity after enabling: %v", v)
		}
		res = s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"opportunity": "1 234,5"}})
		if apitest.Path(res, "item.opportunity") != json.Number("1234.5") || apitest.Str(res, "item.currencyId") != "USD" {
			t.Errorf("products on: %v %v", apitest.Path(res, "item.opportunity"), apitest.Path(res, "item.currencyId"))
		}
	})
}

func TestItemValidation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"isStagesEnabled": "Y", "isObserversEnabled": "Y"})
		other := newType(s, map[string]any{"title": "Other", "isStagesEnabled": "Y"})
		add := func(fields map[string]any) map[string]any {
			return map[string]any{"entityTypeId": etid, "fields": fields}
		}
		r := s.MustFail("crm.item.add", add(map[string]any{"assignedById": 99}), 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		if _, d := r.Error(); d[:35] != `Invalid value for field "Assigned t` {
			t.Errorf("description names the field: %s", d)
		}
		s.MustFail("crm.item.add", add(map[string]any{"createdTime": "x", "assignedById": "abc"}), 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", add(map[string]any{"stageId": fmt.Sprintf("DT%d_%d:NEW", other, 2)}), 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", add(map[string]any{"categoryId": 999}), 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", add(map[string]any{"observers": 1}), 400, "100")
		s.MustFail("crm.item.add", add(map[string]any{"observers": []any{1, 77}}), 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", add(map[string]any{"opened": "perhaps"}), 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": 4444, "fields": map[string]any{}}, 400, "NOT_FOUND")
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": 5, "fields": map[string]any{}}, 400, "ENTITY_TYPE_NOT_SUPPORTED")
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid}, 400, "100")
		s.MustFail("crm.item.add", map[string]any{"fields": map[string]any{}}, 400, "100")
		s.MustFail("crm.item.get", map[string]any{"entityTypeId": etid, "id": 1}, 400, "NOT_FOUND")
		if n := apitest.Int(s.Call("crm.item.list", map[string]any{"entityTypeId": etid}).Body, "total"); n != 0 {
			t.Errorf("refused adds wrote %d items", n)
		}
		// Read-only fields are ignored, not refused.
		res := s.MustOK("crm.item.add", add(map[string]any{"id": 500, "createdBy": 7, "createdTime": "2001-01-01T00:00:00+00:00", "observers": []any{1}}))
		if apitest.Int(res, "item.id") == 500 || apitest.Int(res, "item.createdBy") != 1 || apitest.Int(res, "item.observers.0") != 1 {
			t.Errorf("read-only fields: %v", apitest.Path(res, "item"))
		}
	})
}

func TestItemUpdate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"isStagesEnabled": "Y"})
		clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
		s.App.CRM.Now = func() time.Time { return clock }
		res := s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": "Original", "xmlId": "ext-1"}})
		it := apitest.Path(res, "item")
		id, cat := apitest.Int(it, "id"), apitest.Int(it, "categoryId")
		stage := func(code string) string { return fmt.Sprintf("DT%d_%d:%s", etid, cat, code) }

		clock = clock.Add(time.Hour)
		res = s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"title": "Renamed", "stageId": stage("CLIENT")}})
		it = apitest.Path(res, "item")
		if apitest.Str(it, "title") != "Renamed" || apitest.Str(it, "xmlId") != "ext-1" {
			t.Errorf("partial update: %v", it)
		}
		if apitest.Str(it, "stageId") != stage("CLIENT") || apitest.Str(it, "previousStageId") != stage("NEW") {
			t.Errorf("stage move: %v / %v", apitest.Path(it, "stageId"), apitest.Path(it, "previousStageId"))
		}
		movedAt, _ := time.Parse(time.RFC3339, apitest.Str(it, "movedTime"))
		updatedAt, _ := time.Parse(time.RFC3339, apitest.Str(it, "updatedTime"))
		if !movedAt.Equal(clock) || !updatedAt.Equal(clock) {
			t.Errorf("movedTime %v updatedTime %v, want %v", movedAt, updatedAt, clock)
		}

		// Nothing changed: nothing written, updatedTime stays.
		clock = clock.Add(time.Hour)
		res = s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"title": "Renamed", "stageId": stage("CLIENT"), "whatever": 1}})
		if got := apitest.Str(res, "item.updatedTime"); got != apitest.Str(it, "updatedTime") {
			t.Errorf("no-op update changed updatedTime to %s", got)
		}
		// Emptying a field that cannot be emptied falls back to its default.
		res = s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"title": "", "assignedById": ""}})
		if apitest.Str(res, "item.title") != fmt.Sprintf("Contracts #%d", id) || apitest.Int(res, "item.assignedById") != 1 {
			t.Errorf("emptied title/responsible: %v", apitest.Path(res, "item"))
		}
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": "DT1_1:NEW"}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": 9999, "fields": map[string]any{"title": "x"}}, 400, "NOT_FOUND")
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": id}, 400, "100")
		got := s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id})
		if apitest.Str(got, "item.stageId") != stage("CLIENT") {
			t.Errorf("a refused update changed the stage")
		}

		r := s.Call("crm.item.delete", map[string]any{"entityTypeId": etid, "id": id})
		if r.Status != 200 || string(mustJSON(r.Result())) != "[]" {
			t.Errorf("delete: %s", r.Raw)
		}
		s.MustFail("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}, 400, "NOT_FOUND")
		s.MustFail("crm.item.delete", map[string]any{"entityTypeId": etid, "id": id}, 400, "NOT_FOUND")
	})
}

// Concurrent writers to the same item never lose each other's changes: each update
// applies its fields to the state the previous one left.
func TestConcurrentUpdatesKeepEveryChange(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"isLinkWithProductsEnabled": "Y", "isSourceEnabled": "Y"})
		id := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{}}), "item.id")
		fields := []map[string]any{
			{"title": "by writer 1"}, {"xmlId": "by writer 2"}, {"opportunity": 42}, {"sourceDescription": "by writer 4"},
			{"currencyId": "EUR"}, {"taxValue": 7}, {"webformId": 3}, {"opened": "N"},
		}
		var wg sync.WaitGroup
		for round := 0; round < 3; round++ {
			for _, f := range fields {
				wg.Add(1)
				go func(f map[string]any) {
					defer wg.Done()
					r := s.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": f})
					if r.Status != 200 {
						t.Errorf("update %v: %s", f, r.Raw)
					}
				}(f)
			}
		}
		wg.Wait()
		it := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}), "item")
		want := map[string]string{"title": "by writer 1", "xmlId": "by writer 2", "opportunity": "42", "sourceDescription": "by writer 4",
			"currencyId": "EUR", "taxValue": "7", "webformId": "3", "opened": "N"}
		for k, v := range want {
			if got := fmt.Sprint(apitest.Path(it, k)); got != v {
				t.Errorf("%s = %s, want %s (a concurrent update was lost)", k, got, v)
			}
		}
	})
}

// seed adds n items through batch calls (50 per call) with titles "Item {i}".
func seed(s *apitest.Server, etid int64, n int, fields func(i int) map[string]any) {
	s.T.Helper()
	for start := 0; start < n; start += 50 {
		var cmd []string // a list keeps the order: item i gets id i+1
		for i := start; i < min(start+50, n); i++ {
			f := fields(i)
			q := fmt.Sprintf("crm.item.add?entityTypeId=%d", etid)
			for k, v := range f {
				if list, ok := v.([]int); ok {
					for j, e := range list {
						q += fmt.Sprintf("&fields[%s][%d]=%d", k, j, e)
					}
					continue
				}
				q += fmt.Sprintf("&fields[%s]=%s", k, url.QueryEscape(fmt.Sprint(v)))
			}
			cmd = append(cmd, q)
		}
		res := s.MustOK("batch", map[string]any{"halt": 1, "cmd": cmd})
		if errs := apitest.Path(res, "result_error"); fmt.Sprint(errs) != "[]" {
			s.T.Fatalf("seeding: %v", errs)
		}
	}
}

func listIDs(t *testing.T, s *apitest.Server, params map[string]any) []int64 {
	t.Helper()
	res := s.MustOK("crm.item.list", params)
	var ids []int64
	for _, it := range apitest.Path(res, "items").([]any) {
		ids = append(ids, apitest.Int(it, "id"))
	}
	return ids
}

func TestItemListFilters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"isStagesEnabled": "Y", "isLinkWithProductsEnabled": "Y", "isObserversEnabled": "Y", "isBeginCloseDatesEnabled": "Y"})
		stages := []string{"NEW", "PREPARATION", "CLIENT", "SUCCESS", "FAIL"}
		titles := []string{"Alpha contract", "beta CONTRACT", "Gamma", "delta_x", "50% off"}
		seed(s, etid, 20, func(i int) map[string]any {
			f := map[string]any{
				"title":       titles[i%5],
				"stageId":     fmt.Sprintf("DT%d_1:%s", etid, stages[i%5]),
				"opportunity": i * 100,
				"begindate":   fmt.Sprintf("2025-01-%02d", i+1),
			}
			if i%2 == 0 {
				f["xmlId"] = fmt.Sprintf("X%d", i)
			}
			if i%4 == 0 {
				f["observers"] = []int{1}
			}
			return f
		})
		base := func(filter map[string]any) map[string]any {
			return map[string]any{"entityTypeId": etid, "filter": filter, "select": []string{"id"}, "order": map[string]any{"id": "ASC"}}
		}
		cases := []struct {
			name   string
			filter map[string]any
			want   []int64
		}{
			{"equals", map[string]any{"opportunity": 300}, []int64{4}},
			{"= prefix", map[string]any{"=opportunity": 300}, []int64{4}},
			{"not equal", map[string]any{"!=opportunity": 0, "<opportunity": 300}, []int64{2, 3}},
			{"range", map[string]any{">opportunity": 1500, "<=opportunity": 1700}, []int64{17, 18}},
			{"in", map[string]any{"@id": []int{3, 5, 99}}, []int64{3, 5}},
			{"array means in", map[string]any{"id": []int{3, 5}}, []int64{3, 5}},
			{"not in", map[string]any{"!@id": []int{1, 2}, "<id": 5}, []int64{3, 4}},
			{"stage", map[string]any{"stageId": fmt.Sprintf("DT%d_1:SUCCESS", etid)}, []int64{4, 9, 14, 19}},
			{"substring, any case", map[string]any{"%title": "contract", "<id": 7}, []int64{1, 2, 6}},
			{"% and _ match literally", map[string]any{"%title": "50%"}, []int64{5, 10, 15, 20}},
			{"underscore literal", map[string]any{"%title": "a_x"}, []int64{4, 9, 14, 19}},
			{"caller wildcards", map[string]any{"=%title": "gam%"}, []int64{3, 8, 13, 18}},
			{"not substring", map[string]any{"!%title": "contract", "<id": 6}, []int64{3, 4, 5}},
			{"not like", map[string]any{"!=%title": "%a", "<id": 6}, []int64{1, 2, 4, 5}},
			{"not empty", map[string]any{"!=xmlId": "", "<id": 6}, []int64{1, 3, 5}},
			{"empty", map[string]any{"xmlId": "", "<id": 6}, []int64{2, 4}},
			{"date range", map[string]any{">=begindate": "2025-01-18", "<begindate": "2025-01-20T00:00:00"}, []int64{18, 19}},
			{"created today", map[string]any{">=createdTime": time.Now().Add(-time.Hour).Format(time.RFC3339), "<id": 3}, []int64{1, 2}},
			{"multiple holds", map[string]any{"observers": 1}, []int64{1, 5, 9, 13, 17}},
			{"category null is the default", map[string]any{"categoryId": nil, "<id": 3}, []int64{1, 2}},
			{"OR group", map[string]any{"0": map[string]any{"logic": "OR", "0": map[string]any{"id": 1}, "1": map[string]any{"id": 20}}}, []int64{1, 20}},
			{"nested groups", map[string]any{
				"0":    map[string]any{"logic": "OR", "a": map[string]any{"<id": 3}, "b": map[string]any{"logic": "AND", "0": map[string]any{">id": 17}, "1": map[string]any{"!=id": 19}}},
				"!=id": 2,
			}, []int64{1, 18, 20}},
			{"upper-case name", map[string]any{"ASSIGNED_BY_ID": 1, "<=ID": 2}, []int64{1, 2}},
		}
		for _, c := range cases {
			got := listIDs(t, s, base(c.filter))
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
		// A top-level JSON list of groups, as one doc example sends.
		raw := fmt.Sprintf(`{"entityTypeId":%d,"select":["id"],"filter":[{"logic":"OR","0":{"id":2},"1":{"id":4}}]}`, etid)
		r := s.Do("POST", s.Base+"crm.item.list", "application/json", []byte(raw))
		if n := len(apitest.Path(r.Result(), "items").([]any)); n != 2 {
			t.Errorf("list-form filter: %s", r.Raw)
		}
		for name, filter := range map[string]map[string]any{
			"unknown field":      {">ddId": 1},
			"bad number":         {"opportunity": "lots"},
			"pattern on number":  {"%opportunity": "1"},
			"pattern on date":    {"%createdTime": "2025"},
			"bad date":           {">createdTime": "yesterday"},
			"range on empty":     {">id": ""},
			"disabled field":     {"companyId": 1},
			"bad logic":          {"0": map[string]any{"logic": "XOR", "0": map[string]any{"id": 1}}},
			"list for a compare": {">id": []int{1, 2}},
		} {
			s.MustFail("crm.item.list", base(filter), 400, "INVALID_ARG_VALUE")
			_ = name
		}
	})
}

func TestItemListSelectOrderPaging(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"isLinkWithProductsEnabled": "Y"})
		seed(s, etid, 123, func(i int) map[string]any {
			return map[string]any{"title": fmt.Sprintf("Item %03d", i), "opportunity": (i * 37) % 100}
		})
		// select: only the chosen fields plus id and entityTypeId, in catalog order.
		res := s.MustOK("crm.item.list", map[string]any{"entityTypeId": etid, "select": []string{"opportunity", "title"}, "filter": map[string]any{"id": 1}})
		row := apitest.Path(res, "items.0").(map[string]any)
		if len(row) != 4 || row["title"] != "Item 000" || row["entityTypeId"] == nil {
			t.Errorf("select: %v", row)
		}
		res = s.MustOK("crm.item.list", map[string]any{"entityTypeId": etid, "select": []string{"*"}, "filter": map[string]any{"id": 1}})
		if n := len(apitest.Path(res, "items.0").(map[string]any)); n < 30 {
			t.Errorf("select *: %d fields", n)
		}
		// order: by a field then id; direction case-insensitive.
		var want []int64
		for _, o := range []int{99, 98} {
			for i := 0; i < 123; i++ {
				if (i*37)%100 == o {
					want = append(want, int64(i+1))
				}
			}
		}
		ids := listIDs(t, s, map[string]any{"entityTypeId": etid, "order": map[string]any{"opportunity": "desc", "id": "asc"}, "filter": map[string]any{">=opportunity": 98}})
		if len(want) == 0 || fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Errorf("order: %v, want %v", ids, want)
		}
		var prev int64 = 100
		for _, it := range apitest.Path(s.MustOK("crm.item.list", map[string]any{"entityTypeId": etid, "order": map[string]any{"opportunity": "DESC"}}), "items").([]any) {
			if o := apitest.Int(it, "opportunity"); o > prev {
				t.Fatalf("not ordered by opportunity DESC")
			} else {
				prev = o
			}
		}
		s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid, "order": map[string]any{"opportunity": "sideways"}}, 400, "INVALID_ARG_VALUE")
		s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid, "order": map[string]any{"nope": "ASC"}}, 400, "INVALID_ARG_VALUE")

		// Offset paging: 50, 50, 23 with total and next.
		seen := map[int64]bool{}
		start := any(0)
		for page := 0; start != nil; page++ {
			r := s.Call("crm.item.list", map[string]any{"entityTypeId": etid, "start": start, "select": []string{"id"}})
			items := apitest.Path(r.Result(), "items").([]any)
			if apitest.Int(r.Body, "total") != 123 {
				t.Fatalf("page %d total %v", page, r.Body["total"])
			}
			want := []int{50, 50, 23}[page]
			if len(items) != want {
				t.Fatalf("page %d: %d rows", page, len(items))
			}
			for _, it := range items {
				seen[apitest.Int(it, "id")] = true
			}
			start = nil
			if n, ok := r.Body["next"].(json.Number); ok {
				start = n
			}
		}
		if len(seen) != 123 {
			t.Errorf("offset paging saw %d distinct items", len(seen))
		}
		// Keyset paging with start=-1: pages of exactly 50, total 0, no next.
		var last int64
		seen = map[int64]bool{}
		for {
			r := s.Call("crm.item.list", map[string]any{"entityTypeId": etid, "start": -1, "order": map[string]any{"id": "ASC"}, "filter": map[string]any{">id": last}})
			items := apitest.Path(r.Result(), "items").([]any)
			if r.Body["total"] != json.Number("0") || r.Body["next"] != nil {
				t.Fatalf("start=-1 must answer total 0 and no next: %v %v", r.Body["total"], r.Body["next"])
			}
			for _, it := range items {
				last = apitest.Int(it, "id")
				seen[last] = true
			}
			if len(items) < 50 {
				break
			}
		}
		if len(seen) != 123 {
			t.Errorf("keyset paging saw %d items", len(seen))
		}
		// A start past the end answers an empty page with the true total.
		r := s.Call("crm.item.list", map[string]any{"entityTypeId": etid, "start": 500})
		if len(apitest.Path(r.Result(), "items").([]any)) != 0 || apitest.Int(r.Body, "total") != 123 {
			t.Errorf("past the end: %s", r.Raw[:200])
		}
		// crm.item.fields lists what a client can use: the fields of switched-off
		// features (stages, client) are left out until the type switches them on.
		fieldKeys := func() []string {
			keys := []string{}
			for k := range apitest.Path(s.MustOK("crm.item.fields", map[string]any{"entityTypeId": etid}), "fields").(map[string]any) {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return keys
		}
		if keys := fieldKeys(); len(keys) < 20 || slices.Contains(keys, "stageId") || slices.Contains(keys, "contactIds") || !slices.Contains(keys, "opportunity") {
			t.Errorf("fields with stages and client off: %v", keys)
		}
		s.MustOK("crm.type.update", map[string]any{"id": apitest.Int(s.MustOK("crm.type.getByEntityTypeId", map[string]any{"entityTypeId": etid}), "type.id"),
			"fields": map[string]any{"isStagesEnabled": "Y", "isClientEnabled": "Y"}})
		if keys := fieldKeys(); len(keys) < 25 || !slices.Contains(keys, "stageId") || !slices.Contains(keys, "contactIds") {
			t.Errorf("fields with stages and client on: %v", keys)
		}
		f := apitest.Path(s.MustOK("crm.item.fields", map[string]any{"entityTypeId": etid}), "fields")
		if apitest.Str(f, "stageId.statusType") != fmt.Sprintf("DYNAMIC_%d_STAGE_1", etid) || apitest.Path(f, "opened.isRequired") != true ||
			apitest.Str(f, "assignedById.upperName") != "ASSIGNED_BY_ID" || apitest.Path(f, "contactId.isDeprecated") != true {
			t.Errorf("field descriptions: %v", f)
		}
	})
}

// Substring search ignores letter case in every alphabet, on both databases alike.
func TestUnicodeCaseInsensitiveSearch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		for _, title := range []string{"Договор поставки", "ДОГОВОР аренды", "Straße", "Счёт"} {
			s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": title}})
		}
		for pattern, want := range map[string]string{"договор": "[1 2]", "СЧЁТ": "[4]", "STRASSE": "[]", "straße": "[3]"} {
			got := listIDs(t, s, map[string]any{"entityTypeId": etid, "filter": map[string]any{"%title": pattern}})
			if fmt.Sprint(got) != want && !(want == "[]" && got == nil) {
				t.Errorf("%%title %q: got %v, want %s", pattern, got, want)
			}
		}
		got := listIDs(t, s, map[string]any{"entityTypeId": etid, "filter": map[string]any{"=%title": "договор%"}})
		if fmt.Sprint(got) != "[1 2]" {
			t.Errorf("=%%title: %v", got)
		}
	})
}

// Totals of offset paging follow every change at once, although they are cached.
func TestTotalsFollowChanges(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		seed(s, etid, 120, func(i int) map[string]any { return map[string]any{"title": "x"} })
		total := func() int64 {
			r := s.Call("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"title": "x"}, "select": []string{"id"}})
			return apitest.Int(r.Body, "total")
		}
		if n := total(); n != 120 {
			t.Fatalf("total %d", n)
		}
		s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": "x"}})
		if n := total(); n != 121 {
			t.Errorf("after add: %d", n)
		}
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": 5, "fields": map[string]any{"title": "y"}})
		if n := total(); n != 120 {
			t.Errorf("after update: %d", n)
		}
		s.MustOK("crm.item.delete", map[string]any{"entityTypeId": etid, "id": 6})
		if n := total(); n != 119 {
			t.Errorf("after delete: %d", n)
		}
	})
}
