package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// Markup and script typed into any field are shown as text: for each custom field kind
// (and its label, and a list item's text), the title, a comment and its file's name, a
// to-do, a task, the search box and the filter bar, on the card, the Kanban, the list
// with every column, the timeline and the search page. A javascript: link is never a
// link. Values a field cannot hold are refused with a message that is escaped too.
func TestStoredXSSEveryFieldType(t *testing.T) {
	const payload = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		uf := func(name, kind string, extra map[string]any) string {
			f := map[string]any{"entityId": fmt.Sprintf("CRM_%d", v.ID), "fieldName": fmt.Sprintf("UF_CRM_%d_%s", v.ID, name),
				"userTypeId": kind, "editFormLabel": map[string]any{"en": payload + name}, "showInList": "Y"}
			for k, x := range extra {
				f[k] = x
			}
			e.s.MustOK("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": f})
			return fmt.Sprintf("ufCrm%d%s", v.ID, strings.ToUpper(name[:1])+strings.ToLower(name[1:]))
		}
		kinds := map[string]string{}
		for _, k := range []string{"string", "integer", "double", "boolean", "date", "datetime", "money", "url", "address", "employee", "file"} {
			kinds[k] = uf(strings.ToUpper(k), k, nil)
		}
		kinds["crm_status"] = uf("STATUS", "crm_status", map[string]any{"settings": map[string]any{"ENTITY_TYPE": "SOURCE"}})
		kinds["enumeration"] = uf("LIST", "enumeration", map[string]any{"enum": []any{map[string]any{"value": payload}}})
		kinds["crm"] = uf("LINK", "crm", map[string]any{"settings": map[string]any{"DYNAMIC_" + itoa(v.EntityTypeID): "Y"}})
		// Fresh types: the field catalog changed.
		typ, err := e.s.App.CRM.ItemType(context.Background(), admin, v.EntityTypeID)
		if err != nil {
			t.Fatal(err)
		}
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: payload})
		b := e.signIn("admin", "admin-password-1")
		card := web.DetailsPath(v.EntityTypeID, it.ID)

		// Every kind gets the payload through the card's inline edit.
		for kind, name := range kinds {
			if kind == "file" {
				continue
			}
			value := payload
			if kind == "url" {
				value = "javascript:alert(1)"
			}
			if kind == "enumeration" {
				f, _ := typ.FieldByName(name)
				value = itoa(f.UserField().Enums[0].ID)
			}
			status, ans := b.fetch(card+"field", url.Values{"fields": {name}, name: {value}, "version": {"0"}})
			if status != http.StatusOK && status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %v", kind, status, ans)
			}
			if holdsText := kind == "string" || kind == "address" || kind == "enumeration"; holdsText && status != http.StatusOK {
				t.Errorf("%s did not take the text: %d %v", kind, status, ans)
			}
			if msg, _ := ans["error"].(string); strings.Contains(msg, "<script") && strings.Contains(fmt.Sprint(ans["input"]), "<script>alert") {
				t.Errorf("%s: the refusal carries markup unescaped: %v", kind, ans)
			}
		}
		// A file whose name is markup, as a file field and as a comment's attachment.
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("csrf", b.csrf)
		_ = mw.WriteField("text", payload)
		fw, _ := mw.CreateFormFile("files", payload+".txt")
		_, _ = fw.Write([]byte("scan"))
		_ = mw.Close()
		resp := b.do(http.MethodPost, card+"comment?csrf="+url.QueryEscape(b.csrf), &body, http.Header{"Content-Type": {mw.FormDataContentType()}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("comment with a file: %d %s", resp.StatusCode, readAll(resp))
		}
		b.post(card+"todo", url.Values{"title": {payload}})
		b.post(card+"task", url.Values{"title": {payload}})
		// Every column in the list.
		cols := url.Values{}
		for _, f := range typ.Fields() {
			if f.Column != "" {
				cols.Add("col", string(f.Name))
			}
		}
		b.post(web.ListPath(v.EntityTypeID, -1)+"columns", cols)

		pages := []string{card, web.KanbanPath(v.EntityTypeID, 0), web.ListPath(v.EntityTypeID, -1),
			web.ListPath(v.EntityTypeID, -1) + "?ff=title&fo=has&fv=" + url.QueryEscape(payload),
			web.ListPath(v.EntityTypeID, -1) + "?ff=" + kinds["integer"] + "&fo=eq&fv=" + url.QueryEscape(payload),
			"/search?q=" + url.QueryEscape(payload), "/users"}
		for _, p := range pages {
			resp := b.get(p)
			html := readAll(resp)
			if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d", p, resp.StatusCode)
			}
			for _, bad := range []string{"<script>alert", "<img src=x", `href="javascript:`} {
				if strings.Contains(html, bad) {
					i := strings.Index(html, bad)
					t.Errorf("%s shows %q unescaped: …%s…", p, bad, html[max(0, i-200):min(len(html), i+100)])
				}
			}
			if p == card && !strings.Contains(html, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
				t.Errorf("the card does not show the title as text")
			}
		}
		// The exports are data, not markup; a value starting with = is not a formula.
		csv := readAll(b.get(web.ListPath(v.EntityTypeID, -1) + "export.csv"))
		if !strings.Contains(csv, `<script>alert(""x"")</script>`) {
			t.Errorf("the CSV export lost the title")
		}
	})
}

// A form without the session's CSRF token, with another session's token, or posted
// from another origin is refused, and changes nothing.
func TestCSRF(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Kept"})
		if _, _, err := e.s.App.Accounts.AddUser(context.Background(), admin, accountsNewUser("other", "Olga")); err != nil {
			t.Fatal(err)
		}
		a, o := e.signIn("admin", "admin-password-1"), e.signIn("other", "other-pass")
		path := web.DetailsPath(v.EntityTypeID, it.ID) + "field"
		change := func() url.Values { return url.Values{"fields": {"title"}, "title": {"Changed"}} }
		if r := a.post(path, url.Values{"fields": {"title"}, "title": {"Changed"}, "csrf": {""}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("no token: %d", r.StatusCode)
		}
		if r := a.post(path, url.Values{"fields": {"title"}, "title": {"Changed"}, "csrf": {o.csrf}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("another session's token: %d", r.StatusCode)
		}
		form := change()
		form.Set("csrf", a.csrf)
		r := a.do(http.MethodPost, path, strings.NewReader(form.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
			"Origin": {"https://evil.example"}, "Sec-Fetch-Site": {"cross-site"}})
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-origin post with the right token: %d", r.StatusCode)
		}
		if r := a.post("/logout", url.Values{"csrf": {""}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("sign-out without a token: %d", r.StatusCode)
		}
		_, got, err := e.s.App.CRM.GetItem(context.Background(), admin, v.EntityTypeID, it.ID)
		if err != nil || got.Title(v) != "Kept" {
			t.Errorf("a refused form changed the item: %v %v", got.Title(v), err)
		}
		if r := a.post(path, change()); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the right token from this site: %d", r.StatusCode)
		}
	})
}

// A session cookie works only as the session it was issued for: a cookie made up or
// altered, one of a signed-out session, one of a user switched off, are all refused;
// another person's cookie is that person's session, whose CSRF token this browser does
// not have.
func TestForeignSessionCookie(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		u, _, err := e.s.App.Accounts.AddUser(context.Background(), admin, accountsNewUser("other", "Olga"))
		if err != nil {
			t.Fatal(err)
		}
		a, o := e.signIn("admin", "admin-password-1"), e.signIn("other", "other-pass")
		refused := func(what string, b *browser) {
			t.Helper()
			r := b.get("/crm/deal/list/")
			if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
				t.Errorf("%s: %d %s", what, r.StatusCode, r.Header.Get("Location"))
			}
		}
		forged := &browser{e: e, c: a.c, cookie: &http.Cookie{Name: "smartcrm_session", Value: a.cookie.Value[:len(a.cookie.Value)-2] + "xx"}}
		refused("an altered cookie", forged)
		forged.cookie.Value = "1"
		refused("a made-up cookie", forged)
		// Admin's cookie with the other person's token: refused as a CSRF failure.
		mixed := &browser{e: e, c: a.c, cookie: a.cookie, csrf: o.csrf}
		if r := mixed.post("/users/add", url.Values{"login": {"x"}, "name": {"X"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("a cookie with another session's token: %d", r.StatusCode)
		}
		if err := e.s.App.Accounts.SetActive(context.Background(), admin, u.ID, false); err != nil {
			t.Fatal(err)
		}
		refused("a switched-off user's cookie", o)
		a.post("/logout", url.Values{})
		refused("a signed-out cookie", a)
	})
}

// After sign-in the browser goes back where it was, on this site only.
func TestNoOpenRedirect(t *testing.T) {
	e := start(t, "sqlite")
	for next, want := range map[string]string{
		"/crm/deal/list/?x=1": "/crm/deal/list/?x=1", "//evil.example/": "/", "https://evil.example/": "/",
		`/\evil.example`: "/", "javascript:alert(1)": "/", "/%2F%2Fevil.example": "/%2F%2Fevil.example", "": "/",
		"http:evil.example": "/", "/\t/evil.example": "/",
	} {
		b := &browser{e: e, c: &http.Client{CheckRedirect: noRedirect}}
		r := b.post("/login", url.Values{"login": {"admin"}, "password": {"admin-password-1"}, "next": {next}})
		if got := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || got != want {
			t.Errorf("next=%q: %d to %q, want %q", next, r.StatusCode, got, want)
		}
	}
	// Signed-out pages send to sign-in with a local next only.
	r := (&browser{e: e, c: &http.Client{CheckRedirect: noRedirect}}).get("/crm/deal/list/?a=b")
	if loc := r.Header.Get("Location"); loc != "/login?next=%2Fcrm%2Fdeal%2Flist%2F%3Fa%3Db" {
		t.Errorf("signed out: %s", loc)
	}
}

// countingReader counts what the server took of a body.
type countingReader struct {
	n    atomic.Int64
	left int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := min(int64(len(p)), c.left, 64<<10)
	for i := range p[:n] {
		p[i] = 'a'
	}
	c.left -= n
	c.n.Add(n)
	time.Sleep(time.Millisecond) // a client on a real network; the server answers first
	return int(n), nil
}

// A 100 MB upload is refused from its declared length, before its body is read.
func TestUploadTooLargeRefusedBeforeReading(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		v := e.visits()
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Contract"})
		b := e.signIn("admin", "admin-password-1")
		body := &countingReader{left: 100 << 20}
		req, _ := http.NewRequest(http.MethodPost, e.s.HTTP.URL+web.DetailsPath(v.EntityTypeID, it.ID)+"comment?csrf="+url.QueryEscape(b.csrf), body)
		req.ContentLength = 100 << 20
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.AddCookie(b.cookie)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("a 100 MB upload: %d", resp.StatusCode)
		}
		if n := body.n.Load(); n > 4<<20 {
			t.Errorf("the server read %d bytes of a refused 100 MB upload before answering", n)
		}
	})
}

// Sign-in: a wrong password is refused without saying which part was wrong; after ten
// failures from one address even the right password waits.
func TestSignInThrottle(t *testing.T) {
	e := start(t, "sqlite")
	b := &browser{e: e, c: &http.Client{CheckRedirect: noRedirect}}
	for i := 0; i < 10; i++ {
		r := b.post("/login", url.Values{"login": {"admin"}, "password": {"wrong"}})
		if html := readAll(r); r.StatusCode != http.StatusUnauthorized || !strings.Contains(html, "Wrong login or password") {
			t.Fatalf("failure %d: %d", i, r.StatusCode)
		}
	}
	r := b.post("/login", url.Values{"login": {"admin"}, "password": {"admin-password-1"}})
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("the right password during the block: %d", r.StatusCode)
	}
}
