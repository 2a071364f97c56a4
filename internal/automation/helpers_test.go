package automation_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/app"
	"smartcrm/internal/store"
)

// clock is a time the test moves forward: delays and timeouts come due when it says,
// not after the test waited for them. Between moves it runs with the real clock (the
// job queue stamps some times with the database's).
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newClock() *clock { return &clock{} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// start runs a server whose robots retry after 10 ms.
func start(t *testing.T, dialect string, configure func(*app.Config)) *apitest.Server {
	return apitest.StartWith(t, dialect, func(c *app.Config) {
		c.RobotRetryBase = 10 * time.Millisecond
		if configure != nil {
			configure(c)
		}
	})
}

// newProcess creates a smart process with automation and stages; its default funnel
// is 1, its stages NEW, PREPARATION, CLIENT, SUCCESS, FAIL in that order.
func newProcess(s *apitest.Server, title string, extra map[string]any) int64 {
	s.T.Helper()
	fields := map[string]any{"title": title, "isStagesEnabled": "Y", "isAutomationEnabled": "Y"}
	for k, v := range extra {
		fields[k] = v
	}
	return apitest.Int(s.MustOK("crm.type.add", map[string]any{"fields": fields}), "type.entityTypeId")
}

func stage(etid int64, code string) string { return fmt.Sprintf("DT%d_1:%s", etid, code) }

// setAutomation replaces the automation of a process's default funnel.
func setAutomation(s *apitest.Server, etid int64, stages map[string]any) {
	s.T.Helper()
	version := apitest.Int(s.MustOK("smartcrm.automation.get", map[string]any{"entityTypeId": etid, "categoryId": 1}), "automation.version")
	s.MustOK("smartcrm.automation.set", map[string]any{"automation": map[string]any{
		"entityTypeId": etid, "categoryId": 1, "version": version, "stages": stages}})
}

func addItem(s *apitest.Server, etid int64, fields map[string]any) int64 {
	s.T.Helper()
	return apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": fields}), "item.id")
}

func move(s *apitest.Server, etid, id int64, code string) {
	s.T.Helper()
	s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": stage(etid, code)}})
}

// runs lists an item's runs, newest first.
func runs(s *apitest.Server, etid, id int64) []any {
	s.T.Helper()
	list, _ := apitest.Path(s.MustOK("smartcrm.automation.runs", map[string]any{"entityTypeId": etid, "id": id}), "runs").([]any)
	return list
}

// statuses is "robotId:status" of an item's runs, oldest first.
func statuses(s *apitest.Server, etid, id int64) string {
	list := runs(s, etid, id)
	out := make([]string, len(list))
	for i, r := range list {
		out[len(list)-1-i] = apitest.Str(r, "robot.id") + ":" + apitest.Str(r, "status")
	}
	return strings.Join(out, " ")
}

// eventually polls cond until it holds or the deadline passes. The queue moves delayed
// jobs every 5 s, so deadlines are generous; a passing test returns at once.
var eventually = apitest.Eventually

// waitStatuses waits for an item's runs to read want.
func waitStatuses(t *testing.T, s *apitest.Server, etid, id int64, want string) {
	t.Helper()
	eventually(t, "runs "+want, 20*time.Second, func() (bool, string) {
		got := statuses(s, etid, id)
		return got == want, got
	})
}

// receiver is a webhook robot's far end: it records calls and answers what the test
// scripts.
type receiver struct {
	*httptest.Server
	mu    sync.Mutex
	calls []call
	// fail answers 500 to the first fail calls.
	fail int
	// notFound answers 404 to every call.
	notFound bool
}

type call struct {
	key, body, path string
	status          int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		switch {
		case r.notFound:
			status = http.StatusNotFound
		case r.fail > 0:
			r.fail--
			status = http.StatusInternalServerError
		}
		r.calls = append(r.calls, call{key: req.Header.Get("Idempotency-Key"), body: string(b), path: req.URL.RequestURI(), status: status})
		r.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"received":%q}`, req.URL.Path)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) Calls() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]call(nil), r.calls...)
}

// addUsers creates active users and returns their ids.
func addUsers(t *testing.T, s *apitest.Server, names ...string) []int64 {
	ctx := context.Background()
	var ids []int64
	for _, n := range names {
		u := &store.UserRecord{Name: n, LastName: "Tester", Email: strings.ToLower(n) + "@example.com", Active: true}
		if err := s.App.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	return ids
}

// automationEntries lists an item's automation timeline entries as
// "robotId:status" (or "loopCut"), newest first.
func automationEntries(s *apitest.Server, etid, id int64) []string {
	s.T.Helper()
	res := s.MustOK("smartcrm.timeline.list", map[string]any{"entityTypeId": etid, "id": id})
	entries, _ := apitest.Path(res, "entries").([]any)
	var out []string
	for _, e := range entries {
		if apitest.Str(e, "kind") != "automation" || apitest.Int(e, "entityId") != id {
			continue
		}
		if ev := apitest.Str(e, "data.event"); ev != "run" {
			out = append(out, ev)
			continue
		}
		out = append(out, apitest.Str(e, "data.robotId")+":"+apitest.Str(e, "data.status"))
	}
	return out
}
