package events

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// Error is a refusal as Bitrix24 words it for the event.* and bizproc.* methods: the
// HTTP status, the `error` code and its description.
type Error struct {
	Status int
	Code   string
	Msg    string
}

func (e *Error) Error() string { return e.Msg }

func refuse(status int, code, format string, a ...any) *Error {
	return &Error{Status: status, Code: code, Msg: fmt.Sprintf(format, a...)}
}

// Errors of the event methods (spec core §9.3, §9.4).
var (
	errEventNotFound = refuse(http.StatusBadRequest, "ERROR_EVENT_NOT_FOUND", "Event not found")
	errAccessDenied  = refuse(http.StatusForbidden, "ACCESS_DENIED", "Access denied!")
	errNoApp         = refuse(http.StatusUnauthorized, "WRONG_AUTH_TYPE", "Application context required")
	errBound         = refuse(http.StatusBadRequest, "ERROR_CORE", "Unable to set event handler: Handler already binded")
)

// Missing is a required parameter left out.
func Missing(name string) *Error {
	return refuse(http.StatusBadRequest, "ERROR_REQUIRED_PARAMETERS_MISSING", "Required parameter %q is missing", name)
}

// CheckHandlerURL tells whether a handler address is one events and robots can be
// sent to: an absolute http(s) URL with a host. The errors are Bitrix24's.
func CheckHandlerURL(raw string) error {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" || len(raw) > 2048 {
		return refuse(http.StatusBadRequest, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return refuse(http.StatusBadRequest, "ERROR_UNSUPPORTED_PROTOCOL", "Unsupported protocol")
	}
	if u.User != nil {
		return refuse(http.StatusBadRequest, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL")
	}
	return nil
}

// subscriptions is every subscription, read at once and kept until one changes (or,
// for changes by other processes, for a second).
type subscriptions struct {
	gen     int64
	read    time.Time
	byID    map[int64]*store.EventHandler
	byEvent map[string][]*store.EventHandler
}

const subscriptionsTTL = time.Second

// current returns the subscriptions, reading them again when they may be stale.
func (s *Service) current(ctx context.Context) (*subscriptions, error) {
	if cur := s.subs.Load(); cur != nil && cur.gen == s.subsGen.Load() && time.Since(cur.read) < subscriptionsTTL {
		return cur, nil
	}
	gen := s.subsGen.Load()
	list, err := s.st.EventHandlers(ctx)
	if err != nil {
		return nil, err
	}
	subs := &subscriptions{gen: gen, read: time.Now(), byID: map[int64]*store.EventHandler{}, byEvent: map[string][]*store.EventHandler{}}
	for _, h := range list {
		subs.byID[h.ID] = h
		subs.byEvent[h.Event] = append(subs.byEvent[h.Event], h)
	}
	s.subs.Store(subs)
	return subs, nil
}

// changed drops the kept subscriptions.
func (s *Service) changed() { s.subsGen.Add(1) }

// Binding is an event.bind call.
type Binding struct {
	Event     string
	Handler   string
	AuthType  int64
	Offline   bool
	Connector string
	// MinTimeout is options[minTimeout]: the least number of seconds between two
	// ONOFFLINEEVENT notifications.
	MinTimeout int64
}

// Bind subscribes the caller's application.
func (s *Service) Bind(ctx context.Context, actor access.Actor, b Binding) error {
	if actor.AppID == 0 {
		return errNoApp
	}
	if strings.TrimSpace(b.Event) == "" {
		return Missing("EVENT")
	}
	name, typeID, ok := Canonical(b.Event)
	if !ok {
		return errEventNotFound
	}
	if typeID != 0 {
		t, err := s.crm.ItemType(ctx, access.System, typeID)
		if crm.KindOf(err) == crm.ErrTypeNotFound || (err == nil && t.IsStandard()) {
			return errEventNotFound
		}
		if err != nil {
			return err
		}
	}
	if b.MinTimeout < 0 {
		return refuse(http.StatusBadRequest, "INVALID_ARG_VALUE", "options[minTimeout] is a number of seconds")
	}
	if b.Offline && name == OfflineNotice {
		// The notice is about the offline queue; queueing it would tell nobody.
		return refuse(http.StatusBadRequest, "ERROR_EVENT_TYPE", "ONOFFLINEEVENT is an online event")
	}
	if b.Offline {
		if !actor.IsAdmin {
			return errAccessDenied
		}
		b.Handler = ""
	} else {
		if strings.TrimSpace(b.Handler) == "" {
			return Missing("HANDLER")
		}
		if err := CheckHandlerURL(b.Handler); err != nil {
			return err
		}
		b.Handler = strings.TrimSpace(b.Handler)
		b.Connector = ""
	}
	if b.AuthType < 0 || (b.AuthType != 0 && b.AuthType != actor.UserID && !actor.IsAdmin) {
		return errAccessDenied
	}
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertEventHandler(ctx, &store.EventHandler{AppID: actor.AppID, UserID: actor.UserID, Event: name, Handler: b.Handler,
			AuthType: b.AuthType, Offline: b.Offline, Connector: b.Connector, CreatedMS: s.now().UnixMilli(), MinTimeoutS: b.MinTimeout})
	})
	if errors.Is(err, store.ErrConflict) {
		return errBound
	}
	s.changed()
	return err
}

// Unbind removes the caller's application's subscriptions of an event to a handler
// (auth type nil: whatever their auth type) and tells how many there were.
func (s *Service) Unbind(ctx context.Context, actor access.Actor, b Binding, anyAuthType bool) (int, error) {
	if actor.AppID == 0 {
		return 0, errNoApp
	}
	if strings.TrimSpace(b.Event) == "" {
		return 0, Missing("EVENT")
	}
	name, _, ok := Canonical(b.Event)
	if !ok {
		return 0, errEventNotFound
	}
	if !b.Offline && strings.TrimSpace(b.Handler) == "" {
		return 0, Missing("HANDLER")
	}
	subs, err := s.current(ctx)
	if err != nil {
		return 0, err
	}
	var gone []int64
	for _, h := range subs.byEvent[name] {
		if h.AppID == actor.AppID && h.Offline == b.Offline && (b.Offline || h.Handler == strings.TrimSpace(b.Handler)) &&
			(anyAuthType || h.AuthType == b.AuthType) && (!b.Offline || h.Connector == b.Connector) {
			gone = append(gone, h.ID)
		}
	}
	if len(gone) == 0 {
		return 0, nil
	}
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		for _, id := range gone {
			if err := tx.DeleteEventHandler(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.changed()
	s.d.forget(gone)
	return len(gone), nil
}

// Handlers lists the caller's application's subscriptions, oldest first.
func (s *Service) Handlers(ctx context.Context, actor access.Actor) ([]*store.EventHandler, error) {
	if actor.AppID == 0 {
		return nil, errNoApp
	}
	s.changed() // read them fresh: failures are counted as deliveries go
	subs, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	var out []*store.EventHandler
	for _, h := range subs.byID {
		if h.AppID == actor.AppID {
			out = append(out, h)
		}
	}
	sortHandlers(out)
	return out, nil
}

func sortHandlers(list []*store.EventHandler) {
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].ID < list[j-1].ID; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
}

// Names lists every event one can subscribe to, upper case, the per-type item events
// of every smart process included.
func (s *Service) Names(ctx context.Context, actor access.Actor) ([]string, error) {
	types, err := s.crm.AllTypes(ctx, actor)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, t := range types {
		if !t.IsStandard() {
			ids = append(ids, t.EntityTypeID)
		}
	}
	return All(ids), nil
}
