package rest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"smartcrm/internal/access"
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

// clock is a time source tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

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

// After access.DefaultFailureLimit failures within a minute an address gets 429 for
// every call, right secret or wrong, until the minute has passed. A success in between
// does not reset the count, and other addresses are not affected.
func TestAuthFailuresThrottled(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		clk := newClock()
		s.App.Auth.Throttle.SetClock(clk.Now)
		good := s.Base + "crm.type.list"
		bad := s.HTTP.URL + "/rest/1/guess/crm.type.list"
		get := func(u string) *apitest.Response { return s.Do(http.MethodGet, u, "", nil) }
		// From another address: the same handler, called in-process with that address.
		from := func(addr, u string) int {
			req := httptest.NewRequest(http.MethodGet, u, nil)
			req.RemoteAddr = addr
			rec := httptest.NewRecorder()
			s.App.Handler().ServeHTTP(rec, req)
			return rec.Code
		}

		for i := 1; i < access.DefaultFailureLimit; i++ {
			if r := get(bad); r.Status != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d %s", i, r.Status, r.Raw)
			}
			clk.Advance(time.Second)
		}
		if r := get(good); r.Status != http.StatusOK {
			t.Fatalf("a right secret before the limit: %d %s", r.Status, r.Raw)
		}
		if r := get(bad); r.Status != http.StatusUnauthorized {
			t.Fatalf("the failure that reaches the limit is still checked: %d %s", r.Status, r.Raw)
		}
		for _, u := range []string{good, bad} {
			r := get(u)
			code, _ := r.Error()
			if r.Status != http.StatusTooManyRequests || code != "QUERY_LIMIT_EXCEEDED" {
				t.Errorf("blocked address, %s: want 429 QUERY_LIMIT_EXCEEDED, got %d %s", u, r.Status, r.Raw)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, good, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if ra := resp.Header.Get("Retry-After"); ra != "60" {
			t.Errorf("Retry-After: %q, want 60", ra)
		}

		// Another address, IPv4 or IPv6, is checked as usual.
		if code := from("192.0.2.7:4000", good); code != http.StatusOK {
			t.Errorf("another address with a right secret: %d", code)
		}
		if code := from("[2001:db8::1]:4000", bad); code != http.StatusUnauthorized {
			t.Errorf("another address with a wrong secret: %d", code)
		}

		// Just before the minute is over the block holds; after it, calls are checked.
		clk.Advance(time.Minute - time.Second)
		if r := get(good); r.Status != http.StatusTooManyRequests {
			t.Errorf("a second before the block ends: %d", r.Status)
		}
		clk.Advance(time.Second)
		if r := get(good); r.Status != http.StatusOK {
			t.Errorf("after the block: %d %s", r.Status, r.Raw)
		}
		if r := get(bad); r.Status != http.StatusUnauthorized {
			t.Errorf("a wrong secret after the block: %d %s", r.Status, r.Raw)
		}
	})
}
