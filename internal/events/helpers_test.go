package events_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/app"
)

// start runs a server whose deliveries retry after 10 ms, at most 50 ms apart.
func start(t *testing.T, dialect string, configure func(*app.Config)) *apitest.Server {
	return apitest.StartWith(t, dialect, func(c *app.Config) {
		c.EventRetryBase, c.EventMaxRetryDelay = 10*time.Millisecond, 50*time.Millisecond
		if configure != nil {
			configure(c)
		}
	})
}

// delivery is one POST a handler received.
type delivery struct {
	form    url.Values
	key     string
	ctype   string
	status  int
	arrived time.Time
}

// handler is an event handler's far end. The test switches it down (answering 503),
// makes it hold calls until released, or up; it records every call.
type handler struct {
	*httptest.Server
	mu    sync.Mutex
	calls []delivery
	down  bool
	// hold, when set, keeps each call waiting until the channel is closed.
	hold chan struct{}
}

func newHandler(t *testing.T) *handler {
	h := &handler{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		form, _ := url.ParseQuery(string(b))
		h.mu.Lock()
		hold, status := h.hold, http.StatusOK
		if h.down {
			status = http.StatusServiceUnavailable
		}
		h.mu.Unlock()
		if hold != nil {
			<-hold
		}
		h.mu.Lock()
		h.calls = append(h.calls, delivery{form: form, key: req.Header.Get("Idempotency-Key"), ctype: req.Header.Get("Content-Type"),
			status: status, arrived: time.Now()})
		h.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(func() {
		h.mu.Lock()
		if h.hold != nil {
			close(h.hold)
			h.hold = nil
		}
		h.mu.Unlock()
		h.Close()
	})
	return h
}

func (h *handler) setDown(down bool) {
	h.mu.Lock()
	h.down = down
	h.mu.Unlock()
}

// Calls are the calls received so far.
func (h *handler) Calls() []delivery {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]delivery(nil), h.calls...)
}

// Delivered are the calls answered 2xx.
func (h *handler) Delivered() []delivery {
	var out []delivery
	for _, c := range h.Calls() {
		if c.status < 300 {
			out = append(out, c)
		}
	}
	return out
}

var eventually = apitest.Eventually

// newProcess creates a smart process and returns its entityTypeId and id.
func newProcess(s *apitest.Server, title string) (etid, id int64) {
	s.T.Helper()
	res := s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": title, "isStagesEnabled": "Y", "isAutomationEnabled": "Y"}})
	return apitest.Int(res, "type.entityTypeId"), apitest.Int(res, "type.id")
}

func addItem(s *apitest.Server, etid int64, title string) int64 {
	s.T.Helper()
	return apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": title}}), "item.id")
}

func bind(s *apitest.Server, event, url string) {
	s.T.Helper()
	if s.MustOK("event.bind", map[string]any{"event": event, "handler": url}) != true {
		s.T.Fatalf("event.bind %s did not answer true", event)
	}
}

// appToken is the application token of the administrator's webhook (application 1).
func appToken(t *testing.T, s *apitest.Server) string {
	tok, err := s.App.Store.ApplicationToken(context.Background(), 1)
	if err != nil || len(tok) != 32 {
		t.Fatalf("application token of webhook 1: %q, %v", tok, err)
	}
	return tok
}

// summary describes calls for failure messages.
func summary(calls []delivery) string {
	var b strings.Builder
	for _, c := range calls {
		b.WriteString(c.form.Get("event") + " " + c.form.Get("data[FIELDS][ID]") + " " + c.key + "; ")
	}
	return b.String()
}
