package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
)

// Pages are html/template files: layout.html wraps each page's "content"; partials.html
// holds the pieces pages and fetch answers share (a Kanban card, a field's input).

func parseTemplates() map[string]*template.Template {
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		files := []string{"templates/layout.html", "templates/partials.html", n}
		t := template.Must(template.New(base).Funcs(funcs).ParseFS(templateFiles, files...))
		out[base] = t
	}
	out["partials"] = template.Must(template.New("partials").Funcs(funcs).ParseFS(templateFiles, "templates/partials.html"))
	return out
}

var funcs = template.FuncMap{
	"itoa":  itoa,
	"money": func(f float64) string { return formatMoney(f) },
	"pct":   func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"dur":   formatDuration,
	"date":  func(t time.Time) string { return t.Format("2006-01-02") },
	"when":  func(t time.Time) string { return t.Format("2006-01-02 15:04") },
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"add":  func(a, b int) int { return a + b },
	"dict": func(p any, i int, f any) map[string]any { return map[string]any{"p": p, "i": i, "f": f} },
	"eq64": func(a, b int64) bool { return a == b },
	// settingsOf is the base of a type's general settings forms.
	"settingsOf": func(etid int64) string { return SettingsPath(etid, "") },
	"fieldsOf":   func(etid int64) string { return SettingsPath(etid, "fields/") },
	"funnelsOf":  func(etid int64) string { return SettingsPath(etid, "funnels/") },
	"lower":      strings.ToLower,
	"runsOf":     func(etid int64) string { return RunsPath(etid) },
	// lf is a field of the card layout editor with its page and section.
	"lf": func(p any, key string, f any) map[string]any { return map[string]any{"p": p, "key": key, "f": f} },
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// formatMoney shows an amount with two decimals and thin grouping.
func formatMoney(f float64) string {
	s := strconv.FormatFloat(f, 'f', 2, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(c)
	}
	out := b.String() + "." + frac
	if neg {
		out = "-" + out
	}
	return out
}

func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()+0.5))
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// layout is what every signed-in page gets besides its own data.
type layout struct {
	Title   string
	User    access.User
	Login   string
	CSRF    string
	Nav     []navEntry
	Active  int64 // the entity type in view, highlighted in the sidebar
	Message string
	Page    any
}

// csrfHolder gives a page the session's CSRF token for its forms.
type csrfHolder struct{ CSRF string }

func (h *csrfHolder) setCSRF(s string) { h.CSRF = s }

// render writes a signed-in page.
func (q *request) render(status int, name, title string, active int64, data any) {
	nav, err := q.s.nav(q)
	if err != nil {
		q.s.fail(q.w, q.r, err)
		return
	}
	if h, ok := data.(interface{ setCSRF(string) }); ok {
		h.setCSRF(q.sess.CSRF)
	}
	l := layout{Title: title, User: q.sess.User, Login: q.sess.Login, CSRF: q.sess.CSRF, Nav: nav, Active: active,
		Message: q.r.URL.Query().Get("msg"), Page: data}
	q.s.write(q.w, status, name, "layout", l)
}

// renderPlain writes a page without the signed-in frame (sign-in).
func (s *Server) renderPlain(w http.ResponseWriter, status int, name string, data any) {
	s.write(w, status, name, name, data)
}

func (s *Server) write(w http.ResponseWriter, status int, page, tmpl string, data any) {
	t := s.pages[page]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, data); err != nil {
		s.log.Error("rendering", "page", page, "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fragment renders a partial to a string, for fetch answers.
func (s *Server) fragment(name string, data any) (string, error) {
	var buf bytes.Buffer
	err := s.pages["partials"].ExecuteTemplate(&buf, name, data)
	return buf.String(), err
}

// wantsJSON: the page's script sent the request and reads the answer.
func (q *request) wantsJSON() bool {
	return strings.Contains(q.r.Header.Get("Accept"), "application/json")
}

func (q *request) json(status int, v any) {
	q.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	q.w.Header().Set("Cache-Control", "no-store")
	q.w.WriteHeader(status)
	_ = json.NewEncoder(q.w).Encode(v)
}

// back redirects to a page of this site after a form, with a message to show.
func (q *request) back(to, msg string) {
	to = safeNext(to)
	if msg != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "msg=" + urlQueryEscape(msg)
	}
	http.Redirect(q.w, q.r, to, http.StatusSeeOther)
}

type errorPage struct {
	Status  int
	Message string
}

// fail answers an error: the domain's own message for a domain error, a generic one
// (and a log line) for anything else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := errorStatus(err)
	if status == http.StatusInternalServerError {
		s.log.Error("page failed", "path", r.URL.Path, "err", err)
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": msg})
		return
	}
	s.write(w, status, "error", "bare", errorPage{Status: status, Message: msg})
}

func (q *request) fail(err error) { q.s.fail(q.w, q.r, err) }

func (q *request) notFound() {
	q.s.fail(q.w, q.r, crm.NewError(crm.ErrItemNotFound, "There is no such page"))
}

func (s *Server) notFound(q *request) { q.notFound() }

func errorStatus(err error) (int, string) {
	var de *crm.Error
	var ie *access.InputError
	switch {
	case errors.As(err, &de):
		switch de.Kind {
		case crm.ErrTypeNotFound, crm.ErrItemNotFound, crm.ErrOwnerNotFound:
			return http.StatusNotFound, de.Msg
		case crm.ErrAccessDenied:
			return http.StatusForbidden, "You may not do this"
		case crm.ErrStaleVersion, crm.ErrConflict:
			return http.StatusConflict, de.Msg
		}
		return http.StatusUnprocessableEntity, de.Msg
	case errors.As(err, &ie):
		return http.StatusUnprocessableEntity, ie.Msg
	case errors.Is(err, access.ErrDenied):
		return http.StatusForbidden, "You may not do this"
	}
	return http.StatusInternalServerError, "Something went wrong on the server; the error is logged"
}
