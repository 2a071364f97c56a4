package rest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/events"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
	"smartcrm/internal/rest/wirequery"
	"smartcrm/internal/store"
)

// event.bind/unbind/get, events, event.offline.* (spec core §9.3, §9.4) and our
// smartcrm.events.deliveries. Unlike Bitrix24 they work with an inbound webhook: each
// webhook is an application with its own application_token.

func (s *Server) registerEvents() {
	if s.events == nil {
		return
	}
	s.registerFamily(familyEvent, map[string]handlerFunc{
		"event.bind":                 (*Server).eventBind,
		"event.unbind":               (*Server).eventUnbind,
		"event.get":                  (*Server).eventGet,
		"events":                     (*Server).eventNames,
		"event.offline.get":          (*Server).offlineGet,
		"event.offline.clear":        (*Server).offlineClear,
		"event.offline.error":        (*Server).offlineError,
		"event.offline.list":         (*Server).offlineList,
		"smartcrm.events.deliveries": (*Server).eventDeliveries,
	})
}

// text reads an optional text parameter, whatever the letter case of its name.
func text(c *Call, name string) string {
	v, _ := lookup(c, name)
	str, _ := params.String(v)
	return strings.TrimSpace(str)
}

func eventBinding(c *Call) (events.Binding, bool, error) {
	b := events.Binding{Event: text(c, "event"), Handler: text(c, "handler"), Connector: text(c, "auth_connector")}
	switch strings.ToLower(text(c, "event_type")) {
	case "", "online":
	case "offline":
		b.Offline = true
	default:
		return b, false, apiErr(http.StatusBadRequest, "ERROR_EVENT_TYPE", "event_type is online or offline")
	}
	raw := text(c, "auth_type")
	if raw == "" {
		return b, true, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 0 {
		return b, false, apiErr(http.StatusBadRequest, "ERROR_WRONG_AUTH_TYPE", "auth_type is a user id")
	}
	b.AuthType = id
	return b, false, nil
}

func (s *Server) eventBind(c *Call) (*Result, error) {
	b, _, err := eventBinding(c)
	if err != nil {
		return nil, err
	}
	// options[minTimeout]: seconds between ONOFFLINEEVENT notifications.
	if o, ok := lookup(c, "options"); ok && !params.IsEmptyContainer(o) {
		obj, isObj := o.(*params.Object)
		if !isObj {
			return nil, wrongParamType("options", "array")
		}
		if v, ok := params.Lookup(obj, "minTimeout"); ok && v != "" {
			n, isInt := params.Int(v)
			if !isInt || n < 0 {
				return nil, apiErr(http.StatusBadRequest, "INVALID_ARG_VALUE", "options[minTimeout] is a number of seconds")
			}
			b.MinTimeout = n
		}
	}
	if err := s.events.Bind(c.Ctx, c.Actor, b); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) eventUnbind(c *Call) (*Result, error) {
	b, anyAuth, err := eventBinding(c)
	if err != nil {
		return nil, err
	}
	n, err := s.events.Unbind(c.Ctx, c.Actor, b, anyAuth)
	if err != nil {
		return nil, err
	}
	return &Result{Result: jsonx.Map{{K: "count", V: n}}}, nil
}

func (s *Server) eventGet(c *Call) (*Result, error) {
	list, err := s.events.Handlers(c.Ctx, c.Actor)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(list))
	for i, h := range list {
		offline := 0
		if h.Offline {
			offline = 1
		}
		m := jsonx.Map{{K: "event", V: h.Event}, {K: "handler", V: h.Handler},
			{K: "auth_type", V: strconv.FormatInt(h.AuthType, 10)}, {K: "offline", V: offline}}
		if h.Offline {
			m = append(m, jsonx.KV{K: "connector_id", V: h.Connector})
		}
		out[i] = m
	}
	return &Result{Result: out}, nil
}

func (s *Server) eventNames(c *Call) (*Result, error) {
	names, err := s.events.Names(c.Ctx, c.Actor)
	if err != nil {
		return nil, err
	}
	return &Result{Result: names}, nil
}

// offlineQuery reads filter and order of event.offline.get and .list.
func offlineQuery(c *Call) (events.OfflineQuery, error) {
	var q events.OfflineQuery
	resolve := func(name string) (*query.Field, bool) {
		f, ok := events.OfflineFields[strings.ToUpper(name)]
		if !ok || f.NoFilter {
			return nil, false
		}
		return f, true
	}
	filter, _ := lookup(c, "filter")
	where, err := wirequery.ParseFilter(filter, resolve)
	if err != nil {
		return q, &crm.Error{Kind: crm.ErrInvalidArg, Msg: err.Error()}
	}
	order, _ := lookup(c, "order")
	ord, err := wirequery.ParseOrder(order, resolve)
	if err != nil {
		return q, &crm.Error{Kind: crm.ErrInvalidArg, Msg: err.Error()}
	}
	q.Where, q.Order, q.Connector = where, ord, text(c, "auth_connector")
	return q, nil
}

// flag reads a 0/1 (Y/N, true/false) parameter with its default.
func flag(c *Call, name string, def bool) bool {
	switch strings.ToLower(text(c, name)) {
	case "":
		return def
	case "1", "y", "true":
		return true
	}
	return false
}

func offlineWire(e *store.OfflineEvent, full bool) jsonx.Map {
	m := jsonx.Map{{K: "ID", V: strconv.FormatInt(e.ID, 10)}, {K: "TIMESTAMP_X", V: e.Timestamp.In(time.Local).Format(wireTime)},
		{K: "EVENT_NAME", V: e.Event}, {K: "EVENT_DATA", V: json.RawMessage(e.Data)}, {K: "EVENT_ADDITIONAL", V: json.RawMessage(e.Additional)},
		{K: "MESSAGE_ID", V: e.MessageID}}
	if full {
		errFlag := "0"
		if e.Error {
			errFlag = "1"
		}
		m = append(m, jsonx.KV{K: "PROCESS_ID", V: e.ProcessID}, jsonx.KV{K: "ERROR", V: errFlag})
	}
	return m
}

func (s *Server) offlineGet(c *Call) (*Result, error) {
	q, err := offlineQuery(c)
	if err != nil {
		return nil, err
	}
	if raw := text(c, "limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n <= 0 {
			return nil, wrongParamType("limit", "int")
		}
		q.Limit = n
	}
	q.Clear, q.Error, q.ProcessID = flag(c, "clear", true), flag(c, "error", false), text(c, "process_id")
	if len(q.ProcessID) > 255 {
		return nil, apiErr(http.StatusBadRequest, "INVALID_ARG_VALUE", "process_id is at most 255 characters")
	}
	pid, list, err := s.events.OfflineGet(c.Ctx, c.Actor, q)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(list))
	for i, e := range list {
		out[i] = offlineWire(e, false)
	}
	var process any
	if pid != "" {
		process = pid
	}
	return &Result{Result: jsonx.Map{{K: "process_id", V: process}, {K: "events", V: out}}}, nil
}

// idList reads a list parameter (id[]=1&id[]=2, or one value).
func idList(c *Call, name string) []string {
	v, ok := lookup(c, name)
	if !ok || v == nil {
		return nil
	}
	if str, isText := params.String(v); isText {
		if str == "" {
			return nil
		}
		return []string{str}
	}
	_, vals, _ := params.Entries(v)
	out := make([]string, 0, len(vals))
	for _, e := range vals {
		if str, isText := params.String(e); isText && str != "" {
			out = append(out, str)
		}
	}
	return out
}

func (s *Server) offlineClear(c *Call) (*Result, error) {
	var ids []int64
	for _, raw := range idList(c, "id") {
		id, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, wrongParamType("id", "int[]")
		}
		ids = append(ids, id)
	}
	if err := s.events.OfflineClear(c.Ctx, c.Actor, text(c, "process_id"), ids, idList(c, "message_id")); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) offlineError(c *Call) (*Result, error) {
	if err := s.events.OfflineError(c.Ctx, c.Actor, text(c, "process_id"), idList(c, "message_id")); err != nil {
		return nil, err
	}
	return &Result{Result: true}, nil
}

func (s *Server) offlineList(c *Call) (*Result, error) {
	q, err := offlineQuery(c)
	if err != nil {
		return nil, err
	}
	q.Offset = int(max(startParam(c.Params), 0))
	list, total, err := s.events.OfflineList(c.Ctx, c.Actor, q)
	if err != nil {
		return nil, err
	}
	out := make([]jsonx.Map, len(list))
	for i, e := range list {
		out[i] = offlineWire(e, true)
	}
	res := &Result{Result: out, Total: &total}
	if next := q.Offset + len(list); next < total {
		res.Next = &next
	}
	return res, nil
}

func (s *Server) eventDeliveries(c *Call) (*Result, error) {
	var q events.DeliveryQuery
	var err error
	if q.HandlerID, err = optionalInt(c, "handler"); err != nil {
		return nil, err
	}
	if q.Before, err = optionalInt(c, "cursor"); err != nil {
		return nil, err
	}
	q.Status = text(c, "status")
	list, handlers, next, err := s.events.Deliveries(c.Ctx, c.Actor, q)
	if err != nil {
		return nil, err
	}
	ms := func(v int64) any {
		if v == 0 {
			return nil
		}
		return time.UnixMilli(v).In(time.Local).Format(wireTime)
	}
	out := make([]jsonx.Map, len(list))
	for i, d := range list {
		var next any
		if d.Status == store.DeliveryPending {
			next = ms(d.NextMS)
		}
		out[i] = jsonx.Map{{K: "id", V: d.ID}, {K: "handlerId", V: d.HandlerID}, {K: "event", V: d.Event}, {K: "object", V: d.ItemKey},
			{K: "status", V: d.Status}, {K: "attempts", V: d.Attempts}, {K: "lastError", V: d.LastError},
			{K: "idempotencyKey", V: events.IdempotencyKey(d.ID)}, {K: "createdTime", V: ms(d.CreatedMS)},
			{K: "nextAttemptTime", V: next}, {K: "finishedTime", V: ms(d.FinishedMS)}}
	}
	var hs []jsonx.Map
	for id, h := range handlers {
		if h == nil {
			continue
		}
		status := "ok"
		if h.Failures > 0 {
			status = "failing"
		}
		hs = append(hs, jsonx.Map{{K: "id", V: id}, {K: "event", V: h.Event}, {K: "handler", V: h.Handler}, {K: "status", V: status},
			{K: "failures", V: h.Failures}, {K: "failingSince", V: ms(h.FailingSinceMS)}, {K: "lastError", V: h.LastError}})
	}
	sortByID(hs)
	var cursor any
	if next != 0 {
		cursor = strconv.FormatInt(next, 10)
	}
	return &Result{Result: jsonx.Map{{K: "deliveries", V: out}, {K: "handlers", V: hs}, {K: "cursor", V: cursor}}}, nil
}

func sortByID(list []jsonx.Map) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j][0].V.(int64) < list[j-1][0].V.(int64); j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}
