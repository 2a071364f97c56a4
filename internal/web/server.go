// Package web is the browser UI: sign-in, navigation, Kanban, list, item card,
// analytics, the users page and the administrators' pages, served from the same binary and port as the REST API.
// Like the REST handlers, its handlers are thin: they read the form into domain values
// (crm.Patch, query.Group…), call the same domain operations as REST, as a person
// (access.OriginPerson), and render html/template pages. The JavaScript and CSS are our
// own and small, embedded with the templates (embed), nothing from elsewhere.
//
// One file per page family: auth.go (sign-in, sessions, CSRF), nav.go (the URL scheme
// and the sidebar), kanban.go, list.go (with export.go and filter.go), card.go (with
// timeline.go), analytics.go, users.go, search.go, live.go (server-sent events fed by
// one outbox tailer), values.go (how field values are shown and read back from forms),
// and admin*.go, the administrators' pages (types, settings, fields, funnels and
// stages, card layout, automation editor and runs; see admin.go).
package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/activity"
	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/history"
	"smartcrm/internal/listindex"
	"smartcrm/internal/tasks"
	"smartcrm/internal/timeline"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Services are the domain services the pages call.
type Services struct {
	CRM      *crm.Service
	Timeline *timeline.Service
	Activity *activity.Service
	Tasks    *tasks.Service
	Accounts *access.Accounts
	// People lists the users (names of the responsible, the users page).
	People *access.Webhooks
	// Automation shows the runs of robots on the card and is what the automation
	// editor edits; nil shows none.
	Automation *automation.Service
	CardLayout *cardlayout.Service
	History    *history.Service
	// CustomField adds, changes and deletes custom fields (the fields pages).
	CustomField *customfield.Service
	// Indexes learns the shapes of saved filters, to index them; nil: none.
	Indexes *listindex.Service
	// Processes offers presets and exports process files; nil offers neither (see
	// SetProcesses).
	Processes Processes
}

// Options tune the server.
type Options struct {
	Log *slog.Logger
	// MaxUpload caps a request body with files (comments, file fields); larger ones
	// are refused before they are read. 0 means DefaultMaxUpload.
	MaxUpload int64
}

// DefaultMaxUpload is the largest form with files a page accepts, as the REST API's
// body limit.
const DefaultMaxUpload = 64 << 20

// maxFormBytes caps forms without files.
const maxFormBytes = 1 << 20

// Server serves the pages.
type Server struct {
	crm      *crm.Service
	timeline *timeline.Service
	activity *activity.Service
	tasks    *tasks.Service
	accounts *access.Accounts
	people   *access.Webhooks
	auto     *automation.Service
	layouts  *cardlayout.Service
	history  *history.Service
	cf       *customfield.Service
	indexes  *listindex.Service
	log      *slog.Logger
	pages    map[string]*template.Template
	static   http.Handler
	live     *hub
	maxUp    int64
	xorigin  *http.CrossOriginProtection

	usersMu  sync.Mutex
	users    map[int64]access.User
	usersAt  time.Time
	userList []access.User

	procMu sync.Mutex
	procs  Processes
}

// New builds the UI server. Call Close when the server stops, to end live streams.
func New(svc Services, opt Options) *Server {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.MaxUpload <= 0 {
		opt.MaxUpload = DefaultMaxUpload
	}
	sub, _ := fs.Sub(staticFiles, "static")
	s := &Server{crm: svc.CRM, timeline: svc.Timeline, activity: svc.Activity, tasks: svc.Tasks, accounts: svc.Accounts,
		people: svc.People, auto: svc.Automation, layouts: svc.CardLayout, history: svc.History, cf: svc.CustomField, procs: svc.Processes, indexes: svc.Indexes,
		log: opt.Log, maxUp: opt.MaxUpload, static: http.StripPrefix("/static/", http.FileServerFS(sub)),
		xorigin: http.NewCrossOriginProtection()}
	s.xorigin.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Cross-origin request refused", http.StatusForbidden)
	}))
	s.pages = parseTemplates()
	s.live = newHub(svc.CRM.Store(), opt.Log)
	return s
}

// Listener is what the composition root registers with the write path, so that live
// updates go out right after a change commits rather than at the next poll.
func (s *Server) Listener() crm.ItemListener { return s.live }

// Close ends the live streams and the outbox tailer.
func (s *Server) Close() { s.live.close() }

// ServeHTTP routes a request: assets and sign-in are open, everything else needs a
// session; every state-changing request needs the session's CSRF token and a same-
// origin browser.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
	path := r.URL.Path
	switch {
	case strings.HasPrefix(path, "/static/"):
		h.Set("Cache-Control", "public, max-age=3600")
		s.static.ServeHTTP(w, r)
		return
	case path == "/favicon.ico":
		http.NotFound(w, r)
		return
	}
	if !pagePath(path) {
		// Paths the UI does not serve are not found, signed in or not (/metrics lives
		// on its own listener; a scanner learns nothing from a sign-in redirect).
		http.NotFound(w, r)
		return
	}
	if err := s.xorigin.Check(r); err != nil {
		http.Error(w, "Cross-origin request refused", http.StatusForbidden)
		return
	}
	switch path {
	case "/login":
		s.login(w, r)
		return
	}
	sess, err := s.session(r)
	if err != nil {
		if errors.Is(err, access.ErrNoSession) {
			s.toLogin(w, r)
			return
		}
		s.fail(w, r, err)
		return
	}
	req := &request{w: w, r: r, s: s, sess: sess, actor: sess.Actor(), ctx: r.Context()}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !req.checkCSRF() {
			http.Error(w, "The form is out of date or was not sent by this site (missing or wrong CSRF token): reload the page and try again", http.StatusForbidden)
			return
		}
	}
	s.route(req)
}

// pagePath reports whether a path is one of the UI's.
func pagePath(p string) bool {
	switch {
	case p == "/", p == "/login", p == "/logout", p == "/search", p == "/users", p == "/crm":
		return true
	}
	return strings.HasPrefix(p, "/crm/") || strings.HasPrefix(p, "/users/")
}

// request is one signed-in request.
type request struct {
	w     http.ResponseWriter
	r     *http.Request
	s     *Server
	sess  *access.Session
	actor access.Actor
	ctx   context.Context
}

// route dispatches a signed-in request by path.
func (s *Server) route(q *request) {
	path := q.r.URL.Path
	switch {
	case path == "/" || path == "/crm" || path == "/crm/":
		s.home(q)
	case path == "/logout":
		s.logout(q)
	case path == "/search":
		s.search(q)
	case path == "/users" || strings.HasPrefix(path, "/users/"):
		s.usersPage(q)
	case strings.HasPrefix(path, "/crm/"):
		s.entity(q)
	default:
		s.notFound(q)
	}
}

// users returns the users by id, re-read at most every few seconds: names change
// rarely, and every page shows some.
func (s *Server) usersByID(ctx context.Context) (map[int64]access.User, []access.User) {
	s.usersMu.Lock()
	defer s.usersMu.Unlock()
	if s.users != nil && time.Since(s.usersAt) < 5*time.Second {
		return s.users, s.userList
	}
	list, err := s.people.Users(ctx)
	if err != nil {
		s.log.Warn("reading users", "err", err)
		if s.users != nil {
			return s.users, s.userList
		}
		return map[int64]access.User{}, nil
	}
	m := make(map[int64]access.User, len(list))
	for _, u := range list {
		m[u.ID] = u
	}
	s.users, s.userList, s.usersAt = m, list, time.Now()
	return m, list
}

// forgetUsers drops the user cache after the users page changed someone.
func (s *Server) forgetUsers() {
	s.usersMu.Lock()
	s.users = nil
	s.usersMu.Unlock()
}

// userName is a user's full name, or "#id" for an unknown one.
func (s *Server) userName(ctx context.Context, id int64) string {
	if id == 0 {
		return ""
	}
	m, _ := s.usersByID(ctx)
	if u, ok := m[id]; ok {
		return fullName(u)
	}
	return "User #" + itoa(id)
}

func fullName(u access.User) string {
	n := strings.TrimSpace(u.Name + " " + u.LastName)
	if n == "" {
		return "User #" + itoa(u.ID)
	}
	return n
}
