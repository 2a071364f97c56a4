package events_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// A handler that is down for a while gets every event once it is back: in order per
// item, and no key delivered twice once it answered 2xx. While it is down it is shown
// as failing, with its deliveries' attempts and last error.
func TestHandlerDownForAWhile(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		etid, _ := newProcess(s, "Orders")
		h := newHandler(t)
		h.setDown(true)
		bind(s, "ONCRMDYNAMICITEMUPDATE", h.URL)

		items := []int64{addItem(s, etid, "a"), addItem(s, etid, "b"), addItem(s, etid, "c")}
		const rounds = 5
		for r := 1; r <= rounds; r++ {
			for _, id := range items {
				s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"title": fmt.Sprintf("round %d", r)}})
			}
		}
		// Down: attempts fail and are shown.
		eventually(t, "failed attempts shown", 20*time.Second, func() (bool, string) {
			res := s.MustOK("smartcrm.events.deliveries", map[string]any{"status": "pending"})
			hs, _ := apitest.Path(res, "handlers").([]any)
			list, _ := apitest.Path(res, "deliveries").([]any)
			tried := 0
			for _, d := range list {
				if apitest.Int(d, "attempts") >= 1 && apitest.Str(d, "lastError") == "the handler answered 503" {
					tried++
				}
			}
			// The first update of each item is tried; the others wait behind it.
			return len(hs) == 1 && apitest.Str(hs[0], "status") == "failing" && tried == len(items) && len(list) == len(items)*rounds, fmt.Sprint(res)
		})
		if len(h.Delivered()) != 0 {
			t.Fatalf("a down handler took deliveries")
		}
		// Only each item's first update was tried: the rest wait behind it.
		for _, c := range h.Calls() {
			if c.form.Get("data[FIELDS][ID]") == "" {
				t.Fatalf("call without an item: %v", c.form)
			}
		}
		perKey := map[string]string{}
		for _, c := range h.Calls() {
			id := c.form.Get("data[FIELDS][ID]")
			if prev, seen := perKey[id]; seen && prev != c.key {
				t.Fatalf("item %s: a later event was tried before the first was delivered (%s then %s)", id, prev, c.key)
			}
			perKey[id] = c.key
		}

		h.setDown(false)
		eventually(t, "every event after the handler came back", 20*time.Second, func() (bool, string) {
			return len(h.Delivered()) == len(items)*rounds, summary(h.Delivered())
		})
		// In order per item: delivery keys (ids) rise per item, no key twice.
		seen := map[string]bool{}
		last := map[string]int64{}
		for _, c := range h.Delivered() {
			if seen[c.key] {
				t.Errorf("key %s delivered twice", c.key)
			}
			seen[c.key] = true
			n, _ := strconv.ParseInt(c.key[len("smartcrm-event-"):], 10, 64)
			id := c.form.Get("data[FIELDS][ID]")
			if n <= last[id] {
				t.Errorf("item %s: %d arrived after %d", id, n, last[id])
			}
			last[id] = n
		}
		// The handler has answered; the server records the answer just after.
		var res any
		eventually(t, "every delivery recorded as delivered", 20*time.Second, func() (bool, string) {
			res = s.MustOK("smartcrm.events.deliveries", map[string]any{"status": "delivered"})
			list, _ := apitest.Path(res, "deliveries").([]any)
			return len(list) == len(items)*rounds, fmt.Sprint(len(list))
		})
		if st := apitest.Str(res, "handlers.0.status"); st != "ok" {
			t.Errorf("handler status after recovery: %s", st)
		}
		// Nothing more arrives: a delivered event is not sent again.
		n := len(h.Calls())
		addItem(s, etid, "after") // an add, which this handler does not hear; the reader moves on
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": items[0], "fields": map[string]any{"title": "last"}})
		eventually(t, "one more", 20*time.Second, func() (bool, string) { return len(h.Calls()) == n+1, summary(h.Calls()[n:]) })
		if c := h.Calls()[n]; seen[c.key] {
			t.Errorf("a delivered key came again: %s", c.key)
		}

		// Bad input to the listing.
		s.MustFail("smartcrm.events.deliveries", map[string]any{"status": "lost"}, http.StatusBadRequest, "INVALID_ARG_VALUE")
		s.MustFail("smartcrm.events.deliveries", map[string]any{"handler": 99999}, http.StatusBadRequest, "NOT_FOUND")
	})
}

// A handler that answers slowly does not hold another handler's events.
func TestSlowHandlerDelaysNobodyElse(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		etid, _ := newProcess(s, "Tickets")
		slow, fast := newHandler(t), newHandler(t)
		release := make(chan struct{})
		slow.mu.Lock()
		slow.hold = release
		slow.mu.Unlock()
		bind(s, "ONCRMDYNAMICITEMADD", slow.URL)
		bind(s, "ONCRMDYNAMICITEMADD", fast.URL)
		const n = 30
		for i := 0; i < n; i++ {
			addItem(s, etid, fmt.Sprint(i))
		}
		eventually(t, "the fast handler's events while the slow one holds", 20*time.Second, func() (bool, string) {
			return len(fast.Delivered()) == n, summary(fast.Delivered())
		})
		if got := len(slow.Calls()); got != 0 {
			t.Fatalf("the slow handler answered %d while held", got)
		}
		slow.mu.Lock()
		close(release)
		slow.hold = nil
		slow.mu.Unlock()
		eventually(t, "the slow handler's events once it answers", 20*time.Second, func() (bool, string) {
			return len(slow.Delivered()) == n, summary(slow.Delivered())
		})
	})
}
