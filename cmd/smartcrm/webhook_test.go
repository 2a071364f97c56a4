package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"smartcrm/internal/app"
	"smartcrm/internal/testdb"
)

// `webhook list` shows every webhook's id, user, title and creation, never a secret
// (only hashes are stored), and says how to get a usable URL. On a database no server
// has started on it creates nothing.
func TestWebhookList(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		cfg := app.Config{DB: testdb.DSN(t, dialect), DataDir: t.TempDir(), AdminToken: "admin-secret-token"}
		db := []string{"--db", cfg.DB, "--data-dir", cfg.DataDir}

		var out bytes.Buffer
		if err := webhook(append([]string{"list"}, db...), &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "No webhooks yet") {
			t.Errorf("an empty database: %q", out.String())
		}
		a, err := app.Open(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if a.AdminWebhook != "admin-secret-token" {
			t.Fatalf("listing must not create the first-start webhook; the first start got %q", a.AdminWebhook)
		}
		a.Close()

		var created bytes.Buffer
		if err := webhook(append([]string{"create", "--user", "1", "--title", "Website form"}, db...), &created); err != nil {
			t.Fatal(err)
		}
		out.Reset()
		if err := webhook(append([]string{"list"}, db...), &out); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		lines := strings.Split(text, "\n")
		if len(lines) < 3 || strings.Join(strings.Fields(lines[0]), " ") != "ID USER TITLE CREATED" ||
			!strings.HasPrefix(strings.Join(strings.Fields(lines[1]), " "), "1 1 Administrator 20") ||
			!strings.HasPrefix(strings.Join(strings.Fields(lines[2]), " "), "2 1 Website form 20") {
			t.Errorf("webhook list:\n%s", text)
		}
		url := strings.TrimSuffix(strings.TrimSpace(created.String()), "/")
		secret := url[strings.LastIndex(url, "/")+1:]
		if len(secret) < 16 {
			t.Fatalf("webhook create printed %q", created.String())
		}
		for _, s := range []string{"admin-secret-token", secret} {
			if s == "" || strings.Contains(text, s) {
				t.Errorf("the list shows a secret (%q):\n%s", s, text)
			}
		}
		if !strings.Contains(text, "SHA-256") || !strings.Contains(text, "smartcrm webhook create --user N") {
			t.Errorf("the list does not say why there are no URLs and how to get one:\n%s", text)
		}
	})
}
