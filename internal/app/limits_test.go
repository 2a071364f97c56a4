package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/app"
	"smartcrm/internal/testdb"
)

const secret = "app-test-secret"

// start runs the whole application on a fresh database, as `smartcrm serve` does.
func start(t *testing.T, dialect string, cfg app.Config) *httptest.Server {
	t.Helper()
	cfg.DB, cfg.DataDir, cfg.AdminToken = testdb.DSN(t, dialect), t.TempDir(), secret
	a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("opening the app: %v", err)
	}
	// The metrics have a listener of their own in a running server; the tests read them
	// beside the API.
	api, metrics := a.Handler(), a.MetricsHandler()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			metrics.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		a.Close()
	})
	return hs
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type answer struct {
	status int
	body   map[string]any
	raw    []byte
}

func do(t *testing.T, method, url, body string) answer {
	t.Helper()
	a, err := send(method, url, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return a
}

// send is do for other goroutines than the test's, which must not call t.Fatal.
func send(method, url, body string) (answer, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return answer{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	a.raw, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(a.raw, &a.body)
	return a, nil
}

// Doubled slashes, which clients that join URLs produce, reach the API as they are:
// http.ServeMux would clean the path and answer 301, and a redirected POST loses its
// body.
func TestRESTPathsWithDoubledSlashes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		hs := start(t, dialect, app.Config{})
		for i, path := range []string{
			"/rest//1/" + secret + "/crm.type.add",
			"/rest/1//" + secret + "/crm.type.add",
			"/rest/1/" + secret + "//crm.type.add.json",
			"//rest/1/" + secret + "/crm.type.add/",
		} {
			title := "Type " + string(rune('A'+i))
			a := do(t, http.MethodPost, hs.URL+path, `{"fields":{"title":"`+title+`"}}`)
			res, _ := a.body["result"].(map[string]any)
			typ, _ := res["type"].(map[string]any)
			if a.status != http.StatusOK || typ["title"] != title {
				t.Errorf("POST %s: %d %.300s", path, a.status, a.raw)
			}
		}
		a := do(t, http.MethodGet, hs.URL+"/rest//1/"+secret+"/crm.type.list?order[id]=DESC", "")
		if a.status != http.StatusOK || a.body["total"] != float64(4) {
			t.Errorf("GET with a doubled slash: %d %.300s", a.status, a.raw)
		}
		// Paths that name no webhook answer in the API's envelope, not with a redirect.
		for _, path := range []string{"/rest", "/rest//", "/rest/1//crm.type.list"} {
			if a := do(t, http.MethodGet, hs.URL+path, ""); a.status != http.StatusUnauthorized || a.body["error"] != "NO_AUTH_FOUND" {
				t.Errorf("GET %s: %d %.300s", path, a.status, a.raw)
			}
		}
		// The other routes are the mux's as before.
		if a := do(t, http.MethodGet, hs.URL+"/healthz", ""); a.status != http.StatusOK {
			t.Errorf("healthz: %d %s", a.status, a.raw)
		}
	})
}

// waitForMetric reads one series of /metrics, polling until want(value) holds.
func waitForMetric(t *testing.T, hs *httptest.Server, name string, want func(float64) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last := "absent"
	for {
		a := do(t, http.MethodGet, hs.URL+"/metrics", "")
		for _, line := range strings.Split(string(a.raw), "\n") {
			if v, ok := strings.CutPrefix(line, name+" "); ok {
				last = v
				if f, err := strconv.ParseFloat(v, 64); err == nil && want(f) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed %s", name, last)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// heldBody starts a POST whose body of the declared size arrives only when the
// returned function is called: the server holds its reservation meanwhile.
func heldBody(t *testing.T, url string, head string, size int) (finish func() answer) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(size)
	req.Header.Set("Content-Type", "application/json")
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answers <- answer{raw: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		a := answer{status: resp.StatusCode}
		a.raw, _ = io.ReadAll(resp.Body)
		_ = json.Unmarshal(a.raw, &a.body)
		answers <- a
	}()
	go func() { _, _ = pw.Write([]byte(head)) }() // the first bytes, then nothing
	return func() answer {
		rest := `"` + strings.Repeat("x", size-len(head)-3) + `"}`
		if _, err := pw.Write([]byte(rest)); err != nil {
			t.Errorf("sending the rest of the body: %v", err)
		}
		pw.Close()
		return <-answers
	}
}

// bigItemHead begins a crm.item.add body for a contact, padded in an ignored parameter.
func bigItemHead(title string) string {
	return `{"entityTypeId":3,"fields":{"NAME":"` + title + `"},"pad":`
}

// bigItem is a whole such body of exactly size bytes.
func bigItem(title string, size int) string {
	head := bigItemHead(title)
	return head + `"` + strings.Repeat("x", size-len(head)-3) + `"}`
}

// Request bodies reserve their size in a budget before they are read: with a budget of
// 1 MB and one 600 KB body in progress, a second 600 KB body waits (and is refused with
// 503 QUERY_LIMIT_EXCEEDED once it has waited too long), a small call still runs, and
// the waiting body goes ahead as soon as the first is done.
func TestBodyMemoryBudget(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		const budget, size = 1 << 20, 600 << 10
		base := "/rest/1/" + secret + "/"
		contacts := func(hs *httptest.Server) float64 {
			a := do(t, http.MethodPost, hs.URL+base+"crm.item.list", `{"entityTypeId":3}`)
			n, _ := a.body["total"].(float64)
			return n
		}

		hs := start(t, dialect, app.Config{MaxBodyMemory: budget, BodyMemoryWait: time.Hour})
		finishFirst := heldBody(t, hs.URL+base+"crm.item.add", bigItemHead("First"), size)
		waitForMetric(t, hs, "smartcrm_rest_body_bytes_in_flight", func(v float64) bool { return v == size })
		second := make(chan answer, 1)
		go func() {
			a, err := send(http.MethodPost, hs.URL+base+"crm.item.add", bigItem("Second", size))
			if err != nil {
				a.raw = []byte(err.Error())
			}
			second <- a
		}()
		waitForMetric(t, hs, "smartcrm_rest_body_waiting", func(v float64) bool { return v == 1 })
		// A small call fits beside the first body and does not queue behind the second.
		if a := do(t, http.MethodPost, hs.URL+base+"crm.item.add", `{"entityTypeId":3,"fields":{"NAME":"Small"}}`); a.status != http.StatusOK {
			t.Fatalf("small call while a large one waits: %d %.300s", a.status, a.raw)
		}
		if a := finishFirst(); a.status != http.StatusOK {
			t.Fatalf("first body: %d %.300s", a.status, a.raw)
		}
		if a := <-second; a.status != http.StatusOK {
			t.Fatalf("second body: %d %.300s", a.status, a.raw)
		}
		waitForMetric(t, hs, "smartcrm_rest_body_bytes_in_flight", func(v float64) bool { return v == 0 })
		if n := contacts(hs); n != 3 {
			t.Errorf("%v contacts, want 3", n)
		}

		// With a short wait the second body is refused, and changes nothing.
		hs = start(t, dialect, app.Config{MaxBodyMemory: budget, BodyMemoryWait: 20 * time.Millisecond})
		finishFirst = heldBody(t, hs.URL+base+"crm.item.add", bigItemHead("First"), size)
		waitForMetric(t, hs, "smartcrm_rest_body_bytes_in_flight", func(v float64) bool { return v == size })
		a := do(t, http.MethodPost, hs.URL+base+"crm.item.add", bigItem("Refused", size))
		if a.status != http.StatusServiceUnavailable || a.body["error"] != "QUERY_LIMIT_EXCEEDED" || a.body["error_description"] == "" {
			t.Errorf("second body past the wait: %d %.300s", a.status, a.raw)
		}
		if a := finishFirst(); a.status != http.StatusOK {
			t.Fatalf("first body: %d %.300s", a.status, a.raw)
		}
		if n := contacts(hs); n != 1 {
			t.Errorf("%v contacts after a refused body, want 1", n)
		}
	})
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"134217728": 128 << 20, "128M": 128 << 20, "128MB": 128 << 20, "128 mb": 128 << 20,
		"1GiB": 1 << 30, "64k": 64 << 10, "0": 0, "5B": 5} {
		if got, err := app.ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "MB", "-1M", "1.5G", "12X", "1iB", "99999999999G"} {
		if _, err := app.ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}
