package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"smartcrm/internal/app"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// `user add` makes a person who signs in (a generated password is printed once), a
// taken login is refused, and `user password` sets a new password. On a fresh database
// the administrator's generated password is printed too.
func TestUserAdd(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		cfg := app.Config{DB: testdb.DSN(t, dialect), DataDir: t.TempDir()}
		db := []string{"--db", cfg.DB, "--data-dir", cfg.DataDir}
		var out bytes.Buffer
		if err := user(append([]string{"add", "--login", "lawyer", "--name", "Lena", "--email", "lena@example.com"}, db...), &out); err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if !strings.Contains(text, "administrator signs in as admin with the password ") || !strings.Contains(text, "User 2 added: Lena signs in as lawyer with the password ") {
			t.Errorf("user add printed:\n%s", text)
		}
		pw := strings.Fields(text[strings.LastIndex(text, "with the password ")+len("with the password "):])[0]
		a, err := app.Open(context.Background(), cfg, discardLog())
		if err != nil {
			t.Fatal(err)
		}
		a.Accounts.Cost = 4
		if _, err := a.Accounts.SignIn(context.Background(), "127.0.0.1:1", "lawyer", pw); err != nil {
			t.Errorf("signing in with the printed password: %v", err)
		}
		a.Close()
		if err := user(append([]string{"add", "--login", "lawyer", "--name", "Other", "--email", "o@example.com"}, db...), &out); err == nil {
			t.Errorf("a taken login was accepted")
		}
		out.Reset()
		if err := user(append([]string{"password", "--login", "lawyer", "--password", "new-secret-9"}, db...), &out); err != nil {
			t.Fatal(err)
		}
		st, err := store.Open(context.Background(), cfg.DB)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		acc, err := st.AccountByLogin(context.Background(), "lawyer")
		if err != nil || acc.Name != "Lena" || acc.Email != "lena@example.com" || acc.PasswordHash == "" {
			t.Errorf("stored user: %+v %v", acc, err)
		}
	})
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
