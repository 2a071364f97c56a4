// Package apitest runs a whole server in-process on a fresh database and calls it over
// real HTTP, the way integrations do.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/app"
	"smartcrm/internal/testdb"
)

// Secret is the administrator's webhook secret in tests.
const Secret = "test-secret-1"

// Server is a running test server.
type Server struct {
	T    testing.TB
	App  *app.App
	HTTP *httptest.Server
	// Base is the administrator's webhook base URL, ending in "/".
	Base string
}

// Start runs a server on a fresh database of the given dialect.
func Start(t testing.TB, dialect string) *Server {
	t.Helper()
	return StartWith(t, dialect, nil)
}

// StartWith is Start with the configuration adjusted by configure first (a clock, an
// SMTP server for robots).
func StartWith(t testing.TB, dialect string, configure func(*app.Config)) *Server {
	t.Helper()
	cfg := app.Config{DB: testdb.DSN(t, dialect), DataDir: t.TempDir(), AdminToken: Secret}
	if configure != nil {
		configure(&cfg)
	}
	log := slog.New(slog.NewTextHandler(testLogOutput(), nil))
	a, err := app.Open(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("starting the app: %v", err)
	}
	hs := httptest.NewServer(a.Handler())
	a.SetPublicURL(hs.URL)
	t.Cleanup(func() {
		hs.Close()
		a.Close()
	})
	return &Server{T: t, App: a, HTTP: hs, Base: hs.URL + "/rest/1/" + Secret + "/"}
}

// Response is a decoded answer.
type Response struct {
	Status int
	Body   map[string]any
	Raw    []byte
}

// Result returns body["result"].
func (r *Response) Result() any { return r.Body["result"] }

// Error returns the error code (string or number as written) and description.
func (r *Response) Error() (any, string) {
	d, _ := r.Body["error_description"].(string)
	return r.Body["error"], d
}

// Call POSTs params as JSON to a method and decodes the answer.
func (s *Server) Call(method string, params any) *Response {
	s.T.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		s.T.Fatalf("encoding params: %v", err)
	}
	return s.Do(http.MethodPost, s.Base+method, "application/json", b)
}

// Form POSTs url-encoded params to a method.
func (s *Server) Form(method string, values url.Values) *Response {
	s.T.Helper()
	return s.Do(http.MethodPost, s.Base+method, "application/x-www-form-urlencoded", []byte(values.Encode()))
}

// Get calls a method with a raw query string.
func (s *Server) Get(method, rawQuery string) *Response {
	s.T.Helper()
	return s.Do(http.MethodGet, s.Base+method+"?"+rawQuery, "", nil)
}

// Do sends any request and decodes the JSON answer.
func (s *Server) Do(httpMethod, u, contentType string, body []byte) *Response {
	s.T.Helper()
	req, err := http.NewRequest(httpMethod, u, bytes.NewReader(body))
	if err != nil {
		s.T.Fatalf("request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatalf("%s %s: %v", httpMethod, u, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &Response{Status: resp.StatusCode, Raw: raw}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&r.Body); err != nil {
		s.T.Fatalf("%s %s: answer is not a JSON object (%d): %s", httpMethod, u, resp.StatusCode, truncate(raw))
	}
	return r
}

func truncate(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// MustOK fails the test unless the call succeeded, and returns its result.
func (s *Server) MustOK(method string, params any) any {
	s.T.Helper()
	r := s.Call(method, params)
	if r.Status != http.StatusOK || r.Body["error"] != nil {
		s.T.Fatalf("%s: status %d: %s", method, r.Status, truncate(r.Raw))
	}
	return r.Result()
}

// MustFail fails the test unless the call failed with the given HTTP status and error
// code (compared as text, so 0 and "0" differ only in ExpectNumeric).
func (s *Server) MustFail(method string, params any, status int, code string) *Response {
	s.T.Helper()
	r := s.Call(method, params)
	got, _ := r.Error()
	if r.Status != status || fmt.Sprint(got) != code {
		s.T.Fatalf("%s: want %d %s, got %d: %s", method, status, code, r.Status, truncate(r.Raw))
	}
	return r
}

// Path walks a decoded JSON value by object keys and list indexes ("item.id",
// "items.0.title"); "" is the value itself.
func Path(v any, path string) any {
	if path == "" {
		return v
	}
	for _, seg := range strings.Split(path, ".") {
		switch t := v.(type) {
		case map[string]any:
			v = t[seg]
		case []any:
			var i int
			if _, err := fmt.Sscan(seg, &i); err != nil || i < 0 || i >= len(t) {
				return nil
			}
			v = t[i]
		default:
			return nil
		}
	}
	return v
}

// Int reads a JSON number at path.
func Int(v any, path string) int64 {
	n, _ := Path(v, path).(json.Number)
	i, _ := n.Int64()
	return i
}

// Str reads a string at path.
func Str(v any, path string) string {
	s, _ := Path(v, path).(string)
	return s
}

// testLogOutput is where the server logs in tests: nowhere, unless SMARTCRM_TEST_LOG is
// set (to see why a call answered 500).
func testLogOutput() io.Writer {
	if os.Getenv("SMARTCRM_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}

// Eventually polls cond until it holds or the deadline passes, failing the test with
// what cond last saw; a passing test returns at once. Tests wait this way, never by
// sleeping.
func Eventually(t testing.TB, what string, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last seen: %s", what, within, state)
		}
		<-tick.C
	}
}
