package rest_test

import (
	"fmt"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// A two-level hierarchy of smart processes: Project → Task → Subtask.
func TestParentLinks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		projects := newType(s, map[string]any{"title": "Projects"})
		tasks := newType(s, map[string]any{"title": "Tasks", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": projects}}}})
		// The second level is set from the parent's side.
		subtasks := newType(s, map[string]any{"title": "Subtasks"})
		s.MustOK("crm.type.update", map[string]any{"id": 2, "fields": map[string]any{"relations": map[string]any{
			"parent": []any{map[string]any{"entityTypeId": projects}}, "child": []any{map[string]any{"entityTypeId": subtasks}},
		}}})
		other := newType(s, map[string]any{"title": "Unrelated"})
		pKey, tKey := fmt.Sprintf("parentId%d", projects), fmt.Sprintf("parentId%d", tasks)

		f := apitest.Path(s.MustOK("crm.item.fields", map[string]any{"entityTypeId": tasks}), "fields."+pKey)
		if apitest.Str(f, "type") != "crm_entity" || apitest.Str(f, "title") != "Projects" ||
			apitest.Str(f, "upperName") != fmt.Sprintf("PARENT_ID_%d", projects) || apitest.Int(f, "settings.parentEntityTypeId") != projects {
			t.Fatalf("parent field: %v", f)
		}
		add := func(etid int64, fields map[string]any) int64 {
			return apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": fields}), "item.id")
		}
		p1, p2 := add(projects, map[string]any{"title": "Tower"}), add(projects, map[string]any{"title": "Bridge"})
		t1 := add(tasks, map[string]any{"title": "Foundation", pKey: p1})
		t2 := add(tasks, map[string]any{"title": "Walls", fmt.Sprintf("PARENT_ID_%d", projects): p1})
		t3 := add(tasks, map[string]any{"title": "Pillars", pKey: p2})
		st := add(subtasks, map[string]any{"title": "Pour concrete", tKey: t1})

		got := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": tasks, "id": t2}), "item")
		if apitest.Int(got, pKey) != p1 {
			t.Errorf("get: %v", got)
		}
		ids := listIDs(t, s, map[string]any{"entityTypeId": tasks, "filter": map[string]any{pKey: p1}, "order": map[string]any{pKey: "DESC", "id": "ASC"}})
		if fmt.Sprint(ids) != fmt.Sprint([]int64{t1, t2}) {
			t.Errorf("children of p1: %v", ids)
		}
		// Bad parents are refused and write nothing.
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": tasks, "fields": map[string]any{pKey: 999}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": tasks, "fields": map[string]any{fmt.Sprintf("parentId%d", other): 1}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": tasks, "id": t3, "fields": map[string]any{pKey: 999}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		// Change and clear a link.
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": tasks, "id": t3, "fields": map[string]any{pKey: p1}})
		res := s.MustOK("crm.item.update", map[string]any{"entityTypeId": tasks, "id": t3, "fields": map[string]any{pKey: nil}})
		if apitest.Path(res, "item."+pKey) != nil {
			t.Errorf("cleared link: %v", apitest.Path(res, "item."+pKey))
		}

		// Deleting a parent clears its children's links; the children stay.
		s.MustOK("crm.item.delete", map[string]any{"entityTypeId": projects, "id": p1})
		for _, id := range []int64{t1, t2} {
			it := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": tasks, "id": id}), "item")
			if apitest.Path(it, pKey) != nil {
				t.Errorf("task %d still links to a deleted project", id)
			}
		}
		if apitest.Int(s.MustOK("crm.item.get", map[string]any{"entityTypeId": subtasks, "id": st}), "item."+tKey) != t1 {
			t.Errorf("the second level is untouched")
		}

		// Removing the relation removes the field and its links; adding it back starts empty.
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": tasks, "id": t3, "fields": map[string]any{pKey: p2}})
		s.MustOK("crm.type.update", map[string]any{"id": 2, "fields": map[string]any{"relations": map[string]any{
			"parent": []any{}, "child": []any{map[string]any{"entityTypeId": subtasks}},
		}}})
		it := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": tasks, "id": t3}), "item").(map[string]any)
		if _, still := it[pKey]; still {
			t.Errorf("the field of a removed relation remains: %v", it)
		}
		s.MustFail("crm.item.list", map[string]any{"entityTypeId": tasks, "filter": map[string]any{pKey: p2}}, 400, "INVALID_ARG_VALUE")
		s.MustOK("crm.type.update", map[string]any{"id": 2, "fields": map[string]any{"relations": map[string]any{
			"parent": []any{map[string]any{"entityTypeId": projects}}, "child": []any{map[string]any{"entityTypeId": subtasks}},
		}}})
		if v := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": tasks, "id": t3}), "item."+pKey); v != nil {
			t.Errorf("a re-added relation starts without links: %v", v)
		}
		// Deleting a child type removes the edge and the parent type keeps working.
		s.MustOK("crm.item.delete", map[string]any{"entityTypeId": subtasks, "id": st})
		s.MustOK("crm.type.delete", map[string]any{"entityTypeId": subtasks})
		s.MustOK("crm.item.delete", map[string]any{"entityTypeId": tasks, "id": t1})
	})
}

// The children of an item across child types, newest first, in one list.
func TestChildrenList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		deals := newType(s, map[string]any{"title": "Orders"})
		visits := newType(s, map[string]any{"title": "Visits", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": deals}}}})
		claims := newType(s, map[string]any{"title": "Claims", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": deals}}}})
		order := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": deals, "fields": map[string]any{}}), "item.id")
		other := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": deals, "fields": map[string]any{}}), "item.id")
		for i := 0; i < 30; i++ {
			s.MustOK("crm.item.add", map[string]any{"entityTypeId": visits, "fields": map[string]any{"title": fmt.Sprintf("visit %d", i), fmt.Sprintf("parentId%d", deals): order}})
			s.MustOK("crm.item.add", map[string]any{"entityTypeId": claims, "fields": map[string]any{"title": fmt.Sprintf("claim %d", i), fmt.Sprintf("parentId%d", deals): order}})
		}
		s.MustOK("crm.item.add", map[string]any{"entityTypeId": visits, "fields": map[string]any{"title": "elsewhere", fmt.Sprintf("parentId%d", deals): other}})
		kids := apitest.Path(s.MustOK("smartcrm.item.children", map[string]any{"entityTypeId": deals, "id": order}), "children").([]any)
		if len(kids) != 50 {
			t.Fatalf("%d children, want a page of 50", len(kids))
		}
		types := map[int64]int{}
		for _, k := range kids {
			types[apitest.Int(k, "entityTypeId")]++
			if apitest.Str(k, "title") == "elsewhere" {
				t.Errorf("another order's child is listed")
			}
		}
		if types[visits] == 0 || types[claims] == 0 {
			t.Errorf("children of both types expected: %v", types)
		}
		if n := len(apitest.Path(s.MustOK("smartcrm.item.children", map[string]any{"entityTypeId": deals, "id": other}), "children").([]any)); n != 1 {
			t.Errorf("children of the other order: %d", n)
		}
		s.MustFail("smartcrm.item.children", map[string]any{"entityTypeId": deals, "id": 999}, 400, "NOT_FOUND")
	})
}
