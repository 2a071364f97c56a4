package rest_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

func TestTypeAddDefaultsAndAllocation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		res := s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "Leave requests"}})
		typ := apitest.Path(res, "type")
		if apitest.Int(typ, "entityTypeId") != 1030 || apitest.Int(typ, "id") != 1 {
			t.Errorf("first type: %v", typ)
		}
		for k, want := range map[string]string{
			"isCategoriesEnabled": "N", "isStagesEnabled": "N", "isSetOpenPermissions": "Y",
			"isPaymentsEnabled": "N", "code": "",
		} {
			if got := apitest.Str(typ, k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if apitest.Int(typ, "createdBy") != 1 || apitest.Path(typ, "customSectionId") != nil {
			t.Errorf("createdBy/customSectionId: %v", typ)
		}
		if rel := apitest.Path(typ, "relations.parent"); rel == nil {
			t.Errorf("relations missing: %v", typ)
		}
		// Omitted ids continue with the next even number; given ids must be in range.
		res = s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "B"}})
		if apitest.Int(res, "type.entityTypeId") != 1032 {
			t.Errorf("second auto id: %v", apitest.Path(res, "type.entityTypeId"))
		}
		for _, ok := range []int{128, 192, 1040} {
			s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "ok", "entityTypeId": ok}})
		}
		for _, bad := range []any{127, 193, 1031, 1000, -2, "abc"} {
			s.MustFail("crm.type.add", map[string]any{"fields": map[string]any{"title": "bad", "entityTypeId": bad}}, 400, "INVALID_ARG_VALUE")
		}
		s.MustFail("crm.type.add", map[string]any{"fields": map[string]any{"title": "dup", "entityTypeId": 128}}, 400, "INVALID_ARG_VALUE")
		// After 1040 the next free even id is 1042.
		res = s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "C"}})
		if apitest.Int(res, "type.entityTypeId") != 1042 {
			t.Errorf("auto id after 1040: %v", apitest.Path(res, "type.entityTypeId"))
		}
		s.MustFail("crm.type.add", map[string]any{}, 400, "100")
		s.MustFail("crm.type.add", map[string]any{"fields": map[string]any{"isStagesEnabled": "Y"}}, 400, "CRM_FIELD_ERROR_REQUIRED")
		s.MustFail("crm.type.add", map[string]any{"fields": map[string]any{"title": "x", "isStagesEnabled": "maybe"}}, 400, "INVALID_ARG_VALUE")
		if n := apitest.Int(s.Call("crm.type.list", nil).Body, "total"); n != 6 {
			t.Errorf("types after failed adds: %d, want 6", n)
		}
	})
}

func TestTypeGetUpdateRelations(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		other := newType(s, map[string]any{"title": "Projects"})
		res := s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{
			"title": "Tasks", "isClientEnabled": "Y",
			"relations":        map[string]any{"parent": []any{map[string]any{"entityTypeId": 2, "isChildrenListEnabled": "true"}}},
			"linkedUserFields": map[string]any{"TASKS_TASK|UF_CRM_TASK": "true", "BOGUS": "true"},
		}})
		id := apitest.Int(res, "type.id")
		etid := apitest.Int(res, "type.entityTypeId")
		parents := apitest.Path(res, "type.relations.parent").([]any)
		if len(parents) != 3 || apitest.Int(parents[0], "entityTypeId") != 3 || apitest.Str(parents[0], "isPredefined") != "Y" ||
			apitest.Int(parents[2], "entityTypeId") != 2 || apitest.Str(parents[2], "isChildrenListEnabled") != "Y" {
			t.Errorf("parents: %v", parents)
		}
		if luf := apitest.Path(res, "type.linkedUserFields").(map[string]any); len(luf) != 1 || luf["TASKS_TASK|UF_CRM_TASK"] != "Y" {
			t.Errorf("linkedUserFields: %v", luf)
		}

		byID := s.MustOK("crm.type.get", map[string]any{"id": id})
		byETID := s.MustOK("crm.type.getByEntityTypeId", map[string]any{"entityTypeId": etid})
		a, _ := json.Marshal(byID)
		b, _ := json.Marshal(byETID)
		if string(a) != string(b) {
			t.Errorf("get and getByEntityTypeId differ:\n%s\n%s", a, b)
		}

		// Partial update; relations replaced wholesale, predefined kept; entityTypeId immutable.
		res = s.MustOK("crm.type.update", map[string]any{"id": id, "fields": map[string]any{
			"title": "Project tasks", "entityTypeId": 1100,
			"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": other}}, "child": []any{}},
		}})
		typ := apitest.Path(res, "type")
		if apitest.Str(typ, "title") != "Project tasks" || apitest.Int(typ, "entityTypeId") != etid || apitest.Str(typ, "isClientEnabled") != "Y" {
			t.Errorf("after update: %v", typ)
		}
		parents = apitest.Path(typ, "relations.parent").([]any)
		if len(parents) != 3 || apitest.Int(parents[2], "entityTypeId") != other || apitest.Str(parents[2], "isChildrenListEnabled") != "N" {
			t.Errorf("parents after update: %v", parents)
		}
		s.MustFail("crm.type.update", map[string]any{"id": id, "fields": map[string]any{
			"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 4242}}},
		}}, 400, "INVALID_ARG_VALUE")

		// A missing type is the integer 0 in this family.
		r := s.MustFail("crm.type.get", map[string]any{"id": 999}, 400, "0")
		if _, isNum := r.Body["error"].(json.Number); !isNum {
			t.Errorf("error code must be the number 0: %s", r.Raw)
		}
		s.MustFail("crm.type.getByEntityTypeId", map[string]any{"entityTypeId": 4444}, 400, "0")
		s.MustFail("crm.type.update", map[string]any{"id": 999, "fields": map[string]any{"title": "x"}}, 400, "0")
		s.MustFail("crm.type.get", map[string]any{}, 400, "100")
	})
}

func TestTypeListAndFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		for i := 0; i < 55; i++ {
			stages, title := "N", "Plain"
			if i%5 == 0 {
				stages = "Y"
			}
			if i%2 == 0 {
				title = "Even"
			}
			newType(s, map[string]any{"title": title, "isStagesEnabled": stages})
		}
		r := s.Call("crm.type.list", map[string]any{"order": map[string]any{"entityTypeId": "DESC"}})
		types := apitest.Path(r.Result(), "types").([]any)
		if len(types) != 50 || apitest.Int(r.Body, "total") != 55 || apitest.Int(r.Body, "next") != 50 {
			t.Fatalf("page 1: %d rows total %v next %v", len(types), r.Body["total"], r.Body["next"])
		}
		if apitest.Int(types[0], "entityTypeId") != 1030+54*2 {
			t.Errorf("order DESC: first %v", apitest.Path(types[0], "entityTypeId"))
		}
		if _, has := types[0].(map[string]any)["relations"]; has {
			t.Errorf("list rows must not carry relations")
		}
		r = s.Call("crm.type.list", map[string]any{"start": 50})
		if n := len(apitest.Path(r.Result(), "types").([]any)); n != 5 || r.Body["next"] != nil {
			t.Errorf("page 2: %d rows next %v", n, r.Body["next"])
		}
		// Multiples of 10 below 55: stages on and an even index.
		r = s.Call("crm.type.list", map[string]any{"filter": map[string]any{"isStagesEnabled": "Y", "title": "Even"}})
		if n := apitest.Int(r.Body, "total"); n != 6 {
			t.Errorf("filtered total: %d, want 6", n)
		}
		s.MustFail("crm.type.list", map[string]any{"filter": map[string]any{"nope": 1}}, 400, "INVALID_ARG_VALUE")
		s.MustFail("crm.type.list", map[string]any{"order": map[string]any{"title": "UP"}}, 400, "INVALID_ARG_VALUE")

		fields := apitest.Path(s.MustOK("crm.type.fields", nil), "fields").(map[string]any)
		if apitest.Path(fields, "title.isRequired") != true || apitest.Path(fields, "entityTypeId.isImmutable") != true {
			t.Errorf("fields: %v", fields)
		}
		if _, listed := fields["isPaymentsEnabled"]; listed {
			t.Errorf("isPaymentsEnabled must not be listed")
		}
	})
}

func TestTypeDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		res := s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "Visits"}})
		id, etid := apitest.Int(res, "type.id"), apitest.Int(res, "type.entityTypeId")
		item := s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{}})
		s.MustFail("crm.type.delete", map[string]any{"id": id}, 400, "BX_ERROR")
		s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": apitest.Int(item, "item.id")})

		s.MustOK("crm.item.delete", map[string]any{"entityTypeId": etid, "id": apitest.Int(item, "item.id")})
		r := s.Call("crm.type.delete", map[string]any{"entityTypeId": etid})
		if r.Status != 200 || string(mustJSON(r.Result())) != "[]" {
			t.Fatalf("delete by entityTypeId: %s", r.Raw)
		}
		s.MustFail("crm.type.get", map[string]any{"id": id}, 400, "0")
		s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid}, 400, "NOT_FOUND")
		s.MustFail("crm.type.delete", map[string]any{"id": id}, 400, "0")
		if r := s.Call("crm.type.delete", map[string]any{}); r.Status != 200 || r.Result() != nil {
			t.Errorf("delete without id: %s", r.Raw)
		}
		// The table went with the type: the same entityTypeId can be created afresh.
		res = s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "Again", "entityTypeId": etid}})
		s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{}})
		s.MustFail("crm.type.delete", map[string]any{"id": apitest.Int(res, "type.id")}, 400, "BX_ERROR")
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestEnumOwnerType(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		newType(s, map[string]any{"title": "Equipment purchase", "entityTypeId": 177})
		rows := s.MustOK("crm.enum.ownertype", nil).([]any)
		if len(rows) != 11 || apitest.Int(rows[0], "ID") != 1 || apitest.Str(rows[1], "SYMBOL_CODE") != "DEAL" {
			t.Fatalf("owner types: %v", rows)
		}
		spa := rows[10]
		if apitest.Int(spa, "ID") != 177 || apitest.Str(spa, "NAME") != "Equipment purchase" ||
			apitest.Str(spa, "SYMBOL_CODE") != "DYNAMIC_177" || apitest.Str(spa, "SYMBOL_CODE_SHORT") != "Tb1" {
			t.Errorf("smart process row: %v", spa)
		}
	})
}

// A relation is one edge whichever side sets it, and dropping it from either side
// removes it from both.
func TestRelationEdgesFromEitherSide(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		projects := s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "Projects"}})
		pid, petid := apitest.Int(projects, "type.id"), apitest.Int(projects, "type.entityTypeId")
		tasks := s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "Tasks",
			"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": petid, "isChildrenListEnabled": "true"}}}}})
		tid, tetid := apitest.Int(tasks, "type.id"), apitest.Int(tasks, "type.entityTypeId")

		relations := func(id int64, side string) string {
			var out []string
			for _, r := range apitest.Path(s.MustOK("crm.type.get", map[string]any{"id": id}), "type.relations."+side).([]any) {
				out = append(out, fmt.Sprintf("%d/%s", apitest.Int(r, "entityTypeId"), apitest.Str(r, "isChildrenListEnabled")))
			}
			return fmt.Sprint(out)
		}
		if got := relations(pid, "child"); got != fmt.Sprintf("[%d/Y]", tetid) {
			t.Errorf("the parent sees its child: %s", got)
		}
		// Dropped from the parent's side: gone from the child's side too.
		s.MustOK("crm.type.update", map[string]any{"id": pid, "fields": map[string]any{"relations": map[string]any{"parent": []any{}, "child": []any{}}}})
		if got := relations(tid, "parent"); got != "[]" {
			t.Errorf("the child still sees the dropped parent: %s", got)
		}
		// Set again from the parent's side: the child sees it.
		s.MustOK("crm.type.update", map[string]any{"id": pid, "fields": map[string]any{"relations": map[string]any{"child": []any{map[string]any{"entityTypeId": tetid}}}}})
		if got := relations(tid, "parent"); got != fmt.Sprintf("[%d/N]", petid) {
			t.Errorf("set from the parent's side: %s", got)
		}
		// Updating other settings leaves relations alone.
		s.MustOK("crm.type.update", map[string]any{"id": tid, "fields": map[string]any{"title": "Project tasks"}})
		if got := relations(tid, "parent"); got != fmt.Sprintf("[%d/N]", petid) {
			t.Errorf("after an unrelated update: %s", got)
		}
		// Deleting a type removes its edges.
		s.MustOK("crm.type.delete", map[string]any{"id": tid})
		if got := relations(pid, "child"); got != "[]" {
			t.Errorf("edges of a deleted type remain: %s", got)
		}
	})
}
