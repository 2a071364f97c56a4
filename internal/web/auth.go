package web

import (
	"crypto/subtle"
	"errors"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/access"
)

// Sign-in, sign-out, the session cookie and CSRF. The cookie holds the session's
// random token (HttpOnly, SameSite=Lax, Secure wherever the browser can keep a secure
// cookie); each session has its own CSRF token, which every form sends back in the
// field "csrf" (and scripts in the X-CSRF-Token header). Cross-origin requests are
// refused before that by http.CrossOriginProtection.

// CookieName is the session cookie.
const CookieName = "smartcrm_session"

func (s *Server) session(r *http.Request) (*access.Session, error) {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil, access.ErrNoSession
	}
	return s.accounts.Session(r.Context(), c.Value)
}

// checkCSRF compares the sent token with the session's in constant time.
func (q *request) checkCSRF() bool {
	sent := q.r.Header.Get("X-CSRF-Token")
	if sent == "" {
		// A multipart form is parsed by the handler that streams its files; its token
		// comes in the query string of the form's action.
		if strings.HasPrefix(q.r.Header.Get("Content-Type"), "multipart/") {
			sent = q.r.URL.Query().Get("csrf")
		} else {
			q.r.Body = http.MaxBytesReader(q.w, q.r.Body, maxFormBytes)
			if err := q.r.ParseForm(); err != nil {
				return false
			}
			sent = q.r.PostForm.Get("csrf")
		}
	}
	return sent != "" && subtle.ConstantTimeCompare([]byte(sent), []byte(q.sess.CSRF)) == 1
}

// toLogin sends a signed-out browser to the sign-in page, coming back here after.
func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet || r.Header.Get("Accept") == "application/json" || r.Header.Get("Accept") == "text/event-stream" {
		http.Error(w, "Sign in first", http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
}

// safeNext is where to go after sign-in: a path on this site only. Anything else —
// another host, a scheme, "//host", "/\host" (which browsers read as //host), control
// characters — goes to the start page: an open redirect would let a link that looks
// like ours send people to a look-alike sign-in page.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) ||
		strings.ContainsAny(next, "\\\r\n\t") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

type loginPage struct {
	Login, Next, Error string
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if _, err := s.session(r); err == nil {
			http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
			return
		}
		s.renderPlain(w, http.StatusOK, "login", loginPage{Next: safeNext(r.URL.Query().Get("next"))})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "Method not allowed", http.StatusMethodNotAllowed)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad form", http.StatusBadRequest)
		return
	}
	login, next := r.PostForm.Get("login"), safeNext(r.PostForm.Get("next"))
	sess, err := s.accounts.SignIn(r.Context(), clientAddr(r), login, r.PostForm.Get("password"))
	var throttled *access.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.RetryAfter.Seconds()))))
		s.renderPlain(w, http.StatusTooManyRequests, "login", loginPage{Login: login, Next: next,
			Error: "Too many failed sign-ins from this address. Wait a minute and try again."})
		return
	case errors.Is(err, access.ErrBadCredentials):
		s.renderPlain(w, http.StatusUnauthorized, "login", loginPage{Login: login, Next: next, Error: "Wrong login or password."})
		return
	case err != nil:
		s.log.Error("sign-in", "err", err)
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: sess.Token, Path: "/", HttpOnly: true, Secure: secureCookie(r),
		SameSite: http.SameSiteLaxMode, Expires: sess.Expires})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(q *request) {
	if q.r.Method != http.MethodPost {
		q.w.Header().Set("Allow", "POST")
		http.Error(q.w, "Sign out with the button (POST)", http.StatusMethodNotAllowed)
		return
	}
	if err := s.accounts.SignOut(q.ctx, q.sess); err != nil {
		s.fail(q.w, q.r, err)
		return
	}
	http.SetCookie(q.w, &http.Cookie{Name: CookieName, Value: "", Path: "/", HttpOnly: true, Secure: secureCookie(q.r),
		SameSite: http.SameSiteLaxMode, MaxAge: -1, Expires: time.Unix(0, 0)})
	http.Redirect(q.w, q.r, "/login", http.StatusSeeOther)
}

// secureCookie: browsers keep Secure cookies from HTTPS and from loopback addresses;
// a plain-HTTP server on another host (a LAN test install) would lose its sessions.
func secureCookie(r *http.Request) bool {
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// clientAddr is the address failed sign-ins are counted by.
func clientAddr(r *http.Request) string { return r.RemoteAddr }
