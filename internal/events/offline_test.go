package events_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/apitest"
	"smartcrm/internal/app"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// Offline events: one record per object with its latest change, taken at once or
// reserved under a process id and then cleared or marked failed; changes made by the
// connector that reads the queue are not recorded in it; only administrators.
func TestOfflineEvents(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		etid, _ := newProcess(s, "Orders")
		s.MustOK("event.bind", map[string]any{"event": "ONCRMDYNAMICITEMADD", "event_type": "offline"})
		s.MustOK("event.bind", map[string]any{"event": "ONCRMDYNAMICITEMUPDATE", "event_type": "offline"})
		s.MustOK("event.bind", map[string]any{"event": "ONCRMDYNAMICITEMUPDATE", "event_type": "offline", "auth_connector": "erp"})
		if got := s.MustOK("event.get", nil).([]any); len(got) != 3 || apitest.Int(got[0], "offline") != 1 || apitest.Str(got[0], "handler") != "" {
			t.Fatalf("event.get: %v", got)
		}

		a := addItem(s, etid, "a")
		b := addItem(s, etid, "b")
		for i := 0; i < 3; i++ {
			s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": a, "fields": map[string]any{"title": fmt.Sprint("a", i)}})
		}
		// The ERP's own change: recorded in the default queue, not in the ERP's.
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": b, "fields": map[string]any{"title": "from erp"}, "auth_connector": "erp"})
		s.App.Events.Wake()

		list := func(connector string) []any {
			res := s.Call("event.offline.list", map[string]any{"auth_connector": connector})
			l, _ := res.Result().([]any)
			return l
		}
		eventually(t, "two records in the default queue", 20*time.Second, func() (bool, string) {
			l := list("")
			return len(l) == 2 && apitest.Str(l[1], "EVENT_NAME") == "ONCRMDYNAMICITEMUPDATE", fmt.Sprint(l)
		})
		eventually(t, "the ERP queue", 20*time.Second, func() (bool, string) {
			l := list("erp")
			return len(l) == 1, fmt.Sprint(l)
		})
		if l := list("erp"); fmt.Sprint(apitest.Path(l[0], "EVENT_DATA.FIELDS.ID")) != fmt.Sprint(a) {
			t.Errorf("the ERP queue holds its own change: %v", l)
		}
		l := list("")
		if fmt.Sprint(apitest.Path(l[0], "EVENT_DATA.FIELDS.ID")) != fmt.Sprint(a) || apitest.Str(l[0], "EVENT_NAME") != "ONCRMDYNAMICITEMUPDATE" ||
			fmt.Sprint(apitest.Path(l[0], "EVENT_DATA.FIELDS.ENTITY_TYPE_ID")) != fmt.Sprint(etid) || len(apitest.Str(l[0], "MESSAGE_ID")) != 32 ||
			apitest.Str(l[0], "PROCESS_ID") != "" || apitest.Str(l[0], "ERROR") != "0" || apitest.Str(l[0], "EVENT_ADDITIONAL.user_id") != "1" {
			t.Errorf("record of a: %v", l[0])
		}

		// Reserve one, then the other: parallel readers get disjoint sets.
		first := s.MustOK("event.offline.get", map[string]any{"clear": 0, "limit": 1})
		pid := apitest.Str(first, "process_id")
		evs, _ := apitest.Path(first, "events").([]any)
		if pid == "" || len(evs) != 1 || fmt.Sprint(apitest.Path(evs[0], "EVENT_DATA.FIELDS.ID")) != fmt.Sprint(a) {
			t.Fatalf("reserve: %v", first)
		}
		second := s.MustOK("event.offline.get", map[string]any{"clear": 0, "process_id": "worker-2"})
		if apitest.Str(second, "process_id") != "worker-2" || fmt.Sprint(apitest.Path(second, "events.0.EVENT_DATA.FIELDS.ID")) != fmt.Sprint(b) ||
			len(apitest.Path(second, "events").([]any)) != 1 {
			t.Fatalf("second reservation: %v", second)
		}
		// A change to a reserved object makes a new record; the reserved one stays.
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": a, "fields": map[string]any{"title": "again"}})
		eventually(t, "a new record beside the reserved one", 20*time.Second, func() (bool, string) {
			return len(list("")) == 3, fmt.Sprint(list(""))
		})
		s.MustOK("event.offline.clear", map[string]any{"process_id": pid})
		s.MustOK("event.offline.error", map[string]any{"process_id": "worker-2"})
		l = list("")
		if len(l) != 2 || fmt.Sprint(apitest.Path(l[0], "EVENT_DATA.FIELDS.ID")) != fmt.Sprint(b) || apitest.Str(l[0], "ERROR") != "1" {
			t.Fatalf("after clear and error: %v", l)
		}
		failed := s.MustOK("event.offline.get", map[string]any{"error": 1})
		if apitest.Path(failed, "process_id") != nil || len(apitest.Path(failed, "events").([]any)) != 1 {
			t.Fatalf("get error=1: %v", failed)
		}
		rest := s.MustOK("event.offline.get", map[string]any{"filter": map[string]any{"EVENT_NAME": "ONCRMDYNAMICITEMUPDATE"}})
		if len(apitest.Path(rest, "events").([]any)) != 1 || len(list("")) != 0 {
			t.Fatalf("get with clear: %v; left %v", rest, list(""))
		}

		// Bad input: nothing changes.
		s.MustFail("event.offline.clear", map[string]any{}, http.StatusBadRequest, "ERROR_REQUIRED_PARAMETERS_MISSING")
		s.MustFail("event.offline.get", map[string]any{"filter": map[string]any{"NOPE": 1}}, http.StatusBadRequest, "INVALID_ARG_VALUE")
		s.MustFail("event.offline.get", map[string]any{"limit": "many"}, http.StatusBadRequest, "100")
		s.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD", "event_type": "sometimes"}, http.StatusBadRequest, "ERROR_EVENT_TYPE")

		// Not an administrator: access denied.
		ctx := context.Background()
		u := &store.UserRecord{Name: "Clerk", Active: true}
		var secret string
		if err := s.App.Store.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertUser(ctx, u); err != nil {
				return err
			}
			var err error
			secret, err = access.Create(ctx, tx, u.ID, "", "clerk")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		clerk := *s
		clerk.Base = fmt.Sprintf("%s/rest/%d/%s/", s.HTTP.URL, u.ID, secret)
		clerk.MustFail("event.offline.get", nil, http.StatusForbidden, "ACCESS_DENIED")
		clerk.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD", "event_type": "offline"}, http.StatusForbidden, "ACCESS_DENIED")
		clerk.MustFail("event.bind", map[string]any{"event": "ONCRMDEALADD", "handler": "https://example.com/h", "auth_type": 1}, http.StatusForbidden, "ACCESS_DENIED")
		// Its own online subscription is its application's alone.
		clerk.MustOK("event.bind", map[string]any{"event": "ONCRMDEALADD", "handler": "https://example.com/h"})
		if got := clerk.MustOK("event.get", nil).([]any); len(got) != 1 {
			t.Errorf("the clerk sees %v", got)
		}
		if got := s.MustOK("event.get", nil).([]any); len(got) != 3 {
			t.Errorf("the administrator's application sees %v", got)
		}
	})
}

// ONOFFLINEEVENT tells an application's online handler that its offline queue got
// entries, with no data; options[minTimeout] spaces the notices out, a notice due later
// standing for every entry queued before it.
func TestOfflineNotice(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		var clock atomic.Int64
		clock.Store(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC).UnixMilli())
		s := start(t, dialect, func(c *app.Config) { c.Clock = func() time.Time { return time.UnixMilli(clock.Load()) } })
		etid, _ := newProcess(s, "Orders")
		h := newHandler(t)
		s.MustOK("event.bind", map[string]any{"event": "ONCRMDYNAMICITEMADD", "event_type": "offline"})
		s.MustOK("event.bind", map[string]any{"event": "onOfflineEvent", "handler": h.URL, "options": map[string]any{"minTimeout": 3600}})
		if code, msg := s.Call("event.bind", map[string]any{"event": "ONOFFLINEEVENT", "event_type": "offline"}).Error(); code != "ERROR_EVENT_TYPE" {
			t.Errorf("an offline ONOFFLINEEVENT: %v %s", code, msg)
		}
		if code, msg := s.Call("event.bind", map[string]any{"event": "ONOFFLINEEVENT", "handler": h.URL + "/2", "options": map[string]any{"minTimeout": "soon"}}).Error(); code != "INVALID_ARG_VALUE" {
			t.Errorf("a minTimeout that is not a number: %v %s", code, msg)
		}

		addItem(s, etid, "first")
		s.App.Events.Wake()
		eventually(t, "the notice", 20*time.Second, func() (bool, string) { return len(h.Delivered()) == 1, summary(h.Calls()) })
		f := h.Delivered()[0].form
		if f.Get("event") != "ONOFFLINEEVENT" || f.Has("data") || f.Get("auth[application_token]") != appToken(t, s) || f.Get("event_handler_id") == "" {
			t.Errorf("the notice: %v", f)
		}

		// Ten seconds later, two more entries: one notice, due an hour after the first.
		clock.Add(10_000)
		addItem(s, etid, "second")
		s.App.Events.Wake()
		pending := func() []any {
			l, _ := apitest.Path(s.MustOK("smartcrm.events.deliveries", map[string]any{"status": "pending"}), "deliveries").([]any)
			return l
		}
		eventually(t, "a notice waiting for the hour", 20*time.Second, func() (bool, string) { return len(pending()) == 1, fmt.Sprint(pending()) })
		addItem(s, etid, "third")
		s.App.Events.Wake()
		eventually(t, "three offline records", 20*time.Second, func() (bool, string) {
			l, _ := s.Call("event.offline.list", nil).Result().([]any)
			return len(l) == 3, fmt.Sprint(l)
		})
		if p := pending(); len(p) != 1 || apitest.Str(p[0], "event") != "ONOFFLINEEVENT" ||
			apitest.Str(p[0], "nextAttemptTime") != time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC).In(time.Local).Format(field.WireTime) {
			t.Errorf("pending notices: %v", p)
		}
		if n := len(h.Calls()); n != 1 {
			t.Errorf("%d notices within the minTimeout", n)
		}
	})
}
