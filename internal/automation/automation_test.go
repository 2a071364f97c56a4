package automation_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/app"
	"smartcrm/internal/testdb"
)

// A move into a stage runs its robots once each, in order: a comment, a field change,
// a webhook call with the run's key and the item's values, a closing comment. Leaving
// and entering again is a new entry, which runs them again.
func TestStageMoveRunsRobotsOnceInOrder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		rcv := newReceiver(t)
		etid := newProcess(s, "Leave requests", nil)
		setAutomation(s, etid, map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "hello", "type": "comment", "params": map[string]any{"text": "Approved: {{title}} ({{stageName}})"}},
			map[string]any{"id": "rename", "type": "fields", "params": map[string]any{"fields": map[string]any{"title": "{{title}} [approved]"}}},
			map[string]any{"id": "payroll", "type": "webhook", "params": map[string]any{"url": rcv.URL + "/payroll?item={{id}}",
				"body": `{"title":"{{title}}","url":"{{url}}"}`}},
			map[string]any{"id": "bye", "type": "comment", "params": map[string]any{"text": "Payroll answered: {{robot.payroll.body}}"}},
		}}})
		id := addItem(s, etid, map[string]any{"title": "Anna, 5 days"})
		move(s, etid, id, "PREPARATION")
		waitStatuses(t, s, etid, id, "hello:done rename:done payroll:done bye:done")

		calls := rcv.Calls()
		if len(calls) != 1 {
			t.Fatalf("the webhook was called %d times: %+v", len(calls), calls)
		}
		c := calls[0]
		if c.path != fmt.Sprintf("/payroll?item=%d", id) || !strings.Contains(c.body, `"title":"Anna, 5 days [approved]"`) ||
			!strings.Contains(c.body, fmt.Sprintf("/crm/type/%d/details/%d/", etid, id)) {
			t.Errorf("webhook call: %+v", c)
		}
		if !strings.HasPrefix(c.key, fmt.Sprintf("smartcrm-%d-%d-", etid, id)) || !strings.HasSuffix(c.key, "-payroll") {
			t.Errorf("idempotency key %q", c.key)
		}
		comments := s.MustOK("crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_TYPE": fmt.Sprintf("dynamic_%d", etid), "ENTITY_ID": id},
			"order": map[string]any{"ID": "ASC"}}).([]any)
		if len(comments) != 2 || apitest.Str(comments[0], "COMMENT") != "Approved: Anna, 5 days (Preparation)" ||
			!strings.Contains(apitest.Str(comments[1], "COMMENT"), `/payroll`) {
			t.Fatalf("comments: %v", comments)
		}
		// Runs are recorded with what people need to follow them.
		run := runs(s, etid, id)[1] // payroll
		if apitest.Str(run, "robot.type") != "webhook" || apitest.Int(run, "attempts") != 1 || apitest.Str(run, "stageId") != stage(etid, "PREPARATION") ||
			apitest.Str(run, "startedTime") == "" || apitest.Str(run, "finishedTime") == "" || apitest.Int(run, "result.status") != 200 {
			t.Errorf("run: %v", run)
		}
		if got := automationEntries(s, etid, id); strings.Join(got, " ") != "bye:done payroll:done rename:done hello:done" {
			t.Errorf("timeline entries: %v", got)
		}
		// The robot's change went through the write path: its own timeline entry.
		item := s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id})
		if apitest.Str(item, "item.title") != "Anna, 5 days [approved]" {
			t.Errorf("title: %v", item)
		}

		move(s, etid, id, "CLIENT")
		move(s, etid, id, "PREPARATION")
		waitStatuses(t, s, etid, id, "hello:done rename:done payroll:done bye:done hello:done rename:done payroll:done bye:done")
		if calls := rcv.Calls(); len(calls) != 2 || calls[0].key == calls[1].key {
			t.Errorf("a second entry makes a second call with its own key: %+v", calls)
		}
	})
}

// A robot whose condition is false is skipped, and the chain goes on; parallel robots
// do not wait for the one before them.
func TestConditionsAndParallel(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		etid := newProcess(s, "Contracts", map[string]any{"isLinkWithProductsEnabled": "Y"})
		setAutomation(s, etid, map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "big", "type": "comment", "condition": "opportunity > 10000 && title != ''", "params": map[string]any{"text": "big deal"}},
			map[string]any{"id": "small", "type": "comment", "condition": "opportunity <= 10000", "params": map[string]any{"text": "small deal"}},
			map[string]any{"id": "always", "type": "comment", "parallel": true, "params": map[string]any{"text": "every deal"}},
		}}})
		big := addItem(s, etid, map[string]any{"title": "Big", "opportunity": 50000, "isManualOpportunity": "Y"})
		small := addItem(s, etid, map[string]any{"title": "Small", "opportunity": 500, "isManualOpportunity": "Y"})
		move(s, etid, big, "PREPARATION")
		move(s, etid, small, "PREPARATION")
		waitStatuses(t, s, etid, big, "big:done small:skipped always:done")
		waitStatuses(t, s, etid, small, "big:skipped small:done always:done")
		if got := automationEntries(s, etid, small); !strings.Contains(strings.Join(got, " "), "big:skipped") {
			t.Errorf("a skipped run shows on the timeline: %v", got)
		}
	})
}

// Delays are scheduled jobs on a clock the test moves; leaving the stage before a
// delayed robot fires cancels it; a delay relative to a date field counts from it.
func TestDelays(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		clk := newClock()
		s := start(t, dialect, func(c *app.Config) { c.Clock = clk.Now })
		etid := newProcess(s, "Installation visits", map[string]any{"isBeginCloseDatesEnabled": "Y"})
		setAutomation(s, etid, map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "later", "type": "comment", "delay": map[string]any{"after": "2h"}, "params": map[string]any{"text": "two hours on"}},
			map[string]any{"id": "eve", "type": "comment", "delay": map[string]any{"field": "closedate", "offset": "-1d"}, "params": map[string]any{"text": "the day before"}},
		}}})
		kept := addItem(s, etid, map[string]any{"title": "Stays", "closedate": clk.Now().Add(72 * time.Hour).Format("2006-01-02")})
		left := addItem(s, etid, map[string]any{"title": "Leaves"})
		move(s, etid, kept, "PREPARATION")
		move(s, etid, left, "PREPARATION")
		waitStatuses(t, s, etid, kept, "later:queued eve:waiting")
		if sched := apitest.Str(runs(s, etid, kept)[1], "scheduledTime"); sched == "" {
			t.Errorf("a delayed run says when it is due")
		}
		move(s, etid, left, "CLIENT")
		waitStatuses(t, s, etid, left, "later:cancelled eve:cancelled")

		clk.Advance(2*time.Hour + time.Minute)
		waitStatuses(t, s, etid, kept, "later:done eve:queued")
		// "eve" is due a day before the close date, three days on: not yet.
		clk.Advance(24 * time.Hour)
		if got := statuses(s, etid, kept); got != "later:done eve:queued" {
			t.Errorf("before its time: %s", got)
		}
		clk.Advance(48 * time.Hour)
		waitStatuses(t, s, etid, kept, "later:done eve:done")
		if got := statuses(s, etid, left); got != "later:cancelled eve:cancelled" {
			t.Errorf("a cancelled run stays cancelled: %s", got)
		}
	})
}

// A receiver that fails twice gets one successful delivery; the three calls carry the
// same key. A 4xx answer fails the run at once, and retry runs it again.
func TestWebhookRetriesDeliverOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		rcv := newReceiver(t)
		rcv.fail = 2
		etid := newProcess(s, "Payroll", nil)
		setAutomation(s, etid, map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "pay", "type": "webhook", "params": map[string]any{"url": rcv.URL + "/pay"}},
			map[string]any{"id": "gone", "type": "webhook", "params": map[string]any{"url": rcv.URL + "/gone?{{id}}",
				"headers": map[string]any{"X-Item": "{{id}}"}}},
		}}})
		id := addItem(s, etid, map[string]any{"title": "March"})
		move(s, etid, id, "PREPARATION")
		waitStatuses(t, s, etid, id, "pay:done gone:done")
		var pay []call
		for _, c := range rcv.Calls() {
			if c.path == "/pay" {
				pay = append(pay, c)
			}
		}
		ok := 0
		for _, c := range pay {
			if c.status == 200 {
				ok++
			}
			if c.key != pay[0].key {
				t.Errorf("retries carry one key: %q and %q", pay[0].key, c.key)
			}
		}
		if len(pay) != 3 || ok != 1 {
			t.Fatalf("calls: %+v", pay)
		}
		if r := runs(s, etid, id)[1]; apitest.Int(r, "attempts") != 3 {
			t.Errorf("attempts: %v", r)
		}
	})
}

// Round-robin gives items to each user in turn, fairly even when many enter the stage
// at once.
func TestRoundRobinIsFairUnderConcurrency(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		users := addUsers(t, s, "Ivan", "Olga", "Petr")
		etid := newProcess(s, "Service requests", nil)
		setAutomation(s, etid, map[string]any{stage(etid, "NEW"): map[string]any{"robots": []any{
			map[string]any{"id": "assign", "type": "responsible", "params": map[string]any{"users": []any{users[0], users[1], users[2]}}},
		}}})
		const n = 30
		ids := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ids[i] = addItem(s, etid, map[string]any{"title": fmt.Sprintf("Request %d", i)})
			}()
		}
		wg.Wait()
		count := map[int64]int{}
		eventually(t, "every request assigned", 20*time.Second, func() (bool, string) {
			count = map[int64]int{}
			for _, id := range ids {
				count[apitest.Int(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}), "item.assignedById")]++
			}
			return count[users[0]]+count[users[1]]+count[users[2]] == n, fmt.Sprint(count)
		})
		for _, u := range users {
			if count[u] != n/3 {
				t.Fatalf("assignments %v: not %d each", count, n/3)
			}
		}
	})
}

// A robot that moves the item to a stage whose robot moves it back is cut after ten
// automated steps, with an entry on the item's timeline saying so.
func TestLoopIsCut(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		etid := newProcess(s, "Ping-pong", nil)
		setAutomation(s, etid, map[string]any{
			stage(etid, "PREPARATION"): map[string]any{"robots": []any{
				map[string]any{"id": "to-client", "type": "stage", "params": map[string]any{"stageId": stage(etid, "CLIENT")}}}},
			stage(etid, "CLIENT"): map[string]any{"robots": []any{
				map[string]any{"id": "to-prep", "type": "stage", "params": map[string]any{"stageId": stage(etid, "PREPARATION")}}}},
		})
		id := addItem(s, etid, map[string]any{"title": "Ball"})
		move(s, etid, id, "PREPARATION")
		eventually(t, "the loop cut", 20*time.Second, func() (bool, string) {
			got := strings.Join(automationEntries(s, etid, id), " ")
			return strings.Contains(got, "loopCut"), got + " / runs: " + statuses(s, etid, id)
		})
		if n := len(runs(s, etid, id)); n != 10 {
			t.Errorf("%d runs before the cut, want 10", n)
		}
	})
}
