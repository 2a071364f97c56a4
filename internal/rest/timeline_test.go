package rest_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// timeline reads a page of an item's timeline: entries as (kind, entityTypeId) pairs.
func timeline(s *apitest.Server, etid, id int64, cursor any) (entries []any, pinned []any, next any) {
	res := s.MustOK("smartcrm.timeline.list", map[string]any{"entityTypeId": etid, "id": id, "cursor": cursor})
	entries, _ = apitest.Path(res, "entries").([]any)
	pinned, _ = apitest.Path(res, "pinned").([]any)
	return entries, pinned, apitest.Path(res, "next")
}

func kinds(entries []any) string {
	var out []string
	for _, e := range entries {
		out = append(out, fmt.Sprintf("%s/%d", apitest.Str(e, "kind"), apitest.Int(e, "entityTypeId")))
	}
	return strings.Join(out, " ")
}

// A deal's timeline shows its own changes and its child visit's creation and moves,
// newest first; the visit's deletion stays on the deal.
func TestParentTimelineShowsChildEvents(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		visits := newType(s, map[string]any{"title": "Visits", "isStagesEnabled": "Y",
			"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 2}}}})
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Boiler"}}), "")
		visit := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": visits, "fields": map[string]any{"title": "Survey", "parentId2": deal}}), "item.id")
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": visits, "id": visit, "fields": map[string]any{"stageId": fmt.Sprintf("DT%d_1:PREPARATION", visits)}})
		s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"TITLE": "Boiler and pipes", "STAGE_ID": "EXECUTING"}})

		entries, _, next := timeline(s, 2, deal, nil)
		want := fmt.Sprintf("moved/2 changed/2 moved/%d created/%d created/2", visits, visits)
		if kinds(entries) != want || next != nil {
			t.Fatalf("deal timeline: %s, want %s", kinds(entries), want)
		}
		changed := entries[1]
		if apitest.Str(changed, "data.field") != "title" || apitest.Str(changed, "data.old") != "Boiler" || apitest.Str(changed, "data.new") != "Boiler and pipes" {
			t.Errorf("title change entry: %v", changed)
		}
		moved := entries[2]
		if apitest.Int(moved, "entityId") != visit || apitest.Str(moved, "data.toName") != "Preparation" || apitest.Str(moved, "data.semantics") != "P" ||
			apitest.Str(moved, "data.from") != fmt.Sprintf("DT%d_1:NEW", visits) {
			t.Errorf("child move entry: %v", moved)
		}
		// The visit's own timeline has its creation and move only.
		own, _, _ := timeline(s, visits, visit, nil)
		if kinds(own) != fmt.Sprintf("moved/%d created/%d", visits, visits) {
			t.Errorf("visit timeline: %s", kinds(own))
		}
		// Unlinking shows on both; deleting the visit stays on the deal.
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": visits, "id": visit, "fields": map[string]any{"parentId2": nil}})
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": visits, "id": visit, "fields": map[string]any{"parentId2": deal}})
		s.MustOK("crm.item.delete", map[string]any{"entityTypeId": visits, "id": visit})
		entries, _, _ = timeline(s, 2, deal, nil)
		if k := kinds(entries[:3]); k != fmt.Sprintf("deleted/%d linked/%d unlinked/%d", visits, visits, visits) {
			t.Errorf("deal timeline after unlink, link, delete: %s", k)
		}
		s.MustFail("smartcrm.timeline.list", map[string]any{"entityTypeId": visits, "id": visit}, 400, "NOT_FOUND")
	})
}

// Comments with attachments, their bindings, pins and notes, and the bad input each
// refuses without writing anything.
func TestTimelineComments(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		spa := newType(s, map[string]any{"title": "Requests"})
		item := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": spa, "fields": map[string]any{"title": "Leak"}}), "item.id")
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "D"}}), "")
		entityType := fmt.Sprintf("DYNAMIC_%d", spa)
		photo := base64.StdEncoding.EncodeToString([]byte("not really a jpeg"))
		id := apitest.Int(s.MustOK("crm.timeline.comment.add", map[string]any{"fields": map[string]any{
			"ENTITY_ID": item, "ENTITY_TYPE": entityType, "COMMENT": "Customer called back", "FILES": []any{[]any{"photo.jpg", photo}}}}), "")
		c := s.MustOK("crm.timeline.comment.get", map[string]any{"id": id})
		files, _ := apitest.Path(c, "FILES").(map[string]any)
		if apitest.Str(c, "ENTITY_TYPE") != strings.ToLower(entityType) || apitest.Str(c, "COMMENT") != "Customer called back" ||
			apitest.Str(c, "ENTITY_ID") != fmt.Sprint(item) || len(files) != 1 {
			t.Fatalf("comment: %v", c)
		}
		for fid, f := range files {
			if apitest.Str(f, "name") != "photo.jpg" || fmt.Sprint(apitest.Int(f, "id")) != fid || apitest.Str(f, "urlDownload") == "" {
				t.Errorf("attachment: %v", f)
			}
		}
		s.MustOK("crm.timeline.comment.update", map[string]any{"id": id, "fields": map[string]any{"COMMENT": "Customer called back twice"}})
		list := s.Call("crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_ID": item, "ENTITY_TYPE": entityType}, "select": []any{"ID", "COMMENT"}})
		rows := list.Result().([]any)
		if len(rows) != 1 || apitest.Str(rows[0], "COMMENT") != "Customer called back twice" || apitest.Path(rows[0], "FILES") != nil || apitest.Int(list.Body, "total") != 1 {
			t.Fatalf("comment list: %v", list.Body)
		}

		// Bad input writes nothing.
		count := func() int64 {
			return apitest.Int(s.Call("crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_ID": item, "ENTITY_TYPE": entityType}}).Body, "total")
		}
		for name, c := range map[string]struct {
			fields map[string]any
			code   string
		}{
			"empty comment":       {map[string]any{"ENTITY_ID": item, "ENTITY_TYPE": entityType, "COMMENT": "  "}, "INVALID_ARG_VALUE"},
			"10 MB comment":       {map[string]any{"ENTITY_ID": item, "ENTITY_TYPE": entityType, "COMMENT": strings.Repeat("x", 10<<20)}, "INVALID_ARG_VALUE"},
			"attachment not b64":  {map[string]any{"ENTITY_ID": item, "ENTITY_TYPE": entityType, "COMMENT": "x", "FILES": []any{[]any{"a.txt", "%%%"}}}, "INVALID_ARG_VALUE"},
			"unknown entity type": {map[string]any{"ENTITY_ID": item, "ENTITY_TYPE": "spaceship", "COMMENT": "x"}, "OWNER_NOT_FOUND"},
			"missing item":        {map[string]any{"ENTITY_ID": 999, "ENTITY_TYPE": entityType, "COMMENT": "x"}, "OWNER_NOT_FOUND"},
		} {
			before := count()
			if r := s.Call("crm.timeline.comment.add", map[string]any{"fields": c.fields}); r.Status != 400 || fmt.Sprint(r.Body["error"]) != c.code {
				t.Errorf("%s: %d %v", name, r.Status, r.Body["error"])
			}
			if count() != before {
				t.Errorf("%s: a comment was written", name)
			}
		}

		// The comment also on the deal's timeline: deleting it now needs an owner.
		bind := map[string]any{"fields": map[string]any{"OWNER_ID": id, "ENTITY_ID": deal, "ENTITY_TYPE": "deal"}}
		if s.MustOK("crm.timeline.bindings.bind", bind) != true || s.MustOK("crm.timeline.bindings.bind", bind) != false {
			t.Errorf("bind twice: true then false")
		}
		if b := s.MustOK("crm.timeline.bindings.list", map[string]any{"filter": map[string]any{"OWNER_ID": id}}).([]any); len(b) != 2 {
			t.Errorf("bindings: %v", b)
		}
		s.MustFail("crm.timeline.bindings.bind", map[string]any{"fields": map[string]any{"OWNER_ID": id, "ENTITY_ID": 1, "ENTITY_TYPE": "invoice_x"}}, 400, "")
		dealTimeline, _, _ := timeline(s, 2, deal, nil)
		if kinds(dealTimeline) != fmt.Sprintf("comment/%d created/2", spa) {
			t.Errorf("deal timeline with the bound comment: %s", kinds(dealTimeline))
		}
		// …and in the deal's list of comments, as it was written.
		dealComments := s.Call("crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_ID": deal, "ENTITY_TYPE": "deal"}})
		if rows := dealComments.Result().([]any); apitest.Int(dealComments.Body, "total") != 1 || len(rows) != 1 ||
			apitest.Str(rows[0], "ID") != fmt.Sprint(id) || apitest.Str(rows[0], "ENTITY_ID") != fmt.Sprint(item) {
			t.Errorf("the deal's comments: %s", dealComments.Raw)
		}
		s.MustFail("crm.timeline.comment.delete", map[string]any{"id": id}, 400, "MULTIPLE_BINDINGS")
		s.MustOK("crm.timeline.comment.delete", map[string]any{"id": id, "ownerTypeId": 2, "ownerId": deal})
		if b := s.MustOK("crm.timeline.bindings.list", map[string]any{"filter": map[string]any{"OWNER_ID": id}}).([]any); len(b) != 1 {
			t.Errorf("bindings after detaching: %v", b)
		}

		// Notes and pins on the item's entries: three pins at most.
		entries, _, _ := timeline(s, spa, item, nil)
		created := apitest.Int(entries[len(entries)-1], "id")
		note := map[string]any{"ownerTypeId": spa, "ownerId": item, "itemType": 1, "itemId": created}
		s.MustOK("crm.timeline.note.save", mergeMaps(note, map[string]any{"text": "check the valve"}))
		if got := apitest.Str(s.MustOK("crm.timeline.note.get", note), "text"); got != "check the valve" {
			t.Errorf("note: %q", got)
		}
		s.MustOK("crm.timeline.note.delete", note)
		s.MustFail("crm.timeline.note.get", note, 400, "NOT_FOUND")
		var ids []int64
		for i := 0; i < 4; i++ {
			ids = append(ids, apitest.Int(s.MustOK("crm.timeline.comment.add", map[string]any{"fields": map[string]any{
				"ENTITY_ID": item, "ENTITY_TYPE": entityType, "COMMENT": fmt.Sprintf("c%d", i)}}), ""))
		}
		for _, cid := range ids[:3] {
			s.MustOK("crm.timeline.item.pin", map[string]any{"id": cid, "ownerTypeId": spa, "ownerId": item})
		}
		s.MustFail("crm.timeline.item.pin", map[string]any{"id": ids[3], "ownerTypeId": spa, "ownerId": item}, 400, "0")
		_, pinned, _ := timeline(s, spa, item, nil)
		if len(pinned) != 3 || apitest.Path(pinned[0], "pinned") != true {
			t.Errorf("pinned: %v", pinned)
		}
		s.MustOK("crm.timeline.item.unpin", map[string]any{"id": ids[0], "ownerTypeId": spa, "ownerId": item})
		s.MustOK("crm.timeline.item.pin", map[string]any{"id": ids[3], "ownerTypeId": spa, "ownerId": item})

		// Events for the outbound-events issue to deliver.
		topics := outboxEvents(t, s, spa, item)
		joined := strings.Join(topics, " ")
		for _, want := range []string{"onCrmTimelineCommentAdd", "onCrmTimelineCommentUpdate"} {
			if !strings.Contains(joined, want) {
				t.Errorf("outbox of the item lacks %s: %v", want, topics)
			}
		}
		deleted := outboxEvents(t, s, 2, deal)
		if !strings.Contains(strings.Join(deleted, " "), "onCrmTimelineCommentDelete") {
			t.Errorf("outbox of the deal lacks the detach: %v", deleted)
		}
	})
}

func mergeMaps(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Log messages page by 10; the whole timeline pages by keyset without overlap.
func TestLogMessagesAndTimelinePaging(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "D"}}), "")
		var first int64
		for i := 0; i < 12; i++ {
			id := apitest.Int(s.MustOK("crm.timeline.logmessage.add", map[string]any{"fields": map[string]any{
				"entityTypeId": 2, "entityId": deal, "title": fmt.Sprintf("Sync %d", i), "text": "ok", "iconCode": "info"}}), "logMessage.id")
			if i == 0 {
				first = id
			}
		}
		s.MustFail("crm.timeline.logmessage.add", map[string]any{"fields": map[string]any{"entityTypeId": 2, "entityId": deal, "title": "x", "text": "y"}}, 400, "100")
		s.MustFail("crm.timeline.logmessage.add", map[string]any{"fields": map[string]any{"entityTypeId": 2, "entityId": 999, "title": "x", "text": "y", "iconCode": "info"}}, 400, "OWNER_NOT_FOUND")
		page := s.Call("crm.timeline.logmessage.list", map[string]any{"entityTypeId": 2, "entityId": deal})
		msgs, _ := page.Result().([]any) // a bare list, as the docs show
		if len(msgs) != 10 || apitest.Int(page.Body, "total") != 12 || apitest.Int(page.Body, "next") != 10 || apitest.Str(msgs[0], "title") != "Sync 11" {
			t.Fatalf("log message page: %v", page.Body)
		}
		if got := apitest.Str(s.MustOK("crm.timeline.logmessage.get", map[string]any{"id": first}), "logMessage.title"); got != "Sync 0" {
			t.Errorf("get: %q", got)
		}
		s.MustOK("crm.timeline.logmessage.delete", map[string]any{"id": first})
		s.MustFail("crm.timeline.logmessage.get", map[string]any{"id": first}, 400, "NOT_FOUND")

		for i := 0; i < 100; i++ {
			s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"OPPORTUNITY": i + 1}})
		}
		seen := map[int64]bool{}
		var cursor any
		pages := 0
		for {
			entries, _, next := timeline(s, 2, deal, cursor)
			pages++
			for _, e := range entries {
				id := apitest.Int(e, "id")
				if seen[id] {
					t.Fatalf("entry %d on two pages", id)
				}
				seen[id] = true
			}
			if next == nil {
				break
			}
			cursor = next
		}
		// created + 11 log messages + 100 amount changes.
		if len(seen) != 112 || pages != 3 {
			t.Errorf("timeline: %d entries in %d pages", len(seen), pages)
		}
	})
}
