package automation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/serverproc"
	"smartcrm/internal/testdb"
)

// client calls a server run as a child process.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *client) call(method string, params any) (any, error) {
	b, _ := json.Marshal(params)
	resp, err := c.http.Post(c.base+method, "application/json", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: %d %s", method, resp.StatusCode, raw)
	}
	return body["result"], nil
}

func (c *client) must(method string, params any) any {
	c.t.Helper()
	res, err := c.call(method, params)
	if err != nil {
		c.t.Fatal(err)
	}
	return res
}

// The real binary under load, killed with SIGKILL and restarted: every acknowledged
// move's robots end done, no internal effect happens twice, and a webhook is called
// twice only for a run in flight at the kill, with the same key.
func TestKilledServerLosesAndDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the real server")
	}
	bin := filepath.Join(t.TempDir(), "smartcrm")
	if err := serverproc.Build(context.Background(), bin); err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, dialect string) {
		db := testdb.DSN(t, dialect)
		args := []string{"--db", db, "--data-dir", t.TempDir(), "--robot-timeout", "1s"}
		env := []string{"SMARTCRM_ADMIN_TOKEN=" + apitest.Secret}
		p, err := serverproc.Start(context.Background(), bin, args, env)
		if err != nil {
			t.Fatal(err)
		}
		c := &client{t: t, base: "http://" + p.Addr + "/rest/1/" + apitest.Secret + "/", http: &http.Client{Timeout: 10 * time.Second}}

		var mu sync.Mutex
		calls := map[string][]time.Time{} // by idempotency key
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			calls[r.Header.Get("Idempotency-Key")] = append(calls[r.Header.Get("Idempotency-Key")], time.Now())
			mu.Unlock()
		}))
		defer rcv.Close()

		etid := apitest.Int(c.must("crm.type.add", map[string]any{"fields": map[string]any{
			"title": "Visits", "isStagesEnabled": "Y", "isAutomationEnabled": "Y"}}), "type.entityTypeId")
		prep := stage(etid, "PREPARATION")
		c.must("smartcrm.automation.set", map[string]any{"automation": map[string]any{"entityTypeId": etid, "categoryId": 1, "version": 0,
			"stages": map[string]any{prep: map[string]any{"robots": []any{
				map[string]any{"id": "note", "type": "comment", "params": map[string]any{"text": "visit {{id}} booked"}},
				map[string]any{"id": "hook", "type": "webhook", "parallel": true, "params": map[string]any{"url": rcv.URL + "/visit", "body": "{{id}}"}},
			}}}}})

		// Load: create and move items until enough moves were acknowledged, then kill
		// the server while the load goes on.
		var acked sync.Map // item id → true
		var nAcked atomic.Int64
		killed := make(chan struct{})
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-killed:
						return
					default:
					}
					res, err := c.call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": "visit"}})
					if err != nil {
						return
					}
					id := apitest.Int(res, "item.id")
					if _, err := c.call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"stageId": prep}}); err != nil {
						return
					}
					acked.Store(id, true)
					nAcked.Add(1)
				}
			}()
		}
		eventually(t, "moves acknowledged before the kill", 60*time.Second, func() (bool, string) {
			return nAcked.Load() >= 150, fmt.Sprint(nAcked.Load())
		})
		p.Kill()
		killedAt := time.Now()
		close(killed)
		wg.Wait()

		p, err = serverproc.Start(context.Background(), bin, args, env)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = p.Stop(30 * time.Second) }()
		c.base = "http://" + p.Addr + "/rest/1/" + apitest.Secret + "/"

		// Every run ends; PostgreSQL hands back the jobs a dead process held after
		// their timeout, so allow for it.
		eventually(t, "every run finished after the restart", 150*time.Second, func() (bool, string) {
			for _, st := range []string{"queued", "waiting", "running"} {
				res, err := c.call("smartcrm.automation.runs", map[string]any{"entityTypeId": etid, "status": st, "limit": 1})
				if err != nil {
					return false, err.Error()
				}
				if list, _ := apitest.Path(res, "runs").([]any); len(list) > 0 {
					return false, st + ": " + fmt.Sprint(list[0])
				}
			}
			return true, ""
		})
		byItem := map[int64]map[string]string{}
		cursor := any(nil)
		for {
			res := c.must("smartcrm.automation.runs", map[string]any{"entityTypeId": etid, "cursor": cursor})
			list, _ := apitest.Path(res, "runs").([]any)
			for _, r := range list {
				id := apitest.Int(r, "itemId")
				if byItem[id] == nil {
					byItem[id] = map[string]string{}
				}
				if prev := byItem[id][apitest.Str(r, "robot.id")]; prev != "" {
					t.Errorf("item %d entered its stage once but has two %s runs", id, apitest.Str(r, "robot.id"))
				}
				byItem[id][apitest.Str(r, "robot.id")] = apitest.Str(r, "status")
			}
			if cursor = apitest.Path(res, "cursor"); cursor == nil {
				break
			}
		}
		lost := 0
		acked.Range(func(k, _ any) bool {
			id := k.(int64)
			if byItem[id]["note"] != "done" || byItem[id]["hook"] != "done" {
				lost++
				t.Errorf("item %d: acknowledged move, runs %v", id, byItem[id])
			}
			return true
		})
		// Internal effects: one comment per entry, never two.
		for id := range byItem {
			comments := c.must("crm.timeline.comment.list", map[string]any{"filter": map[string]any{
				"ENTITY_TYPE": fmt.Sprintf("dynamic_%d", etid), "ENTITY_ID": id}}).([]any)
			if len(comments) != 1 {
				t.Errorf("item %d has %d robot comments", id, len(comments))
			}
		}
		// Webhooks: one call per run, more only for a run in flight at the kill.
		mu.Lock()
		defer mu.Unlock()
		dup := 0
		for key, at := range calls {
			if len(at) > 1 {
				dup++
				if at[0].After(killedAt) {
					t.Errorf("key %s called %d times, the first after the kill", key, len(at))
				}
			}
		}
		if len(calls) != len(byItem) {
			t.Errorf("%d webhook keys for %d entries", len(calls), len(byItem))
		}
		t.Logf("%s: %d moves acknowledged before the kill, %d entries, %d lost, %d webhook calls repeated after the kill",
			dialect, nAcked.Load(), len(byItem), lost, dup)
	})
}
