package app

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// serve runs a.Serve until the test ends and returns the API and metrics addresses.
func serve(t *testing.T, a *App) (api, metrics string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan [2]string, 1)
	done := make(chan error, 1)
	go func() {
		done <- a.Serve(ctx, func(addr string) { addrs <- [2]string{addr, a.MetricsAddr} })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("Serve did not return after its context ended")
		}
	})
	select {
	case got := <-addrs:
		return got[0], got[1]
	case err := <-done:
		t.Fatalf("Serve returned before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("Serve did not start listening")
	}
	return "", ""
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func openApp(t *testing.T, dialect string, cfg Config) *App {
	t.Helper()
	cfg.DB = testdb.DSN(t, dialect)
	cfg.DataDir = t.TempDir()
	cfg.AdminToken = "metrics-test-token"
	a, err := Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// Metrics answer without authentication, so they are served on a listener of their own
// (loopback by default), never on the API port; "off" serves none.
func TestMetricsListener(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		a := openApp(t, dialect, Config{Addr: "127.0.0.1:0", MetricsAddr: "127.0.0.1:0"})
		api, metrics := serve(t, a)
		if metrics == "" || metrics == api {
			t.Fatalf("metrics address %q (API %q)", metrics, api)
		}
		if code, body := get(t, "http://"+api+"/rest/1/metrics-test-token/crm.type.list"); code != 200 {
			t.Fatalf("API call: %d %s", code, body)
		}
		if code, _ := get(t, "http://"+api+"/metrics"); code != http.StatusNotFound {
			t.Errorf("the API port answers /metrics with %d, want 404", code)
		}
		code, body := get(t, "http://"+metrics+"/metrics")
		if code != 200 || !strings.Contains(body, `smartcrm_rest_requests_total{method="crm.type.list",status="200"} 1`) {
			t.Errorf("metrics listener: %d, crm.type.list not counted:\n%.500s", code, body)
		}
		if code, _ := get(t, "http://"+metrics+"/rest/1/metrics-test-token/crm.type.list"); code != http.StatusNotFound {
			t.Errorf("the metrics port serves the API: %d", code)
		}
	})
	testdb.Each(t, func(t *testing.T, dialect string) {
		a := openApp(t, dialect, Config{Addr: "127.0.0.1:0", MetricsAddr: "off"})
		api, metrics := serve(t, a)
		if metrics != "" {
			t.Errorf("metrics off, yet listening on %s", metrics)
		}
		if code, _ := get(t, "http://"+api+"/metrics"); code != http.StatusNotFound {
			t.Errorf("metrics off: the API port answers /metrics with %d", code)
		}
	})
}

// A metrics port that is taken is logged, and the API starts all the same.
func TestMetricsPortTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	a := openApp(t, store.SQLite, Config{Addr: "127.0.0.1:0", MetricsAddr: taken.Addr().String()})
	api, metrics := serve(t, a)
	if metrics != "" {
		t.Errorf("metrics listening on %q, a taken address", metrics)
	}
	if code, _ := get(t, "http://"+api+"/healthz"); code != 200 {
		t.Errorf("healthz: %d", code)
	}
}

// The metrics address defaults to loopback; the flag and the environment set it.
func TestMetricsAddrConfig(t *testing.T) {
	parse := func(args ...string) Config {
		var c Config
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		c.Flags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return c
	}
	t.Setenv("SMARTCRM_METRICS_ADDR", "")
	if c := parse(); c.MetricsAddr != "127.0.0.1:9090" || c.metricsOff() {
		t.Errorf("default: %q", c.MetricsAddr)
	}
	if c := parse("--metrics-addr", "off"); !c.metricsOff() {
		t.Errorf("--metrics-addr off: %q", c.MetricsAddr)
	}
	t.Setenv("SMARTCRM_METRICS_ADDR", "127.0.0.1:9999")
	if c := parse(); c.MetricsAddr != "127.0.0.1:9999" {
		t.Errorf("from the environment: %q", c.MetricsAddr)
	}
}
