package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

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
	hs := httptest.NewServer(a.Handler())
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
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode}
	a.raw, _ = io.ReadAll(resp.Body)
	_ = json.Unmarshal(a.raw, &a.body)
	return a
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
