package rest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/activity"
	"smartcrm/internal/apitest"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
	tl "smartcrm/internal/timeline"
)

// timelineOf reads an item's timeline (newest first) straight from the store: the REST
// method that reads it is not on this branch.
func timelineOf(t *testing.T, s *apitest.Server, etid, id int64) []*store.TimelineEntry {
	t.Helper()
	entries, err := s.App.Store.TimelinePage(context.Background(), store.TimelineBinding{EntityTypeID: etid, EntityID: id}, 0, 100, false)
	if err != nil {
		t.Fatalf("timeline of %d/%d: %v", etid, id, err)
	}
	return entries
}

// entriesOfKind returns the data of an item's timeline entries of one kind, newest first.
func entriesOfKind(t *testing.T, s *apitest.Server, etid, id int64, kind string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, e := range timelineOf(t, s, etid, id) {
		if e.Kind != kind {
			continue
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(e.Data), &data); err != nil {
			t.Fatalf("entry %d data: %v", e.ID, err)
		}
		out = append(out, data)
	}
	return out
}

func addDeal(s *apitest.Server, title string) int64 {
	s.T.Helper()
	return apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": title}}), "")
}

func addToDo(s *apitest.Server, etid, id int64, title, deadline string) int64 {
	s.T.Helper()
	return apitest.Int(s.MustOK("crm.activity.todo.add", map[string]any{
		"ownerTypeId": etid, "ownerId": id, "title": title, "deadline": deadline}), "id")
}

// activityIDs lists the ids crm.activity.list answers for a filter, in order.
func activityIDs(t *testing.T, s *apitest.Server, filter any) []int64 {
	t.Helper()
	res := s.MustOK("crm.activity.list", map[string]any{"filter": filter, "select": []string{"ID"}})
	var ids []int64
	for i := range res.([]any) {
		ids = append(ids, strInt(res, fmt.Sprintf("%d.ID", i)))
	}
	return ids
}

// strInt reads an integer the base activity methods answer as a string.
func strInt(v any, path string) int64 {
	i, _ := strconv.ParseInt(apitest.Str(v, path), 10, 64)
	return i
}

// sameMoment reports whether a wire time is the moment want (any offset).
func sameMoment(t *testing.T, got, want string) bool {
	t.Helper()
	g, err1 := time.Parse(time.RFC3339, got)
	w, err2 := time.Parse(time.RFC3339, want)
	return err1 == nil && err2 == nil && g.Equal(w)
}

func TestToDoLifecycle(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		deal := addDeal(s, "Boiler replacement")
		installs := newType(s, map[string]any{"title": "Installations"})
		visit := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": installs, "fields": map[string]any{"title": "Visit"}}), "item.id")

		call := apitest.Int(s.MustOK("crm.activity.todo.add", map[string]any{
			"ownerTypeId": 2, "ownerId": deal, "title": "Call the client", "description": "About the boiler",
			"deadline": "2030-01-15T10:00:00+03:00", "pingOffsets": []int{15, 0}, "colorId": "3",
		}), "id")
		// The smart-process to-do is due earlier, so it lists first by default.
		measure := addToDo(s, installs, visit, "Measure the room", "2030-01-10T09:00:00+00:00")

		got := s.MustOK("crm.activity.get", map[string]any{"id": call})
		for k, want := range map[string]string{
			"ID": fmt.Sprint(call), "OWNER_TYPE_ID": "2", "OWNER_ID": fmt.Sprint(deal), "TYPE_ID": "6",
			"PROVIDER_ID": "CRM_TODO", "SUBJECT": "Call the client", "DESCRIPTION": "About the boiler",
			"COMPLETED": "N", "STATUS": "1", "RESPONSIBLE_ID": "1", "AUTHOR_ID": "1", "EDITOR_ID": "1",
			"PRIORITY": "2", "COLOR_ID": "3", "BINDINGS.0.OWNER_TYPE_ID": "2", "BINDINGS.0.OWNER_ID": fmt.Sprint(deal),
			"PING_OFFSETS.0": "0", "PING_OFFSETS.1": "15",
		} {
			if g := apitest.Str(got, k); g != want {
				t.Errorf("get %s = %q, want %q", k, g, want)
			}
		}
		for _, k := range []string{"DEADLINE", "START_TIME", "END_TIME"} {
			if !sameMoment(t, apitest.Str(got, k), "2030-01-15T10:00:00+03:00") {
				t.Errorf("get %s = %q", k, apitest.Str(got, k))
			}
		}

		// The to-do is on the deal's timeline, with what it is about.
		todos := entriesOfKind(t, s, 2, deal, activity.KindToDo)
		if len(todos) != 1 || todos[0]["activityId"] != float64(call) || todos[0]["title"] != "Call the client" || todos[0]["responsibleId"] != float64(1) {
			t.Fatalf("to-do entry on the deal: %v", todos)
		}

		// Lists: by binding, by provider, in deadline order.
		if ids := activityIDs(t, s, map[string]any{"PROVIDER_ID": "CRM_TODO"}); fmt.Sprint(ids) != fmt.Sprint([]int64{measure, call}) {
			t.Errorf("by provider, deadline order: %v", ids)
		}
		if ids := activityIDs(t, s, map[string]any{"BINDINGS": []any{map[string]any{"OWNER_TYPE_ID": 2}}}); fmt.Sprint(ids) != fmt.Sprint([]int64{call}) {
			t.Errorf("bound to any deal: %v", ids)
		}
		if ids := activityIDs(t, s, map[string]any{"BINDINGS": []any{map[string]any{"OWNER_TYPE_ID": installs, "OWNER_ID": visit}}}); fmt.Sprint(ids) != fmt.Sprint([]int64{measure}) {
			t.Errorf("bound to the visit: %v", ids)
		}
		if ids := activityIDs(t, s, map[string]any{"BINDINGS": []any{map[string]any{"OWNER_TYPE_ID": installs, "OWNER_ID": visit + 1}}}); len(ids) != 0 {
			t.Errorf("bound to another visit: %v", ids)
		}
		ids := activityIDs(t, s, map[string]any{"BINDINGS": []any{map[string]any{"OWNER_TYPE_ID": 2, "OWNER_ID": deal},
			map[string]any{"OWNER_TYPE_ID": installs}}, "!ID": 0})
		if fmt.Sprint(ids) != fmt.Sprint([]int64{measure, call}) {
			t.Errorf("bound to either: %v", ids)
		}
		r := s.Call("crm.activity.list", map[string]any{"order": map[string]any{"DEADLINE": "DESC"}, "select": []string{"ID", "SUBJECT"}})
		if strInt(r.Result(), "0.ID") != call || apitest.Int(r.Body, "total") != 2 || apitest.Path(r.Result(), "0.DEADLINE") != nil ||
			apitest.Str(r.Result(), "1.SUBJECT") != "Measure the room" {
			t.Errorf("ordered, selected list: %s", r.Raw)
		}

		// Edits, each seen by get and by the timeline entry.
		s.MustOK("crm.activity.todo.update", map[string]any{"id": call, "ownerTypeId": 2, "ownerId": deal,
			"title": "Call the client back", "deadline": "2030-01-16T11:00:00+03:00"})
		s.MustOK("crm.activity.todo.updateDescription", map[string]any{"id": call, "ownerTypeId": 2, "ownerId": deal, "value": "Bring the quote"})
		s.MustOK("crm.activity.todo.updateColor", map[string]any{"id": call, "ownerTypeId": 2, "ownerId": deal, "colorId": "5"})
		s.MustOK("crm.activity.todo.updateResponsibleUser", map[string]any{"id": call, "ownerTypeId": 2, "ownerId": deal, "responsibleId": 1})
		res := s.MustOK("crm.activity.todo.updateDeadline", map[string]any{"id": call, "ownerTypeId": 2, "ownerId": deal, "value": "2030-01-17T12:00:00+03:00"})
		if apitest.Int(res, "id") != call {
			t.Errorf("updateDeadline answers {id}: %v", res)
		}
		got = s.MustOK("crm.activity.get", map[string]any{"id": call})
		if apitest.Str(got, "SUBJECT") != "Call the client back" || apitest.Str(got, "DESCRIPTION") != "Bring the quote" ||
			apitest.Str(got, "COLOR_ID") != "5" || !sameMoment(t, apitest.Str(got, "DEADLINE"), "2030-01-17T12:00:00+03:00") {
			t.Errorf("after edits: %v", got)
		}
		todos = entriesOfKind(t, s, 2, deal, activity.KindToDo)
		if len(todos) != 1 || todos[0]["title"] != "Call the client back" || !sameMoment(t, fmt.Sprint(todos[0]["deadline"]), "2030-01-17T12:00:00+03:00") {
			t.Errorf("the to-do entry follows the edits: %v", todos)
		}

		// Completing shows on the timeline; a completed to-do is not edited, but reopens.
		if s.MustOK("crm.activity.update", map[string]any{"id": call, "fields": map[string]any{"COMPLETED": "Y"}}) != true {
			t.Errorf("crm.activity.update answers true")
		}
		got = s.MustOK("crm.activity.get", map[string]any{"id": call})
		if apitest.Str(got, "COMPLETED") != "Y" || apitest.Str(got, "STATUS") != "2" {
			t.Errorf("completed: %v", got)
		}
		done := entriesOfKind(t, s, 2, deal, activity.KindToDoCompleted)
		if len(done) != 1 || done[0]["activityId"] != float64(call) || done[0]["title"] != "Call the client back" {
			t.Errorf("completion on the deal's timeline: %v", done)
		}
		if ids := activityIDs(t, s, map[string]any{"COMPLETED": "N"}); fmt.Sprint(ids) != fmt.Sprint([]int64{measure}) {
			t.Errorf("open to-dos: %v", ids)
		}
		s.MustFail("crm.activity.todo.update", map[string]any{"id": call, "ownerTypeId": 2, "ownerId": deal, "title": "x", "deadline": "2030-01-20T10:00:00"}, 400, "CAN_NOT_UPDATE_COMPLETED_TODO")
		s.MustFail("crm.activity.todo.updateDeadline", map[string]any{"id": call, "ownerTypeId": 2, "ownerId": deal, "value": "2030-01-20T10:00:00"}, 400, "CAN_NOT_UPDATE_COMPLETED_TODO")
		// Completing again records nothing new.
		s.MustOK("crm.activity.update", map[string]any{"id": call, "fields": map[string]any{"COMPLETED": "Y"}})
		if n := len(entriesOfKind(t, s, 2, deal, activity.KindToDoCompleted)); n != 1 {
			t.Errorf("completing a completed to-do: %d completion entries", n)
		}
		s.MustOK("crm.activity.update", map[string]any{"id": call, "fields": map[string]any{"COMPLETED": "N", "SUBJECT": "Call once more"}})
		got = s.MustOK("crm.activity.get", map[string]any{"id": call})
		if apitest.Str(got, "COMPLETED") != "N" || apitest.Str(got, "STATUS") != "1" || apitest.Str(got, "SUBJECT") != "Call once more" {
			t.Errorf("reopened: %v", got)
		}

		// Delete: gone from get, list and the timeline; the completion stays as history.
		if s.MustOK("crm.activity.delete", map[string]any{"id": call}) != true {
			t.Errorf("crm.activity.delete answers true")
		}
		s.MustFail("crm.activity.get", map[string]any{"id": call}, 400, "NOT_FOUND")
		s.MustFail("crm.activity.delete", map[string]any{"id": call}, 400, "NOT_FOUND")
		if ids := activityIDs(t, s, nil); fmt.Sprint(ids) != fmt.Sprint([]int64{measure}) {
			t.Errorf("after delete: %v", ids)
		}
		if n := len(entriesOfKind(t, s, 2, deal, activity.KindToDo)); n != 0 {
			t.Errorf("the deleted to-do stays on the timeline")
		}
		if n := len(entriesOfKind(t, s, 2, deal, activity.KindToDoCompleted)); n != 1 {
			t.Errorf("the completion is history and stays")
		}

		// Each change announced its event, for the outbound-events issue to deliver.
		topics := outboxEvents(t, s, 2, deal)
		joined := strings.Join(topics, " ")
		for _, want := range []string{"onCrmActivityAdd", "onCrmActivityUpdate", "onCrmActivityDelete"} {
			if !strings.Contains(joined, want) {
				t.Errorf("outbox of the deal lacks %s: %v", want, topics)
			}
		}

		// Field descriptors.
		f := s.MustOK("crm.activity.fields", nil)
		if apitest.Str(f, "DEADLINE.type") != "datetime" || apitest.Path(f, "ID.isReadOnly") != true {
			t.Errorf("fields: %v", f)
		}
	})
}

func TestToDoBindings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		d1, d2, d3 := addDeal(s, "One"), addDeal(s, "Two"), addDeal(s, "Three")
		contact := apitest.Int(s.MustOK("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Ann"}}), "")
		id := addToDo(s, 2, d1, "Send the contract", "2030-02-01T10:00:00+00:00")
		bind := func(p map[string]any) map[string]any {
			p["activityId"] = id
			return p
		}

		if s.MustOK("crm.activity.binding.add", bind(map[string]any{"entityTypeId": 2, "entityId": d2})) != true {
			t.Fatalf("binding.add answers true")
		}
		s.MustFail("crm.activity.binding.add", bind(map[string]any{"entityTypeId": 2, "entityId": d2}), 400, "ACTIVITY_IS_ALREADY_BOUND")
		s.MustFail("crm.activity.binding.add", bind(map[string]any{"entityTypeId": 2, "entityId": 999}), 400, "OWNER_NOT_FOUND")
		s.MustFail("crm.activity.binding.add", bind(map[string]any{"entityTypeId": 777, "entityId": 1}), 400, "OWNER_NOT_FOUND")
		s.MustFail("crm.activity.binding.add", map[string]any{"activityId": 999, "entityTypeId": 2, "entityId": d3}, 400, "NOT_FOUND")
		s.MustFail("crm.activity.binding.add", map[string]any{"activityId": id, "entityTypeId": 2}, 400, "100")

		list := s.MustOK("crm.activity.binding.list", map[string]any{"activityId": id})
		if fmt.Sprint(list) != fmt.Sprintf("[map[entityId:%d entityTypeId:2] map[entityId:%d entityTypeId:2]]", d1, d2) {
			t.Errorf("binding.list: %v", list)
		}
		// The multi-bound to-do shows on both deals' timelines and lists.
		for _, d := range []int64{d1, d2} {
			if n := len(entriesOfKind(t, s, 2, d, activity.KindToDo)); n != 1 {
				t.Errorf("deal %d timeline: %d to-do entries", d, n)
			}
		}
		if ids := activityIDs(t, s, map[string]any{"BINDINGS": []any{map[string]any{"OWNER_TYPE_ID": 2, "OWNER_ID": d2}}}); fmt.Sprint(ids) != fmt.Sprint([]int64{id}) {
			t.Errorf("list by the added binding: %v", ids)
		}

		// Moves: within a type, to another item, from a binding that exists.
		move := func(fromType, from, toType, to int64) map[string]any {
			return map[string]any{"activityId": id, "sourceEntityTypeId": fromType, "sourceEntityId": from, "targetEntityTypeId": toType, "targetEntityId": to}
		}
		s.MustFail("crm.activity.binding.move", move(2, d1, 3, contact), 400, "SOURCE_AND_TARGET_ENTITY_TYPES_ARE_NOT_EQUAL_ERROR")
		s.MustFail("crm.activity.binding.move", move(2, d1, 2, d1), 400, "SOURCE_AND_TARGET_ENTITY_ID_ARE_EQUAL_ERROR")
		s.MustFail("crm.activity.binding.move", move(2, d3, 2, 999), 400, "OWNER_NOT_FOUND")
		s.MustFail("crm.activity.binding.move", move(2, d3, 2, d1), 400, "ACTIVITY_IS_ALREADY_BOUND")
		s.MustFail("crm.activity.binding.move", move(2, 999, 2, d3), 400, "BINDING_NOT_FOUND")
		s.MustOK("crm.activity.binding.move", move(2, d1, 2, d3))
		got := s.MustOK("crm.activity.get", map[string]any{"id": id})
		if strInt(got, "OWNER_ID") != d3 || len(apitest.Path(got, "BINDINGS").([]any)) != 2 {
			t.Errorf("the owner moves with its binding: %v", got)
		}
		if len(entriesOfKind(t, s, 2, d1, activity.KindToDo)) != 0 || len(entriesOfKind(t, s, 2, d3, activity.KindToDo)) != 1 {
			t.Errorf("the to-do entry moves from deal %d to deal %d", d1, d3)
		}

		// A note on the to-do is seen from its items only.
		ctx, admin := context.Background(), access.Actor{UserID: 1, IsAdmin: true}
		if err := s.App.Timeline.SaveNote(ctx, admin, crm.Owner{EntityTypeID: 2, ID: d3}, tl.NoteOnActivity, id, "Ask for the signed copy"); err != nil {
			t.Errorf("note on a bound to-do: %v", err)
		}
		if err := s.App.Timeline.SaveNote(ctx, admin, crm.Owner{EntityTypeID: 2, ID: d1}, tl.NoteOnActivity, id, "x"); crm.KindOf(err) != crm.ErrItemNotFound {
			t.Errorf("note on a to-do from an item it is not bound to: %v", err)
		}

		// Completing shows on every bound item's timeline.
		s.MustOK("crm.activity.update", map[string]any{"id": id, "fields": map[string]any{"COMPLETED": "Y"}})
		for _, d := range []int64{d2, d3} {
			if n := len(entriesOfKind(t, s, 2, d, activity.KindToDoCompleted)); n != 1 {
				t.Errorf("deal %d: %d completion entries", d, n)
			}
		}

		// Unbinding: not the last binding, not one that does not exist.
		if s.MustOK("crm.activity.binding.delete", bind(map[string]any{"entityTypeId": 2, "entityId": d3})) != true {
			t.Errorf("binding.delete answers true")
		}
		got = s.MustOK("crm.activity.get", map[string]any{"id": id})
		if strInt(got, "OWNER_ID") != d2 {
			t.Errorf("the remaining item owns the to-do: %v", got)
		}
		s.MustFail("crm.activity.binding.delete", bind(map[string]any{"entityTypeId": 2, "entityId": d2}), 400, "LAST_BINDING_CANNOT_BE_DELETED")
		s.MustFail("crm.activity.binding.delete", bind(map[string]any{"entityTypeId": 2, "entityId": d1}), 400, "BINDING_NOT_FOUND")
		if list := s.MustOK("crm.activity.binding.list", map[string]any{"activityId": id}); len(list.([]any)) != 1 {
			t.Errorf("after refused deletes: %v", list)
		}
	})
}

// At most 100 items per activity.
func TestToDoBindingLimit(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		first := addDeal(s, "Deal 0")
		id := addToDo(s, 2, first, "Quarterly review", "2030-03-01T10:00:00+00:00")
		// 100 more deals, bound in batches of 50 commands: the last binding is refused.
		for batch := 0; batch < 4; batch++ {
			cmd := map[string]any{}
			for i := 0; i < 25; i++ {
				// Keys sort the deals ("a…") before their bindings ("b…"): JSON objects go out sorted.
				cmd[fmt.Sprintf("a%02d", i)] = fmt.Sprintf("crm.deal.add?fields[TITLE]=Deal%d_%d", batch, i)
				cmd[fmt.Sprintf("b%02d", i)] = fmt.Sprintf("crm.activity.binding.add?activityId=%d&entityTypeId=2&entityId=$result[a%02d]", id, i)
			}
			r := s.Call("batch", map[string]any{"halt": 0, "cmd": cmd})
			if r.Status != 200 {
				t.Fatalf("batch: %s", r.Raw)
			}
		}
		n := len(s.MustOK("crm.activity.binding.list", map[string]any{"activityId": id}).([]any))
		if n != 100 {
			t.Fatalf("bindings after adding 101: %d", n)
		}
		last := addDeal(s, "One too many")
		s.MustFail("crm.activity.binding.add", map[string]any{"activityId": id, "entityTypeId": 2, "entityId": last}, 400, "TOO_MANY_BINDINGS")
	})
}

// Deleting an item deletes the to-dos bound to it alone and unbinds the others.
func TestToDoDeletedOwner(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		d1, d2 := addDeal(s, "Doomed"), addDeal(s, "Survivor")
		alone := addToDo(s, 2, d1, "Only here", "2030-04-01T10:00:00+00:00")
		shared := addToDo(s, 2, d1, "Here and there", "2030-04-02T10:00:00+00:00")
		s.MustOK("crm.activity.binding.add", map[string]any{"activityId": shared, "entityTypeId": 2, "entityId": d2})

		s.MustOK("crm.deal.delete", map[string]any{"id": d1})
		s.MustFail("crm.activity.get", map[string]any{"id": alone}, 400, "NOT_FOUND")
		got := s.MustOK("crm.activity.get", map[string]any{"id": shared})
		if strInt(got, "OWNER_ID") != d2 || len(apitest.Path(got, "BINDINGS").([]any)) != 1 {
			t.Errorf("the shared to-do stays with the survivor: %v", got)
		}
		s.MustFail("crm.activity.todo.add", map[string]any{"ownerTypeId": 2, "ownerId": d1, "deadline": "2030-04-03T10:00:00"}, 400, "OWNER_NOT_FOUND")
		s.MustFail("crm.activity.todo.update", map[string]any{"id": shared, "ownerTypeId": 2, "ownerId": d1, "deadline": "2030-04-03T10:00:00"}, 400, "OWNER_NOT_FOUND")
		s.MustFail("crm.activity.binding.add", map[string]any{"activityId": shared, "entityTypeId": 2, "entityId": d1}, 400, "OWNER_NOT_FOUND")
	})
}

// Bad input answers a precise error and writes nothing.
func TestToDoBadInput(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		deal, other := addDeal(s, "Deal"), addDeal(s, "Other")
		ok := func(extra map[string]any) map[string]any {
			p := map[string]any{"ownerTypeId": 2, "ownerId": deal, "deadline": "2030-05-01T10:00:00+00:00", "title": "Bad"}
			for k, v := range extra {
				if v == nil {
					delete(p, k)
				} else {
					p[k] = v
				}
			}
			return p
		}
		for _, c := range []struct {
			name   string
			params map[string]any
			code   string
		}{
			{"no owner type", ok(map[string]any{"ownerTypeId": nil}), "100"},
			{"no owner", ok(map[string]any{"ownerId": nil}), "100"},
			{"no deadline", ok(map[string]any{"deadline": nil}), "100"},
			{"owner type is text", ok(map[string]any{"ownerTypeId": "deal"}), "100"},
			{"words for a deadline", ok(map[string]any{"deadline": "tomorrow"}), "WRONG_DATETIME_FORMAT"},
			{"no such day", ok(map[string]any{"deadline": "2030-02-30T10:00:00"}), "WRONG_DATETIME_FORMAT"},
			{"no such hour", ok(map[string]any{"deadline": "2030-02-01T25:00:00"}), "WRONG_DATETIME_FORMAT"},
			{"unknown owner type", ok(map[string]any{"ownerTypeId": 999}), "OWNER_NOT_FOUND"},
			{"invoice owner type", ok(map[string]any{"ownerTypeId": 5}), "OWNER_NOT_FOUND"},
			{"missing owner", ok(map[string]any{"ownerId": 12345}), "OWNER_NOT_FOUND"},
			{"unknown responsible", ok(map[string]any{"responsibleId": 999}), "INVALID_ARG_VALUE"},
			{"unknown parent", ok(map[string]any{"parentActivityId": 999}), "NOT_FOUND"},
			{"negative ping", ok(map[string]any{"pingOffsets": []int{-5}}), "INVALID_ARG_VALUE"},
			{"ping as text", ok(map[string]any{"pingOffsets": []string{"soon"}}), "100"},
			{"unknown colour", ok(map[string]any{"colorId": "12"}), "INVALID_ARG_VALUE"},
			{"long title", ok(map[string]any{"title": strings.Repeat("a", 256)}), "INVALID_ARG_VALUE"},
		} {
			if r := s.Call("crm.activity.todo.add", c.params); r.Status != 400 || fmt.Sprint(r.Body["error"]) != c.code {
				t.Errorf("%s: want 400 %s, got %d %s", c.name, c.code, r.Status, r.Raw)
			}
		}
		if r := s.Call("crm.activity.list", nil); len(r.Result().([]any)) != 0 || apitest.Int(r.Body, "total") != 0 {
			t.Errorf("refused adds wrote activities: %s", r.Raw)
		}
		if n := len(entriesOfKind(t, s, 2, deal, activity.KindToDo)); n != 0 {
			t.Errorf("refused adds wrote %d timeline entries", n)
		}

		// A refused update changes nothing, not even the valid parts of the call.
		id := addToDo(s, 2, deal, "Original", "2030-05-01T10:00:00+00:00")
		s.MustFail("crm.activity.todo.update", map[string]any{"id": id, "ownerTypeId": 2, "ownerId": deal, "title": "Changed", "deadline": "someday"}, 400, "WRONG_DATETIME_FORMAT")
		s.MustFail("crm.activity.todo.update", map[string]any{"id": id, "ownerTypeId": 2, "ownerId": other, "title": "Changed", "deadline": "2030-05-02T10:00:00"}, 400, "NOT_FOUND")
		s.MustFail("crm.activity.todo.update", map[string]any{"id": 999, "ownerTypeId": 2, "ownerId": deal, "deadline": "2030-05-02T10:00:00"}, 400, "NOT_FOUND")
		s.MustFail("crm.activity.todo.updateDeadline", map[string]any{"id": id, "ownerTypeId": 2, "ownerId": deal}, 400, "100")
		s.MustFail("crm.activity.todo.updateResponsibleUser", map[string]any{"id": id, "ownerTypeId": 2, "ownerId": deal, "responsibleId": 999}, 400, "INVALID_ARG_VALUE")
		s.MustFail("crm.activity.update", map[string]any{"id": id, "fields": map[string]any{"SUBJECT": "Changed", "COMPLETED": "maybe"}}, 400, "INVALID_ARG_VALUE")
		s.MustFail("crm.activity.update", map[string]any{"id": id, "fields": map[string]any{"SUBJECT": "Changed", "DEADLINE": "2030-13-01"}}, 400, "WRONG_DATETIME_FORMAT")
		s.MustFail("crm.activity.update", map[string]any{"id": id}, 400, "100")
		s.MustFail("crm.activity.list", map[string]any{"filter": map[string]any{"BINDINGS": "deal"}}, 400, "INVALID_ARG_VALUE")
		s.MustFail("crm.activity.list", map[string]any{"filter": map[string]any{"NO_SUCH_FIELD": 1}}, 400, "INVALID_ARG_VALUE")
		got := s.MustOK("crm.activity.get", map[string]any{"id": id})
		if apitest.Str(got, "SUBJECT") != "Original" || !sameMoment(t, apitest.Str(got, "DEADLINE"), "2030-05-01T10:00:00+00:00") ||
			apitest.Str(got, "COMPLETED") != "N" {
			t.Errorf("refused updates changed the to-do: %v", got)
		}
		if todos := entriesOfKind(t, s, 2, deal, activity.KindToDo); len(todos) != 1 || todos[0]["title"] != "Original" {
			t.Errorf("refused updates changed the timeline: %v", todos)
		}

		// A follow-up cannot be scheduled for a completed to-do.
		s.MustOK("crm.activity.update", map[string]any{"id": id, "fields": map[string]any{"COMPLETED": "Y"}})
		s.MustFail("crm.activity.todo.add", ok(map[string]any{"parentActivityId": id}), 400, "ERROR_PARENT_ACTIVITY_RESTRICT")
	})
}
