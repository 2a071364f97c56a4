// Package testdb gives each test its own database on SQLite and on PostgreSQL, so that
// every storage and API test runs against both and tests never see each other's rows.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"smartcrm/internal/store"
)

// Dialects lists the databases every test runs on.
var Dialects = []string{store.SQLite, store.Postgres}

// PostgresURL is the server tests use; SMARTCRM_TEST_PG overrides it.
func PostgresURL() string {
	if u := os.Getenv("SMARTCRM_TEST_PG"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// DSN returns a connection string for a fresh, empty database of the given dialect: a
// file in the test's temporary directory, or a new PostgreSQL schema dropped when the
// test ends. PostgreSQL being down fails the test: a skipped half of the suite would
// look green and prove nothing.
func DSN(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == store.SQLite {
		return filepath.Join(t.TempDir(), "test.db")
	}
	admin, err := sql.Open("pgx", PostgresURL())
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx := context.Background()
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		t.Fatalf("PostgreSQL is not reachable at %s (%v); start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start", PostgresURL(), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(PostgresURL())
	if err != nil {
		t.Fatalf("parsing the PostgreSQL URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated store on a fresh database, closed when the test ends.
func Open(t testing.TB, dialect string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), DSN(t, dialect))
	if err != nil {
		t.Fatalf("open %s: %v", dialect, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", dialect, err)
	}
	return st
}

// Each runs f as a subtest per dialect.
func Each(t *testing.T, f func(t *testing.T, dialect string)) {
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) { f(t, d) })
	}
}
