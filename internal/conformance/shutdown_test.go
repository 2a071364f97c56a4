package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"smartcrm/internal/testdb"
)

// SIGTERM in the middle of a stream of writes: the server stops cleanly, and every add
// it acknowledged is in the database when it starts again. Nothing acknowledged is lost.
func TestShutdownKeepsAcknowledgedWrites(t *testing.T) {
	bin := BuildServer(t)
	for _, dialect := range testdb.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dsn := testdb.DSN(t, dialect)
			srv := StartServer(t, bin, dsn)
			call := func(base, method string, params any) (int, map[string]any) {
				body, _ := json.Marshal(params)
				resp, err := http.Post(base+method, "application/json", bytes.NewReader(body))
				if err != nil {
					return 0, nil // the server went away mid-call: not acknowledged
				}
				defer resp.Body.Close()
				var out map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out
			}
			status, out := call(srv.Webhook, "crm.type.add", map[string]any{"fields": map[string]any{"title": "Visits"}})
			if status != 200 {
				t.Fatalf("crm.type.add: %d %v", status, out)
			}
			etid := out["result"].(map[string]any)["type"].(map[string]any)["entityTypeId"]

			var (
				mu    sync.Mutex
				acked []float64
				done  atomic.Int64
				wg    sync.WaitGroup
				stop  = make(chan struct{})
				once  sync.Once
			)
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						status, out := call(srv.Webhook, "crm.item.add", map[string]any{
							"entityTypeId": etid, "fields": map[string]any{"title": fmt.Sprintf("w%d-%d", w, i)},
						})
						if status == 0 {
							return
						}
						if status != 200 {
							continue // refused while shutting down: not acknowledged
						}
						mu.Lock()
						acked = append(acked, out["result"].(map[string]any)["item"].(map[string]any)["id"].(float64))
						mu.Unlock()
						if done.Add(1) == 300 {
							once.Do(func() { go srv.Stop() }) // SIGTERM while writes are in flight
						}
					}
				}(w)
			}
			// Workers end when the server refuses connections; bound their number of
			// attempts by closing stop once the server has gone.
			<-srv.exited
			close(stop)
			wg.Wait()
			if len(acked) < 300 {
				t.Fatalf("only %d adds acknowledged before the stop", len(acked))
			}

			again := StartServer(t, bin, dsn)
			hook := strings.Replace(srv.Webhook, srv.BaseURL, again.BaseURL, 1) // the first token stays valid
			missing := 0
			for _, id := range acked {
				if status, _ := call(hook, "crm.item.get", map[string]any{"entityTypeId": etid, "id": id}); status != 200 {
					missing++
				}
			}
			if missing > 0 {
				t.Errorf("%d of %d acknowledged adds are missing after the restart", missing, len(acked))
			}
		})
	}
}
