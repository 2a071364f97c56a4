package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// timelineKinds reads an item's timeline through the store, newest first, as
// "kind:taskId" ("created" entries of the item's own have no task).
func timelineKinds(t *testing.T, s *apitest.Server, etid, id int64) []string {
	t.Helper()
	entries, err := s.App.Store.TimelinePage(context.Background(), store.TimelineBinding{EntityTypeID: etid, EntityID: id}, 0, 50, false)
	if err != nil {
		t.Fatalf("timeline: %v", err)
	}
	var out []string
	for _, e := range entries {
		var data struct {
			TaskID int64 `json:"taskId"`
		}
		_ = json.Unmarshal([]byte(e.Data), &data)
		if data.TaskID == 0 {
			out = append(out, e.Kind)
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d", e.Kind, data.TaskID))
	}
	return out
}

// strID reads a task id, which the task methods answer as a string.
func strID(t *testing.T, v any, path string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscan(apitest.Str(v, path), &id); err != nil {
		t.Fatalf("%s is not a string id: %v", path, apitest.Path(v, path))
	}
	return id
}

func TestTasks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		ctx := context.Background()
		var manager int64
		if err := s.App.Store.InTx(ctx, func(tx *store.Tx) error {
			u := &store.UserRecord{Name: "Manager", Active: true}
			err := tx.InsertUser(ctx, u)
			manager = u.ID
			return err
		}); err != nil {
			t.Fatal(err)
		}
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Boiler replacement"}}), "")
		spa := newType(s, map[string]any{"title": "Installations"})
		visit := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": spa, "fields": map[string]any{"title": "Visit"}}), "item.id")
		visit2 := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": spa, "fields": map[string]any{"title": "Second visit"}}), "item.id")
		dealB := fmt.Sprintf("D_%d", deal)
		visitB := fmt.Sprintf("T%x_%d", spa, visit)
		visit2B := fmt.Sprintf("T%x_%d", spa, visit2)

		// Add: UPPER_CASE in, camelCase strings out, defaults filled.
		res := s.MustOK("tasks.task.add", map[string]any{"fields": map[string]any{
			"TITLE": "Call the customer", "DESCRIPTION": "About the boiler", "RESPONSIBLE_ID": manager,
			"DEADLINE": "2030-05-01T18:00:00+00:00", "UF_CRM_TASK": []any{dealB, visitB},
		}})
		task := apitest.Path(res, "task")
		id := strID(t, task, "id")
		want := map[string]string{"title": "Call the customer", "description": "About the boiler", "responsibleId": fmt.Sprint(manager),
			"createdBy": "1", "changedBy": "1", "status": "2", "priority": "1"}
		for k, v := range want {
			if apitest.Str(task, k) != v {
				t.Errorf("add: %s = %v, want %q", k, apitest.Path(task, k), v)
			}
		}
		if dl := apitest.Str(task, "deadline"); !strings.HasPrefix(dl, "20") || !strings.Contains(dl, "T") {
			t.Errorf("deadline: %q", dl)
		}
		if apitest.Path(task, "closedDate") != nil || apitest.Path(task, "closedBy") != nil || apitest.Str(task, "createdDate") == "" {
			t.Errorf("dates of a new task: %v", task)
		}
		// User fields come back only when selected, as Bitrix24 answers them.
		if _, present := task.(map[string]any)["ufCrmTask"]; present {
			t.Errorf("add answered ufCrmTask unasked: %v", task)
		}
		// The task shows on both items' timelines, newest first.
		if got := timelineKinds(t, s, 2, deal); fmt.Sprint(got) != fmt.Sprintf("[task:%d created]", id) {
			t.Errorf("deal timeline: %v", got)
		}
		if got := timelineKinds(t, s, spa, visit); fmt.Sprint(got) != fmt.Sprintf("[task:%d created]", id) {
			t.Errorf("visit timeline: %v", got)
		}
		if got := taskEvents(t, s, id); got != fmt.Sprintf(`OnTaskAdd {"FIELDS_AFTER":{"ID":%d}}`, id) {
			t.Errorf("outbox: %s", got)
		}

		// Get reads it back; select narrows, id always stays; user fields only when asked.
		got := apitest.Path(s.MustOK("tasks.task.get", map[string]any{"taskId": id}), "task")
		if _, present := got.(map[string]any)["ufCrmTask"]; apitest.Str(got, "title") != "Call the customer" || present {
			t.Errorf("get: %v", got)
		}
		got = apitest.Path(s.MustOK("tasks.task.get", map[string]any{"taskId": id, "select": []any{"*", "UF_*"}}), "task")
		if apitest.Str(got, "title") != "Call the customer" || fmt.Sprint(apitest.Path(got, "ufCrmTask")) != fmt.Sprint([]any{dealB, visitB}) {
			t.Errorf("get with UF_*: %v", got)
		}
		got = apitest.Path(s.MustOK("tasks.task.get", map[string]any{"taskId": fmt.Sprint(id), "select": []any{"TITLE", "UF_CRM_TASK"}}), "task")
		if m := got.(map[string]any); len(m) != 3 || m["id"] == nil || m["title"] == nil || m["ufCrmTask"] == nil {
			t.Errorf("get with select: %v", got)
		}

		// A second and third task for the list.
		other := strID(t, s.MustOK("tasks.task.add", map[string]any{"fields": map[string]any{
			"TITLE": "Order parts", "PRIORITY": 2, "DEADLINE": "2030-06-01", "UF_CRM_TASK": []any{visitB}}}), "task.id")
		loose := strID(t, s.MustOK("tasks.task.add", map[string]any{"fields": map[string]any{"TITLE": "Unbound", "STATUS": 3}}), "task.id")
		list := func(params map[string]any) string {
			t.Helper()
			res := s.Call("tasks.task.list", params)
			if res.Status != 200 {
				t.Fatalf("list %v: %s", params, res.Raw)
			}
			var ids []string
			for _, row := range apitest.Path(res.Result(), "tasks").([]any) {
				ids = append(ids, apitest.Str(row, "id"))
			}
			return strings.TrimSpace(strings.Join(ids, ",") + fmt.Sprintf(" total=%v", res.Body["total"]))
		}
		all := fmt.Sprintf("%d,%d,%d total=3", id, other, loose)
		for _, c := range []struct {
			params map[string]any
			want   string
		}{
			{map[string]any{}, all},
			{map[string]any{"filter": map[string]any{"UF_CRM_TASK": visitB}}, fmt.Sprintf("%d,%d total=2", id, other)},
			{map[string]any{"filter": map[string]any{"UF_CRM_TASK": dealB}}, fmt.Sprintf("%d total=1", id)},
			{map[string]any{"filter": map[string]any{"UF_CRM_TASK": []any{dealB, "L_99"}}}, fmt.Sprintf("%d total=1", id)},
			{map[string]any{"filter": map[string]any{"!UF_CRM_TASK": dealB}}, fmt.Sprintf("%d,%d total=2", other, loose)},
			{map[string]any{"filter": map[string]any{"UF_CRM_TASK": ""}}, fmt.Sprintf("%d total=1", loose)},
			{map[string]any{"filter": map[string]any{">=DEADLINE": "2030-05-15"}}, fmt.Sprintf("%d total=1", other)},
			{map[string]any{"filter": map[string]any{"RESPONSIBLE_ID": manager}}, fmt.Sprintf("%d total=1", id)},
			{map[string]any{"filter": map[string]any{"STATUS": 3}}, fmt.Sprintf("%d total=1", loose)},
			{map[string]any{"filter": map[string]any{"REAL_STATUS": []any{2, 3}, "!PRIORITY": 2}}, fmt.Sprintf("%d,%d total=2", id, loose)},
			{map[string]any{"filter": map[string]any{"%TITLE": "order"}}, fmt.Sprintf("%d total=1", other)},
			{map[string]any{"order": map[string]any{"PRIORITY": "DESC"}}, fmt.Sprintf("%d,%d,%d total=3", other, id, loose)},
			{map[string]any{"order": map[string]any{"ID": "DESC"}}, fmt.Sprintf("%d,%d,%d total=3", loose, other, id)},
			{map[string]any{"start": 50}, "total=3"},
		} {
			if got := list(c.params); got != c.want {
				t.Errorf("list %v: got %s, want %s", c.params, got, c.want)
			}
		}
		row := apitest.Path(s.MustOK("tasks.task.list", map[string]any{"filter": map[string]any{"ID": id}, "select": []any{"TITLE"}}), "tasks.0")
		if m := row.(map[string]any); len(m) != 2 || m["title"] != "Call the customer" {
			t.Errorf("list with select: %v", row)
		}
		s.MustFail("tasks.task.list", map[string]any{"filter": map[string]any{"NOPE": 1}}, 400, "ERROR_CORE")
		s.MustFail("tasks.task.list", map[string]any{"order": map[string]any{"TITLE": "sideways"}}, 400, "ERROR_CORE")

		// Update: a new binding gets a "task" entry; unchanged ones get nothing.
		res = s.MustOK("tasks.task.update", map[string]any{"taskId": id, "fields": map[string]any{
			"TITLE": "Call the customer again", "STATUS": 3, "UF_CRM_TASK": []any{dealB, visitB, visit2B}}})
		bound := apitest.Path(s.MustOK("tasks.task.get", map[string]any{"taskId": id, "select": []any{"UF_CRM_TASK"}}), "task.ufCrmTask")
		if apitest.Str(res, "task.title") != "Call the customer again" || apitest.Str(res, "task.status") != "3" || len(bound.([]any)) != 3 {
			t.Errorf("update: %v, bound to %v", res, bound)
		}
		if got := timelineKinds(t, s, spa, visit2); fmt.Sprint(got) != fmt.Sprintf("[task:%d created]", id) {
			t.Errorf("newly bound item's timeline: %v", got)
		}
		if got := timelineKinds(t, s, 2, deal); len(got) != 2 {
			t.Errorf("an item bound already gets no second entry: %v", got)
		}
		// An update that changes nothing writes nothing.
		s.MustOK("tasks.task.update", map[string]any{"taskId": id, "fields": map[string]any{"TITLE": "Call the customer again"}})
		// Dropping a binding takes the task off that item's lists; its history stays.
		s.MustOK("tasks.task.update", map[string]any{"taskId": id, "fields": map[string]any{"UF_CRM_TASK": []any{dealB, visitB}}})
		if got := list(map[string]any{"filter": map[string]any{"UF_CRM_TASK": visit2B}}); got != "total=0" {
			t.Errorf("unbound item still lists the task: %s", got)
		}

		// Complete: closed by the caller, a "task_completed" entry on each bound item.
		res = s.MustOK("tasks.task.complete", map[string]any{"taskId": id})
		if apitest.Str(res, "task.status") != "5" || apitest.Str(res, "task.closedBy") != "1" || apitest.Str(res, "task.closedDate") == "" {
			t.Errorf("complete: %v", res)
		}
		if got := timelineKinds(t, s, 2, deal); fmt.Sprint(got) != fmt.Sprintf("[task_completed:%d task:%d created]", id, id) {
			t.Errorf("deal timeline after completion: %v", got)
		}
		if got := timelineKinds(t, s, spa, visit); fmt.Sprint(got) != fmt.Sprintf("[task_completed:%d task:%d task:%d created]", id, other, id) {
			t.Errorf("visit timeline after completion: %v", got)
		}
		// Completing again changes nothing.
		s.MustOK("tasks.task.complete", map[string]any{"taskId": id})
		if got := timelineKinds(t, s, 2, deal); len(got) != 3 {
			t.Errorf("second completion wrote an entry: %v", got)
		}
		// Reopening through update clears the closing; STATUS 5 through update completes.
		res = s.MustOK("tasks.task.update", map[string]any{"taskId": other, "fields": map[string]any{"STATUS": 5}})
		if apitest.Str(res, "task.closedBy") != "1" {
			t.Errorf("completed through update: %v", res)
		}
		if got := timelineKinds(t, s, spa, visit); fmt.Sprint(got[0]) != fmt.Sprintf("task_completed:%d", other) {
			t.Errorf("completion through update: %v", got)
		}
		res = s.MustOK("tasks.task.update", map[string]any{"taskId": other, "fields": map[string]any{"STATUS": 2}})
		if apitest.Path(res, "task.closedBy") != nil || apitest.Path(res, "task.closedDate") != nil {
			t.Errorf("reopened: %v", res)
		}
		wantEvents := fmt.Sprintf(`OnTaskAdd {"FIELDS_AFTER":{"ID":%[1]d}}; OnTaskUpdate {"FIELDS_BEFORE":{"ID":%[1]d},"FIELDS_AFTER":{"ID":%[1]d}}; `+
			`OnTaskUpdate {"FIELDS_BEFORE":{"ID":%[1]d},"FIELDS_AFTER":{"ID":%[1]d}}; OnTaskUpdate {"FIELDS_BEFORE":{"ID":%[1]d},"FIELDS_AFTER":{"ID":%[1]d}}`, id)
		if got := taskEvents(t, s, id); got != wantEvents {
			t.Errorf("outbox: %s", got)
		}

		// Pages of 50 with total and next.
		for i := 0; i < 50; i++ {
			s.MustOK("tasks.task.add", map[string]any{"fields": map[string]any{"TITLE": fmt.Sprintf("Bulk %d", i)}})
		}
		page := s.Call("tasks.task.list", map[string]any{"select": []any{"ID"}})
		if n := len(apitest.Path(page.Result(), "tasks").([]any)); n != 50 || fmt.Sprintf("%v %v", page.Body["total"], page.Body["next"]) != "53 50" {
			t.Errorf("first page: %d rows, total %v, next %v", n, page.Body["total"], page.Body["next"])
		}
		page = s.Call("tasks.task.list", map[string]any{"start": 50})
		if n := len(apitest.Path(page.Result(), "tasks").([]any)); n != 3 || page.Body["next"] != nil {
			t.Errorf("last page: %d rows, next %v", n, page.Body["next"])
		}

		// Delete: gone, with its bindings; the timelines keep the history.
		if res := s.MustOK("tasks.task.delete", map[string]any{"taskId": id}); apitest.Path(res, "task") != true {
			t.Errorf("delete: %v", res)
		}
		s.MustFail("tasks.task.get", map[string]any{"taskId": id}, 400, "0")
		s.MustFail("tasks.task.delete", map[string]any{"taskId": id}, 400, "0")
		s.MustFail("tasks.task.update", map[string]any{"taskId": id, "fields": map[string]any{"TITLE": "x"}}, 400, "0")
		s.MustFail("tasks.task.complete", map[string]any{"taskId": id}, 400, "0")
		if got := list(map[string]any{"filter": map[string]any{"UF_CRM_TASK": dealB}}); got != "total=0" {
			t.Errorf("deleted task still bound: %s", got)
		}
		if got := timelineKinds(t, s, 2, deal); len(got) != 3 {
			t.Errorf("deal timeline after delete: %v", got)
		}
		if got := taskEvents(t, s, id); !strings.HasSuffix(got, fmt.Sprintf(`OnTaskDelete {"FIELDS_BEFORE":{"ID":%d}}`, id)) {
			t.Errorf("outbox: %s", got)
		}
	})
}

// Bad input is refused with a precise message and changes nothing: no task, no
// timeline entry, no event.
func TestTaskBadInput(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Boiler"}}), "")
		spa := newType(s, map[string]any{"title": "Installations"})
		dealB := fmt.Sprintf("D_%d", deal)
		id := strID(t, s.MustOK("tasks.task.add", map[string]any{"fields": map[string]any{"TITLE": "Visit", "UF_CRM_TASK": []any{dealB}}}), "task.id")
		before := fmt.Sprint(timelineKinds(t, s, 2, deal), taskEvents(t, s, id))
		snapshot := func() string {
			t.Helper()
			return fmt.Sprint(s.MustOK("tasks.task.list", map[string]any{}), timelineKinds(t, s, 2, deal), taskEvents(t, s, id))
		}
		start := snapshot()
		for _, c := range []struct {
			fields map[string]any
			text   string
		}{
			{map[string]any{"TITLE": "Visit", "DEADLINE": "tomorrow-ish"}, `DEADLINE: "tomorrow-ish" is not a date`},
			{map[string]any{"TITLE": "Visit", "UF_CRM_TASK": []any{dealB, "ZZ_1"}}, `UF_CRM_TASK: "ZZ_1" is not a binding`},
			{map[string]any{"TITLE": "Visit", "UF_CRM_TASK": []any{dealB, "T999_1"}}, `UF_CRM_TASK: "T999_1": there is no CRM type 2457`},
			{map[string]any{"TITLE": "Visit", "UF_CRM_TASK": []any{dealB, fmt.Sprintf("T%x_77", spa)}}, fmt.Sprintf("the dynamic_%d 77 does not exist", spa)},
			{map[string]any{"TITLE": "Visit", "UF_CRM_TASK": []any{dealB, "D_999"}}, "UF_CRM_TASK: D_999: the deal 999 does not exist"},
			{map[string]any{"TITLE": "  "}, "TITLE: the task title is not specified"},
			{map[string]any{"DESCRIPTION": "no title"}, "TITLE: the task title is not specified"},
			{map[string]any{"TITLE": strings.Repeat("x", 256)}, "longer than 255"},
			{map[string]any{"TITLE": "Visit", "RESPONSIBLE_ID": 42}, "RESPONSIBLE_ID: user 42 not found"},
			{map[string]any{"TITLE": "Visit", "STATUS": 9}, "STATUS: 9 is not allowed"},
			{map[string]any{"TITLE": "Visit", "PRIORITY": "high"}, "PRIORITY: high is not allowed"},
		} {
			r := s.MustFail("tasks.task.add", map[string]any{"fields": c.fields}, 400, "ERROR_CORE")
			if _, desc := r.Error(); !strings.Contains(desc, c.text) {
				t.Errorf("add %v: %q does not say %q", c.fields, desc, c.text)
			}
			if c.fields["TITLE"] == nil {
				continue // an update need not name the title
			}
			r = s.MustFail("tasks.task.update", map[string]any{"taskId": id, "fields": c.fields}, 400, "ERROR_CORE")
			if _, desc := r.Error(); !strings.Contains(desc, c.text) {
				t.Errorf("update %v: %q does not say %q", c.fields, desc, c.text)
			}
		}
		s.MustFail("tasks.task.add", map[string]any{}, 400, "100")
		s.MustFail("tasks.task.add", map[string]any{"fields": map[string]any{}}, 400, "100")
		s.MustFail("tasks.task.update", map[string]any{"taskId": id, "fields": map[string]any{}}, 400, "100")
		s.MustFail("tasks.task.get", map[string]any{}, 400, "100")
		s.MustFail("tasks.task.get", map[string]any{"taskId": "abc"}, 400, "0")
		if got := snapshot(); got != start {
			t.Errorf("a refused call changed something:\n%s\n%s", start, got)
		}
		if got := fmt.Sprint(timelineKinds(t, s, 2, deal), taskEvents(t, s, id)); got != before {
			t.Errorf("timeline or outbox changed: %s", got)
		}
		if got := apitest.Str(s.MustOK("tasks.task.get", map[string]any{"taskId": id}), "task.title"); got != "Visit" {
			t.Errorf("task changed: %q", got)
		}
	})
}
