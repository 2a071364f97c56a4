package rest_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// addUser stores a user (there is no REST method that adds one) and returns its id.
func addUser(t *testing.T, s *apitest.Server, u *store.UserRecord) int64 {
	t.Helper()
	ctx := context.Background()
	if err := s.App.Store.InTx(ctx, func(tx *store.Tx) error { return tx.InsertUser(ctx, u) }); err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// A caller cannot tell a secret that exists (used with another user's id) from one that
// does not: both get the same status and the same bytes, so guessing secrets teaches
// nothing about which ones are real.
func TestBadCredentialsAnswerAlike(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		// User 2 exists, so that "the admin's secret with user 2" is a real user with a
		// secret that is not theirs, not a missing user.
		addUser(t, s, &store.UserRecord{Name: "Second", Active: true})
		paths := []string{
			"/rest/1/wrong-secret/crm.type.list",           // no such secret
			"/rest/2/" + apitest.Secret + "/crm.type.list", // the admin's secret, user 2's id
			"/rest/3/" + apitest.Secret + "/crm.type.list", // the admin's secret, no such user
		}
		var first []byte
		for i, p := range paths {
			r := s.Do(http.MethodGet, s.HTTP.URL+p, "", nil)
			code, desc := r.Error()
			if r.Status != http.StatusUnauthorized || code != "NO_AUTH_FOUND" || desc != "Wrong authorization data" {
				t.Errorf("%s: want 401 NO_AUTH_FOUND \"Wrong authorization data\", got %d %s", p, r.Status, r.Raw)
			}
			if i == 0 {
				first = r.Raw
			} else if !bytes.Equal(r.Raw, first) {
				t.Errorf("%s answers differently from a wrong secret:\n%s\n%s", p, r.Raw, first)
			}
		}
	})
}
