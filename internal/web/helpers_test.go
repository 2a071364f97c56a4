package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"smartcrm/internal/access"
	"smartcrm/internal/apitest"
	"smartcrm/internal/crm"
)

// env is a whole server on a fresh database, signed in to as people are.
type env struct {
	t  testing.TB
	s  *apitest.Server
	pw string // the administrator's password
}

func start(t testing.TB, dialect string) *env {
	t.Helper()
	s := apitest.Start(t, dialect)
	s.App.Accounts.Cost = 4 // bcrypt's minimum: the tests sign in often
	pw, err := s.App.Accounts.SetPassword(context.Background(), access.System, 1, "admin-password-1")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, s: s, pw: pw}
}

var admin = access.Actor{UserID: 1, IsAdmin: true, Origin: access.OriginPerson}

// browser is a signed-in client: a session cookie and the session's CSRF token.
type browser struct {
	e      *env
	cookie *http.Cookie
	csrf   string
	c      *http.Client
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// signIn posts the sign-in form and keeps the session.
func (e *env) signIn(login, password string) *browser {
	e.t.Helper()
	b := &browser{e: e, c: &http.Client{CheckRedirect: noRedirect}}
	resp := b.post("/login", url.Values{"login": {login}, "password": {password}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in as %s: %d", login, resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "smartcrm_session" {
			b.cookie = c
		}
	}
	if b.cookie == nil || !b.cookie.HttpOnly || b.cookie.SameSite != http.SameSiteLaxMode {
		e.t.Fatalf("sign-in set no HttpOnly SameSite session cookie: %v", resp.Cookies())
	}
	page := b.page("/crm/deal/list/")
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF token on the page")
	}
	b.csrf = m[1]
	return b
}

func (b *browser) do(method, path string, body io.Reader, header http.Header) *http.Response {
	b.e.t.Helper()
	req, err := http.NewRequest(method, b.e.s.HTTP.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	b.e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (b *browser) get(path string) *http.Response { return b.do(http.MethodGet, path, nil, nil) }

// post sends a form; the CSRF token is added unless the form has one.
func (b *browser) post(path string, form url.Values) *http.Response {
	if b.csrf != "" && !form.Has("csrf") {
		form.Set("csrf", b.csrf)
	}
	return b.do(http.MethodPost, path, strings.NewReader(form.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

// fetch posts a form as the page's script does and decodes the JSON answer.
func (b *browser) fetch(path string, form url.Values) (int, map[string]any) {
	b.e.t.Helper()
	form.Set("csrf", b.csrf)
	resp := b.do(http.MethodPost, path, strings.NewReader(form.Encode()), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"application/json"}})
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		b.e.t.Fatalf("%s: answer is not JSON (%d): %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, out
}

// page reads a page that must answer 200.
func (b *browser) page(path string) string {
	b.e.t.Helper()
	resp := b.get(path)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.e.t.Fatalf("GET %s: %d: %.600s", path, resp.StatusCode, body)
	}
	return string(body)
}

func readAll(r *http.Response) string {
	b, _ := io.ReadAll(r.Body)
	return string(b)
}

// visits makes a smart process "Visits" with stages, amounts and a client.
func (e *env) visits() *crm.Type {
	e.t.Helper()
	title := "Visits"
	t, err := e.s.App.CRM.AddType(context.Background(), admin, crm.TypeSpec{Title: &title,
		Flags: crm.Flags{crm.FlagStages: true, crm.FlagLinkWithProducts: true, crm.FlagClient: true, crm.FlagCategories: true}})
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) add(etid int64, p crm.Patch) *crm.Item {
	e.t.Helper()
	_, it, err := e.s.App.CRM.AddItem(context.Background(), admin, etid, p)
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

func accountsNewUser(login, name string) access.NewUser {
	return access.NewUser{Login: login, Name: name, Email: login + "@example.com", Password: login + "-pass"}
}

func itoa(n int64) string { return fmt.Sprint(n) }

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
