package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcrm/internal/app"
	"smartcrm/internal/files"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A download link works; `smartcrm keys rotate` (another process, on the same database)
// replaces the key; within files.KeyRefresh the running server refuses that link and
// serves a newly signed one. A link forged with the right key but an expiry beyond
// files.MaxLinkAge is refused.
func TestKeysRotate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		cfg := app.Config{DB: testdb.DSN(t, dialect), DataDir: t.TempDir(), AdminToken: "tok"}
		a, err := app.Open(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		clk := &clock{t: time.Now()}
		a.CRM.Files.Now = clk.Now
		srv := httptest.NewServer(a.Handler())
		defer srv.Close()
		a.CRM.Files.SetPublicURL(srv.URL)

		content := []byte("signed contract\n")
		hash, err := a.CRM.Files.Save(content)
		if err != nil {
			t.Fatal(err)
		}
		rec := &store.FileRecord{EntityTypeID: 2, ItemID: 1, FieldName: "UF_CRM_CONTRACT", Name: "contract.txt", Size: int64(len(content)), SHA256: hash}
		if err := a.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertFile(ctx, rec) }); err != nil {
			t.Fatal(err)
		}
		get := func(link string) (int, string) {
			resp, err := http.Get(link)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}

		old := a.CRM.Files.Link(rec.ID)
		if code, body := get(old); code != 200 || body != string(content) {
			t.Fatalf("before rotation: %d %q", code, body)
		}

		var out strings.Builder
		if err := keys([]string{"rotate", "--db", cfg.DB}, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "replaced") {
			t.Errorf("keys rotate printed %q", out.String())
		}
		clk.Advance(files.KeyRefresh)
		if code, _ := get(old); code != http.StatusForbidden {
			t.Errorf("a link signed with the old key after rotation: %d, want 403", code)
		}
		if code, body := get(a.CRM.Files.Link(rec.ID)); code != 200 || body != string(content) {
			t.Errorf("a link signed after rotation: %d %q", code, body)
		}

		// Links forged with the right key: within the 24-hour cap one works (so the
		// forging is right), beyond it one is refused however valid its signature.
		key, err := a.Store.CurrentSigningKey(ctx)
		if err != nil {
			t.Fatal(err)
		}
		forge := func(ahead time.Duration) string {
			expires := clk.Now().Add(ahead).Unix()
			m := hmac.New(sha256.New, key)
			fmt.Fprintf(m, "%d|%d", rec.ID, expires)
			return fmt.Sprintf("%s/files/%d?expires=%d&token=%s", srv.URL, rec.ID, expires, hex.EncodeToString(m.Sum(nil)))
		}
		if code, _ := get(forge(time.Hour)); code != 200 {
			t.Errorf("a link signed with the current key, an hour ahead: %d", code)
		}
		if code, _ := get(forge(files.MaxLinkAge + time.Minute)); code != http.StatusForbidden {
			t.Errorf("a link expiring beyond the cap: %d, want 403", code)
		}
		if code, _ := get(forge(10 * 365 * 24 * time.Hour)); code != http.StatusForbidden {
			t.Errorf("a link expiring in ten years: %d, want 403", code)
		}

		if err := keys([]string{"spin"}, io.Discard); err == nil {
			t.Errorf("keys with an unknown subcommand succeeded")
		}
	})
}
