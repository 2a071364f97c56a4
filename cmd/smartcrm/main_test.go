package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"smartcrm/internal/app"
	"smartcrm/internal/testdb"
)

// The first start creates the administrator and its webhook from SMARTCRM_ADMIN_TOKEN;
// later starts create nothing; `webhook create` adds a working webhook; the health
// endpoint answers on the API port, the metrics only on their own handler.
func TestBootstrapWebhooksHealthMetrics(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		cfg := app.Config{DB: testdb.DSN(t, dialect), DataDir: t.TempDir(), AdminToken: "first-token"}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		a, err := app.Open(ctx, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		if a.AdminWebhook != "first-token" {
			t.Errorf("first start webhook secret: %q", a.AdminWebhook)
		}
		a.Close()

		cfg.AdminToken = "second-token"
		a, err = app.Open(ctx, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if a.AdminWebhook != "" {
			t.Errorf("a second start made another webhook: %q", a.AdminWebhook)
		}
		users, _ := a.Store.Users(ctx)
		if len(users) != 1 || users[0].ID != 1 || !users[0].IsAdmin {
			t.Fatalf("users after two starts: %+v", users)
		}

		var out bytes.Buffer
		if err := webhook([]string{"create", "--user", "1", "--db", cfg.DB, "--data-dir", cfg.DataDir, "--addr", "crm.example:8080"}, &out); err != nil {
			t.Fatal(err)
		}
		url := strings.TrimSpace(out.String())
		if !strings.HasPrefix(url, "http://crm.example:8080/rest/1/") || len(url) < len("http://crm.example:8080/rest/1/")+16 {
			t.Fatalf("webhook URL: %q", url)
		}
		if err := webhook([]string{"create", "--user", "9", "--db", cfg.DB, "--data-dir", cfg.DataDir}, io.Discard); err == nil {
			t.Errorf("a webhook for a user that does not exist was created")
		}

		srv := httptest.NewServer(a.Handler())
		defer srv.Close()
		metricsSrv := httptest.NewServer(a.MetricsHandler())
		defer metricsSrv.Close()
		getFrom := func(base, path string) (int, string) {
			resp, err := http.Get(base + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		get := func(path string) (int, string) { return getFrom(srv.URL, path) }
		newPath := strings.TrimPrefix(url, "http://crm.example:8080")
		for _, path := range []string{newPath + "crm.type.list", "/rest/1/first-token/crm.type.list"} {
			if code, body := get(path); code != 200 {
				t.Errorf("%s: %d %s", path, code, body)
			}
		}
		if code, _ := get("/rest/1/second-token/crm.type.list"); code != 401 {
			t.Errorf("a token given on a later start must not work: %d", code)
		}
		if code, _ := get("/healthz"); code != 200 {
			t.Errorf("healthz: %d", code)
		}
		if code, _ := get("/metrics"); code != http.StatusNotFound {
			t.Errorf("the API port serves /metrics: %d", code)
		}
		code, metrics := getFrom(metricsSrv.URL, "/metrics")
		for _, want := range []string{
			`smartcrm_rest_requests_total{method="crm.type.list",status="200"} 2`,
			`smartcrm_rest_requests_total{method="crm.type.list",status="401"} 1`,
			"smartcrm_rest_request_duration_seconds_bucket",
			"go_sql_open_connections",
		} {
			if code != 200 || !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
	})
}
