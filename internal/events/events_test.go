package events_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// Subscriptions: Bitrix24's shapes, names in any case in and upper case out, every
// refusal with its code and nothing stored.
func TestSubscriptions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		etid, _ := newProcess(s, "Contracts")
		h := newHandler(t)

		if got := s.MustOK("event.get", nil); len(got.([]any)) != 0 {
			t.Fatalf("event.get before any bind: %v", got)
		}
		bind(s, "onCrmDynamicItemUpdate", h.URL+"/all")
		bind(s, fmt.Sprintf("onCrmDynamicItemAdd_%d", etid), h.URL+"/one")
		s.MustOK("event.bind", map[string]any{"EVENT": "ONCRMDEALADD", "HANDLER": h.URL + "/deals", "auth_type": 1})

		got := s.MustOK("event.get", nil).([]any)
		want := []string{"ONCRMDYNAMICITEMUPDATE " + h.URL + "/all 0 0", fmt.Sprintf("ONCRMDYNAMICITEMADD_%d %s/one 0 0", etid, h.URL),
			"ONCRMDEALADD " + h.URL + "/deals 1 0"}
		if len(got) != len(want) {
			t.Fatalf("event.get: %v", got)
		}
		for i, g := range got {
			line := fmt.Sprintf("%s %s %s %v", apitest.Str(g, "event"), apitest.Str(g, "handler"), apitest.Str(g, "auth_type"), apitest.Path(g, "offline"))
			if line != want[i] {
				t.Errorf("event.get[%d] = %q, want %q", i, line, want[i])
			}
		}

		// Refusals.
		s.MustFail("event.bind", map[string]any{"event": "ONCRMNOTHING", "handler": h.URL}, http.StatusBadRequest, "ERROR_EVENT_NOT_FOUND")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDYNAMICITEMADD_999999", "handler": h.URL}, http.StatusBadRequest, "ERROR_EVENT_NOT_FOUND")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDYNAMICITEMADD_2", "handler": h.URL}, http.StatusBadRequest, "ERROR_EVENT_NOT_FOUND")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD", "handler": "not a url"}, http.StatusBadRequest, "ERROR_WRONG_HANDLER_URL")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD", "handler": "/relative/path"}, http.StatusBadRequest, "ERROR_WRONG_HANDLER_URL")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD", "handler": "ftp://example.com/x"}, http.StatusBadRequest, "ERROR_UNSUPPORTED_PROTOCOL")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD", "handler": "javascript:alert(1)"}, http.StatusBadRequest, "ERROR_WRONG_HANDLER_URL")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD"}, http.StatusBadRequest, "ERROR_REQUIRED_PARAMETERS_MISSING")
		s.MustFail("event.bind", map[string]any{"handler": h.URL}, http.StatusBadRequest, "ERROR_REQUIRED_PARAMETERS_MISSING")
		s.MustFail("event.bind", map[string]any{"event": "onCrmDynamicItemUpdate", "handler": h.URL + "/all"}, http.StatusBadRequest, "ERROR_CORE")
		if got := s.MustOK("event.get", nil).([]any); len(got) != 3 {
			t.Fatalf("a refused bind stored something: %v", got)
		}

		// events: every name, the process's own included.
		names := s.MustOK("events", nil).([]any)
		for _, n := range []string{"ONCRMDYNAMICITEMADD", "ONCRMTYPEUSERFIELDSETENUMVALUES", "ONTASKDELETE", "ONCRMTIMELINECOMMENTUPDATE",
			"ONCRMACTIVITYADD", "ONCRMLEADDELETE", fmt.Sprintf("ONCRMDYNAMICITEMDELETE_%d", etid)} {
			if !slices.Contains(names, any(n)) {
				t.Errorf("events lacks %s", n)
			}
		}

		// Unbind: count, case-insensitive names; nothing matching is 0.
		if n := apitest.Int(s.MustOK("event.unbind", map[string]any{"event": "oncrmdynamicitemupdate", "handler": h.URL + "/all"}), "count"); n != 1 {
			t.Errorf("unbind count = %d", n)
		}
		if n := apitest.Int(s.MustOK("event.unbind", map[string]any{"event": "ONCRMDEALADD", "handler": h.URL + "/deals", "auth_type": 0}), "count"); n != 0 {
			t.Errorf("unbind with another auth_type removed %d", n)
		}
		if n := apitest.Int(s.MustOK("event.unbind", map[string]any{"event": "ONCRMDEALADD", "handler": h.URL + "/deals"}), "count"); n != 1 {
			t.Errorf("unbind without auth_type count = %d", n)
		}
		s.MustFail("event.unbind", map[string]any{"event": "NOPE", "handler": h.URL}, http.StatusBadRequest, "ERROR_EVENT_NOT_FOUND")
		if got := s.MustOK("event.get", nil).([]any); len(got) != 1 {
			t.Fatalf("after unbinding: %v", got)
		}
	})
}

// Every kind of event reaches its handler as Bitrix24 posts it: a form in bracket
// syntax with event, event_handler_id, data, ts and auth, plus an Idempotency-Key.
func TestPayloads(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		h := newHandler(t)
		for _, e := range []string{"ONCRMDYNAMICITEMADD", "ONCRMTYPEADD", "ONCRMTYPEUSERFIELDADD", "ONCRMDEALADD", "ONCRMDEALUPDATE",
			"ONCRMTIMELINECOMMENTADD", "ONCRMACTIVITYADD", "ONTASKADD", "ONTASKUPDATE", "ONCRMCONTACTDELETE"} {
			bind(s, e, h.URL+"/"+strings.ToLower(e))
		}
		before := time.Now().Unix()
		etid, typeID := newProcess(s, "Visits")
		bind(s, fmt.Sprintf("ONCRMDYNAMICITEMADD_%d", etid), h.URL+"/typed")
		item := addItem(s, etid, "First visit")
		uf := s.MustOK("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{
			"entityId": fmt.Sprintf("CRM_%d", typeID), "fieldName": "UF_CRM_1_NOTE", "userTypeId": "string"}})
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Boiler"}}), "")
		s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"TITLE": "Boiler 2"}})
		contact := apitest.Int(s.MustOK("crm.contact.add", map[string]any{"fields": map[string]any{"NAME": "Ann"}}), "")
		s.MustOK("crm.contact.delete", map[string]any{"id": contact})
		comment := apitest.Int(s.MustOK("crm.timeline.comment.add", map[string]any{"fields": map[string]any{
			"ENTITY_ID": deal, "ENTITY_TYPE": "deal", "COMMENT": "Called"}}), "")
		todo := apitest.Int(s.MustOK("crm.activity.todo.add", map[string]any{"ownerTypeId": 2, "ownerId": deal, "title": "Call", "deadline": "2030-01-01T10:00:00+00:00"}), "id")
		task, _ := strconv.ParseInt(apitest.Str(s.MustOK("tasks.task.add", map[string]any{"fields": map[string]any{"TITLE": "Visit", "RESPONSIBLE_ID": 1}}), "task.id"), 10, 64)
		s.MustOK("tasks.task.update", map[string]any{"taskId": task, "fields": map[string]any{"TITLE": "Visit 2"}})

		token := appToken(t, s)
		host := strings.TrimPrefix(s.HTTP.URL, "http://")
		type want struct {
			path  string
			event string
			data  map[string]string
		}
		id := func(v int64) string { return strconv.FormatInt(v, 10) }
		wants := []want{
			{"/oncrmtypeadd", "ONCRMTYPEADD", map[string]string{"data[FIELDS][ID]": id(typeID)}},
			{"/oncrmdynamicitemadd", "ONCRMDYNAMICITEMADD", map[string]string{"data[FIELDS][ID]": id(item), "data[FIELDS][ENTITY_TYPE_ID]": id(etid)}},
			{"/typed", fmt.Sprintf("ONCRMDYNAMICITEMADD_%d", etid), map[string]string{"data[FIELDS][ID]": id(item), "data[FIELDS][ENTITY_TYPE_ID]": id(etid)}},
			{"/oncrmtypeuserfieldadd", "ONCRMTYPEUSERFIELDADD", map[string]string{"data[FIELDS][ID]": apitest.Str(uf, "field.id"),
				"data[FIELDS][ENTITY_ID]": fmt.Sprintf("CRM_%d", typeID), "data[FIELDS][FIELD_NAME]": "UF_CRM_1_NOTE"}},
			{"/oncrmdealadd", "ONCRMDEALADD", map[string]string{"data[FIELDS][ID]": id(deal)}},
			{"/oncrmdealupdate", "ONCRMDEALUPDATE", map[string]string{"data[FIELDS][ID]": id(deal)}},
			{"/oncrmcontactdelete", "ONCRMCONTACTDELETE", map[string]string{"data[FIELDS][ID]": id(contact)}},
			{"/oncrmtimelinecommentadd", "ONCRMTIMELINECOMMENTADD", map[string]string{"data[ID]": id(comment)}},
			{"/oncrmactivityadd", "ONCRMACTIVITYADD", map[string]string{"data[FIELDS][ID]": id(todo)}},
			{"/ontaskadd", "ONTASKADD", map[string]string{"data[FIELDS_AFTER][ID]": id(task)}},
			{"/ontaskupdate", "ONTASKUPDATE", map[string]string{"data[FIELDS_BEFORE][ID]": id(task), "data[FIELDS_AFTER][ID]": id(task)}},
		}
		eventually(t, "every event", 20*time.Second, func() (bool, string) {
			return len(h.Delivered()) >= len(wants), summary(h.Calls())
		})
		calls := h.Calls()
		if len(calls) != len(wants) {
			t.Errorf("calls: %d, want %d: %s", len(calls), len(wants), summary(calls))
		}
		for _, w := range wants {
			var found *delivery
			for i := range calls {
				if calls[i].form.Get("event") == w.event {
					found = &calls[i]
				}
			}
			if found == nil {
				t.Errorf("%s: not delivered", w.event)
				continue
			}
			f := found.form
			keys := map[string]bool{}
			for k := range f {
				keys[k] = true
			}
			expect := map[string]string{"event": w.event, "auth[domain]": host, "auth[client_endpoint]": s.HTTP.URL + "/rest/",
				"auth[server_endpoint]": s.HTTP.URL + "/rest/", "auth[application_token]": token}
			for k, v := range w.data {
				expect[k] = v
			}
			for k, v := range expect {
				if f.Get(k) != v {
					t.Errorf("%s: %s = %q, want %q", w.event, k, f.Get(k), v)
				}
				delete(keys, k)
			}
			if len(f.Get("auth[member_id]")) != 32 {
				t.Errorf("%s: member_id %q", w.event, f.Get("auth[member_id]"))
			}
			if ts, err := strconv.ParseInt(f.Get("ts"), 10, 64); err != nil || ts < before || ts > time.Now().Unix() {
				t.Errorf("%s: ts %q", w.event, f.Get("ts"))
			}
			if hid, err := strconv.Atoi(f.Get("event_handler_id")); err != nil || hid <= 0 {
				t.Errorf("%s: event_handler_id %q", w.event, f.Get("event_handler_id"))
			}
			delete(keys, "auth[member_id]")
			delete(keys, "ts")
			delete(keys, "event_handler_id")
			if len(keys) != 0 {
				t.Errorf("%s: unexpected fields %v", w.event, keys)
			}
			if found.ctype != "application/x-www-form-urlencoded" || !strings.HasPrefix(found.key, "smartcrm-event-") {
				t.Errorf("%s: content type %q, key %q", w.event, found.ctype, found.key)
			}
		}

		// A change that is refused (and so rolled back) announces nothing.
		n := len(h.Calls())
		r := s.Call("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"COMPANY_ID": 999999}})
		if r.Body["error"] == nil {
			t.Fatalf("an update naming a missing company passed: %s", r.Raw)
		}
		s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"TITLE": "Boiler 3"}})
		eventually(t, "the next update", 20*time.Second, func() (bool, string) { return len(h.Calls()) == n+1, summary(h.Calls()) })
		if c := h.Calls()[n]; c.form.Get("event") != "ONCRMDEALUPDATE" {
			t.Errorf("after a refused change: %s", summary(h.Calls()[n:]))
		}
	})
}
