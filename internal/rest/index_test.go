package rest_test

import (
	"fmt"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/app"
	"smartcrm/internal/listindex"
	"smartcrm/internal/testdb"
)

// indexFields lists the fields of a type's list indexes, by origin.
func indexFields(s *apitest.Server, etid int64) map[string][]string {
	out := map[string][]string{}
	for _, ix := range apitest.Path(s.MustOK("smartcrm.index.list", map[string]any{"entityTypeId": etid}), "indexes").([]any) {
		m := ix.(map[string]any)
		out[m["origin"].(string)] = append(out[m["origin"].(string)], fmt.Sprint(m["fields"]))
	}
	return out
}

// A list shape seen often and slow gets its index in the background; an administrator
// lists the list indexes, adds one on chosen fields (within the cap, not twice) and
// deletes one; dropping a field drops the indexes that hold it.
func TestListIndexMethods(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.StartWith(t, dialect, func(c *app.Config) {
			c.ListIndexes = listindex.Config{MinSeen: 3, MinAvg: time.Nanosecond, Quiet: time.Millisecond, PerTable: 3}
		})
		etid := newType(s, map[string]any{"title": "Contracts"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_STATUS", "userTypeId": "string"})
		due := addField(s, map[string]any{"fieldName": "UF_CRM_1_DUE", "userTypeId": "datetime"})
		seed(s, etid, 60, func(i int) map[string]any {
			return map[string]any{"ufCrm1Status": fmt.Sprintf("s%d", i%3), "ufCrm1Due": fmt.Sprintf("2026-01-%02dT10:00:00+00:00", 1+i%28)}
		})
		if got := indexFields(s, etid); len(got) != 0 {
			t.Fatalf("a new type has list indexes: %v", got)
		}
		for range 3 {
			s.MustOK("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"ufCrm1Status": "s1"}, "order": map[string]any{"ufCrm1Due": "DESC"}})
		}
		apitest.Eventually(t, "the observed shape's index", 10*time.Second, func() (bool, string) {
			got := indexFields(s, etid)
			return len(got["observed"]) == 1 && got["observed"][0] == "[ufCrm1Status ufCrm1Due id]", fmt.Sprint(got)
		})

		res := s.MustOK("smartcrm.index.add", map[string]any{"entityTypeId": etid, "fields": []string{"ufCrm1Due", "title"}})
		name := apitest.Str(res, "index.name")
		if apitest.Str(res, "index.origin") != "admin" || res.(map[string]any)["index"].(map[string]any)["ready"] != true {
			t.Errorf("added: %v", res)
		}
		s.MustFail("smartcrm.index.add", map[string]any{"entityTypeId": etid, "fields": []string{"ufCrm1Due", "title"}}, 400, "ERROR")
		s.MustFail("smartcrm.index.add", map[string]any{"entityTypeId": etid, "fields": []string{"noSuchField"}}, 400, "INVALID_ARG_VALUE")
		s.MustFail("smartcrm.index.add", map[string]any{"entityTypeId": etid}, 400, "100")
		s.MustOK("smartcrm.index.add", map[string]any{"entityTypeId": etid, "fields": []string{"title", "ufCrm1Status"}})
		s.MustFail("smartcrm.index.add", map[string]any{"entityTypeId": etid, "fields": []string{"createdTime", "title"}}, 400, "ERROR") // the cap of 3

		if s.MustOK("smartcrm.index.delete", map[string]any{"entityTypeId": etid, "name": name}) != true {
			t.Errorf("delete did not answer true")
		}
		s.MustFail("smartcrm.index.delete", map[string]any{"entityTypeId": etid, "name": name}, 400, "NOT_FOUND")
		s.MustFail("smartcrm.index.delete", map[string]any{"entityTypeId": etid, "name": "crm_items_1_title"}, 400, "NOT_FOUND")

		s.MustOK("userfieldconfig.delete", map[string]any{"moduleId": "crm", "id": due["id"]})
		if got := indexFields(s, etid); len(got["observed"]) != 0 || len(got["admin"]) != 1 {
			t.Errorf("after dropping the due field: %v, want only the title+status index", got)
		}
	})
}

// A list that runs out of time answers Bitrix24's time-limit error, not a 500.
func TestListTimeoutAnswersTimeLimit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.StartWith(t, dialect, func(c *app.Config) { c.ListTimeout = time.Nanosecond })
		etid := newType(s, map[string]any{"title": "Slow"})
		r := s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid}, 429, "OPERATION_TIME_LIMIT")
		if _, desc := r.Error(); desc == "" {
			t.Errorf("no description: %s", r.Raw)
		}
	})
}
