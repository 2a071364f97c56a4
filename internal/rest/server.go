// Package rest speaks the Bitrix24 REST protocol: webhook URLs, parameters in any
// transport, the success and error envelopes, and batch. Each method family lives in a
// file of its own (type.go, item.go, …) as thin adapters: turn parameters into the
// domain's Go values, call the domain, shape the answer. This package alone knows wire
// names (names.go) and wire codes (errors.go).
package rest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/activity"
	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/currency"
	"smartcrm/internal/customfield"
	"smartcrm/internal/events"
	"smartcrm/internal/field"
	"smartcrm/internal/history"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/listindex"
	"smartcrm/internal/params"
	"smartcrm/internal/processdef"
	"smartcrm/internal/tasks"
	"smartcrm/internal/timeline"
)

// MaxBodyBytes caps a request body. File fields travel as base64 inside the body, so
// the cap is generous; above it the request is refused before it is read whole.
const MaxBodyBytes = 64 << 20

// Call is one method invocation, from HTTP or from a batch command.
type Call struct {
	Ctx     context.Context
	Actor   access.Actor
	Params  *params.Object
	Method  string // lower-case
	InBatch bool
}

// Result is what a handler answers: the payload, and for lists the total and the start
// of the next page.
type Result struct {
	Result any
	Total  *int
	Next   *int
}

type handlerFunc func(s *Server, c *Call) (*Result, error)

type method struct {
	fn      handlerFunc
	family  family
	noBatch bool
}

// Services are the domain services the methods call.
type Services struct {
	CRM         *crm.Service
	CustomField *customfield.Service
	Timeline    *timeline.Service
	Activity    *activity.Service
	Tasks       *tasks.Service
	// Automation is nil where robots do not run (tools that only read).
	Automation *automation.Service
	CardLayout *cardlayout.Service
	Currency   *currency.Service
	History    *history.Service
	// Events keeps subscriptions and delivers events; nil where nothing is delivered.
	Events *events.Service
	// Processes plans, applies and exports process files; nil where they are not offered.
	Processes *processdef.Service
	// Indexes manages the list indexes; nil where nobody watches lists.
	Indexes *listindex.Service
}

// Server serves /rest/.
type Server struct {
	crm         *crm.Service
	customField *customfield.Service
	timeline    *timeline.Service
	activity    *activity.Service
	tasks       *tasks.Service
	automation  *automation.Service
	processes   *processdef.Service
	cardLayout  *cardlayout.Service
	currency    *currency.Service
	history     *history.Service
	events      *events.Service
	indexes     *listindex.Service
	auth        *access.Webhooks
	log         *slog.Logger
	metrics     *Metrics
	methods     map[string]method
	bodies      *bodyBudget
}

// New builds the REST server.
func New(svc Services, auth *access.Webhooks, log *slog.Logger, metrics *Metrics) *Server {
	s := &Server{crm: svc.CRM, customField: svc.CustomField, timeline: svc.Timeline, activity: svc.Activity, tasks: svc.Tasks, automation: svc.Automation, cardLayout: svc.CardLayout, currency: svc.Currency, history: svc.History, events: svc.Events, processes: svc.Processes, indexes: svc.Indexes, auth: auth, log: log,
		metrics: metrics, methods: map[string]method{}, bodies: newBodyBudget(DefaultBodyMemory, DefaultBodyMemoryWait)}
	s.registerTypes()
	s.registerItems()
	s.registerLegacy()
	s.registerLegacyUserFields()
	s.registerCurrencies()
	s.registerLegacyLinks()
	s.registerTimeline()
	s.registerCategories()
	s.registerStatuses()
	s.registerStageHistory()
	s.registerStageMethods()
	s.registerUserFields()
	s.registerEnums()
	s.registerTasks()
	s.registerActivities()
	s.registerUsers()
	s.registerAutomation()
	s.registerEvents()
	s.registerBizproc()
	s.registerCardLayout()
	s.registerProcesses()
	s.registerIndexes()
	s.register("batch", method{fn: (*Server).batch, noBatch: true})
	return s
}

func (s *Server) register(name string, m method) { s.methods[strings.ToLower(name)] = m }

// registerFamily registers the methods of one family, which share their error codes.
func (s *Server) registerFamily(f family, methods map[string]handlerFunc) {
	for name, fn := range methods {
		s.register(name, method{fn: fn, family: f})
	}
}

// ServeHTTP handles /rest/{userId}/{secret}/{method}[.json][/].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	started := time.Now()
	userPart, secret, methodName, ok := splitPath(r.URL.Path)
	if !ok {
		s.writeError(w, "unknown", started, errNoAuth)
		return
	}
	methodName = strings.ToLower(methodName)
	m, known := s.methods[methodName]
	metricName := methodName
	if !known {
		metricName = "unknown"
	}
	userID, err := strconv.ParseInt(userPart, 10, 64)
	if err != nil || userID <= 0 {
		s.writeError(w, metricName, started, errNoAuth)
		return
	}
	actor, ok := s.authenticate(w, r, metricName, started, userID, secret)
	if !ok {
		return
	}
	if !known {
		s.writeError(w, metricName, started, errMethodNotFound)
		return
	}
	p, release, apiErr := s.readParams(r)
	if apiErr != nil {
		s.writeError(w, metricName, started, apiErr)
		return
	}
	defer release()
	if v, ok := p.Get("auth_connector"); ok {
		// The integration the call comes from: its offline queue will not record the
		// changes the call makes.
		actor.Connector, _ = params.String(v)
	}
	call := &Call{Ctx: r.Context(), Actor: actor, Params: p, Method: methodName}
	res, err := s.invoke(m, call)
	if err != nil {
		s.writeError(w, metricName, started, s.toAPIError(m.family, call, err))
		return
	}
	s.writeJSON(w, metricName, started, http.StatusOK, successEnvelope(res, started))
}

// invoke runs a handler, turning a panic into an error so one bad call cannot take the
// server down.
func (s *Server) invoke(m method, c *Call) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("handler panic", "method", c.Method, "panic", p)
			res, err = nil, errInternal
		}
	}()
	return m.fn(s, c)
}

func (s *Server) toAPIError(f family, c *Call, err error) *APIError {
	if api := f.wire(err); api != nil {
		return api
	}
	if errors.Is(err, context.Canceled) {
		return apiErr(499, "REQUEST_CANCELLED", "The client closed the request")
	}
	s.log.Error("method failed", "method", c.Method, "err", err)
	return errInternal
}

// splitPath reads /rest/{user}/{secret}/{method}, tolerating `.json`, a trailing slash
// and doubled slashes anywhere, leading ones included (the PHP SDK and URLs joined by
// hand produce `//`).
func splitPath(path string) (user, secret, method string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimLeft(path, "/"), "rest/")
	if !found {
		return "", "", "", false
	}
	var parts []string
	for _, p := range strings.Split(rest, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) != 3 {
		return "", "", "", false
	}
	method = strings.TrimSuffix(parts[2], ".json")
	return parts[0], parts[1], method, method != ""
}

// readParams merges the query string and the body into one tree. Body values win over
// query values of the same name, as in PHP's $_REQUEST. A body first reserves its size
// in the body memory budget; release ends the reservation once the call is done with
// the parameters (it is never nil).
func (s *Server) readParams(r *http.Request) (p *params.Object, release func(), _ *APIError) {
	noop := func() {}
	p = params.NewObject()
	if err := params.ParseQuery(p, r.URL.RawQuery); err != nil {
		return nil, noop, apiErr(http.StatusBadRequest, 100, err.Error())
	}
	if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet || r.ContentLength == 0 {
		return p, noop, nil
	}
	if r.ContentLength > MaxBodyBytes {
		return nil, noop, errTooLarge // before reserving or reading anything
	}
	size := r.ContentLength
	if size < 0 {
		size = MaxBodyBytes // not declared: it may be as large as allowed
	}
	release, err := s.bodies.acquire(r.Context(), size)
	if errors.Is(err, errBodyMemoryWait) {
		return nil, noop, errBodyMemory
	}
	if err != nil {
		return nil, noop, apiErr(499, "REQUEST_CANCELLED", "The client closed the request")
	}
	body, apiError := readBody(r)
	if apiError != nil {
		release()
		return nil, noop, apiError
	}
	if err := params.ParseBody(p, r.Header.Get("Content-Type"), body); err != nil {
		release()
		return nil, noop, apiErr(http.StatusBadRequest, 100, err.Error())
	}
	return p, release, nil
}

// readBody reads the whole body, whose declared length the caller has checked. A
// declared length is read into one buffer of that size: io.ReadAll grows its buffer
// step by step, which for a body of tens of MB leaves several times its size in garbage.
func readBody(r *http.Request) ([]byte, *APIError) {
	var body []byte
	var err error
	if r.ContentLength >= 0 {
		body = make([]byte, r.ContentLength)
		_, err = io.ReadFull(r.Body, body)
	} else {
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, errTooLarge
		}
		return nil, apiErr(http.StatusBadRequest, 100, "could not read the request body")
	}
	return body, nil
}

// timing is the `time` member of every envelope. b24jssdk reads operating and
// operating_reset_at after every call and fails without them.
func timing(started time.Time) jsonx.Map {
	finished := time.Now()
	secs := func(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }
	d := finished.Sub(started).Seconds()
	return jsonx.Map{
		{K: "start", V: secs(started)},
		{K: "finish", V: secs(finished)},
		{K: "duration", V: d},
		{K: "processing", V: d},
		{K: "date_start", V: started.Format(wireTime)},
		{K: "date_finish", V: finished.Format(wireTime)},
		{K: "operating_reset_at", V: finished.Unix() + 600},
		{K: "operating", V: 0},
	}
}

// wireTime is how times go out, as everywhere on the wire.
const wireTime = field.WireTime

// successEnvelope is {result, total?, next?, time}, result first as Bitrix24 writes it.
func successEnvelope(res *Result, started time.Time) jsonx.Map {
	env := jsonx.Map{{K: "result", V: res.Result}}
	if res.Total != nil {
		env = append(env, jsonx.KV{K: "total", V: *res.Total})
	}
	if res.Next != nil {
		env = append(env, jsonx.KV{K: "next", V: *res.Next})
	}
	return append(env, jsonx.KV{K: "time", V: timing(started)})
}

func (s *Server) writeError(w http.ResponseWriter, method string, started time.Time, e *APIError) {
	s.writeJSON(w, method, started, e.Status, e.envelope())
}

// answerBuffers holds the buffers answers are encoded into. A list page is several
// kilobytes: a fresh buffer per answer grew (and copied) itself three or four times,
// a quarter of the bytes a list request allocated.
var answerBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxKeptAnswerBuffer: a buffer grown past this by an unusually large answer (an export
// page, a big batch) goes to the collector rather than back to the pool.
const maxKeptAnswerBuffer = 1 << 20

func (s *Server) writeJSON(w http.ResponseWriter, method string, started time.Time, status int, body jsonx.Map) {
	buf := answerBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxKeptAnswerBuffer {
			answerBuffers.Put(buf)
		}
	}()
	b, err := jsonx.Append((*buf)[:0], body)
	*buf = b[:0]
	if err != nil {
		s.log.Error("encoding response", "method", method, "err", err)
		status = http.StatusInternalServerError
		b, _ = jsonx.Append(nil, jsonx.Map{{K: "error", V: errInternal.Code}, {K: "error_description", V: errInternal.Desc}})
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	// With its length known the answer goes out as it is, rather than in chunks with
	// a framing write of their own.
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if s.metrics != nil {
		s.metrics.observe(method, status, time.Since(started))
	}
}
