package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/events"
	"smartcrm/internal/store"
)

// Application robots (bizproc.robot.*, spec automation §4.4): an application
// registers a robot by code with its handler and properties; the robot then appears in
// the catalogue as type "app" ({code, properties}) and, when it runs, its handler is
// called (robot_app.go). Usable with an inbound webhook, which is an application here.

// AppRobotProperty is one property of an application robot, as bizproc.robot.add
// takes it.
type AppRobotProperty struct {
	Name        any    `json:"Name"`
	Description any    `json:"Description,omitempty"`
	Type        string `json:"Type,omitempty"`
	Options     any    `json:"Options,omitempty"`
	Required    string `json:"Required,omitempty"`
	Multiple    string `json:"Multiple,omitempty"`
	Default     any    `json:"Default,omitempty"`
}

// AppRobotDef is a registered robot.
type AppRobotDef struct {
	Code            string                      `json:"CODE"`
	Handler         string                      `json:"HANDLER"`
	AuthUserID      int64                       `json:"AUTH_USER_ID,omitempty"`
	UseSubscription string                      `json:"USE_SUBSCRIPTION"`
	Name            any                         `json:"NAME"`
	Description     any                         `json:"DESCRIPTION,omitempty"`
	Properties      map[string]AppRobotProperty `json:"PROPERTIES,omitempty"`
	Return          map[string]AppRobotProperty `json:"RETURN_PROPERTIES,omitempty"`
	DocumentType    any                         `json:"DOCUMENT_TYPE,omitempty"`
	Filter          any                         `json:"FILTER,omitempty"`
	// AppID is the application that registered it: its token goes to the handler.
	AppID int64 `json:"-"`
}

// Waits tells whether a run waits for bizproc.event.send: only an explicit N says no.
func (d *AppRobotDef) Waits() bool { return !strings.EqualFold(d.UseSubscription, "N") }

// Errors of bizproc.robot.* (spec automation §4.4).
func activityInvalid(format string, a ...any) error {
	return &events.Error{Status: http.StatusBadRequest, Code: "ERROR_ACTIVITY_VALIDATION_FAILURE", Msg: fmt.Sprintf(format, a...)}
}

var (
	errRobotInstalled = &events.Error{Status: http.StatusBadRequest, Code: "ERROR_ACTIVITY_ALREADY_INSTALLED", Msg: "Activity or Robot already installed!"}
	errRobotNotFound  = &events.Error{Status: http.StatusBadRequest, Code: "ERROR_ACTIVITY_NOT_FOUND", Msg: "Activity or Robot not found!"}
	errRobotDenied    = &events.Error{Status: http.StatusForbidden, Code: "ACCESS_DENIED", Msg: "Access denied!"}
	errRobotNoApp     = &events.Error{Status: http.StatusForbidden, Code: "ACCESS_DENIED", Msg: "Application context required"}
)

var (
	robotCode   = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)
	propertyKey = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)
)

// maxRobotProperties bounds the properties of one robot.
const maxRobotProperties = 200

// ParseAppRobot reads the fields of bizproc.robot.add (update: the FIELDS of
// bizproc.robot.update over the robot as it was), as plain JSON-like values, and
// checks them with Bitrix24's errors.
func ParseAppRobot(fields map[string]any, base *AppRobotDef) (*AppRobotDef, error) {
	if len(fields) == 0 {
		if base != nil {
			return nil, activityInvalid("No fields to update")
		}
		return nil, activityInvalid("Empty data!")
	}
	d := &AppRobotDef{}
	if base != nil {
		*d = *base
	}
	get := func(name string) (any, bool) {
		for k, v := range fields {
			if strings.EqualFold(k, name) {
				return v, true
			}
		}
		return nil, false
	}
	str := func(name string) string {
		v, _ := get(name)
		switch t := v.(type) {
		case string:
			return strings.TrimSpace(t)
		case json.Number:
			return t.String()
		case float64:
			return strconv.FormatFloat(t, 'f', -1, 64)
		}
		return ""
	}
	if base == nil {
		d.Code = str("CODE")
		switch {
		case d.Code == "":
			return nil, activityInvalid("Empty activity code!")
		case !robotCode.MatchString(d.Code):
			return nil, activityInvalid("Wrong activity code!")
		}
	}
	if _, given := get("HANDLER"); given || base == nil {
		d.Handler = str("HANDLER")
		if d.Handler == "" {
			return nil, &events.Error{Status: http.StatusBadRequest, Code: "ERROR_WRONG_HANDLER_URL", Msg: "Wrong handler URL"}
		}
		if err := events.CheckHandlerURL(d.Handler); err != nil {
			return nil, err
		}
	}
	if v, given := get("NAME"); given || base == nil {
		if !nonEmptyText(v) {
			return nil, activityInvalid("Empty activity NAME!")
		}
		d.Name = v
	}
	if v, given := get("DESCRIPTION"); given {
		d.Description = v
	}
	if _, given := get("USE_SUBSCRIPTION"); given {
		switch u := strings.ToUpper(str("USE_SUBSCRIPTION")); u {
		case "", "Y", "N":
			d.UseSubscription = u
		default:
			return nil, activityInvalid("Wrong USE_SUBSCRIPTION value!")
		}
	}
	if _, given := get("AUTH_USER_ID"); given {
		raw := str("AUTH_USER_ID")
		id, err := strconv.ParseInt(raw, 10, 64)
		if raw != "" && (err != nil || id < 0) {
			return nil, activityInvalid("Wrong AUTH_USER_ID!")
		}
		d.AuthUserID = id
	}
	for _, p := range []struct {
		name string
		dst  *map[string]AppRobotProperty
	}{{"PROPERTIES", &d.Properties}, {"RETURN_PROPERTIES", &d.Return}} {
		v, given := get(p.name)
		if !given {
			continue
		}
		props, err := parseProperties(v)
		if err != nil {
			return nil, err
		}
		*p.dst = props
	}
	if v, given := get("DOCUMENT_TYPE"); given {
		list, ok := v.([]any)
		if v != nil && v != "" && (!ok || len(list) != 3) {
			return nil, activityInvalid("Wrong activity DOCUMENT_TYPE!")
		}
		d.DocumentType = v
	}
	if v, given := get("FILTER"); given {
		if _, ok := v.(map[string]any); v != nil && v != "" && !ok {
			return nil, activityInvalid("Wrong activity FILTER!")
		}
		d.Filter = v
	}
	return d, nil
}

// nonEmptyText: a name is a text, or a map of texts per language with one that is not
// empty.
func nonEmptyText(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t) != ""
	case map[string]any:
		for _, e := range t {
			if s, ok := e.(string); ok && strings.TrimSpace(s) != "" {
				return true
			}
		}
	}
	return false
}

func parseProperties(v any) (map[string]AppRobotProperty, error) {
	if v == nil || v == "" {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		if list, isList := v.([]any); isList && len(list) == 0 {
			return nil, nil // PHP's empty array
		}
		return nil, activityInvalid("Wrong properties array!")
	}
	if len(m) > maxRobotProperties {
		return nil, activityInvalid("Wrong properties array!")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]AppRobotProperty, len(m))
	for _, k := range keys {
		if !propertyKey.MatchString(k) {
			return nil, activityInvalid("Wrong property key %s!", k)
		}
		raw, ok := m[k].(map[string]any)
		if !ok {
			return nil, activityInvalid("Empty property NAME %s!", k)
		}
		var p AppRobotProperty
		for name, val := range raw {
			switch strings.ToUpper(name) {
			case "NAME":
				p.Name = val
			case "DESCRIPTION":
				p.Description = val
			case "TYPE":
				p.Type, _ = val.(string)
			case "OPTIONS":
				p.Options = val
			case "REQUIRED":
				p.Required, _ = val.(string)
			case "MULTIPLE":
				p.Multiple, _ = val.(string)
			case "DEFAULT":
				p.Default = val
			}
		}
		if !nonEmptyText(p.Name) {
			return nil, activityInvalid("Empty property NAME %s!", k)
		}
		out[k] = p
	}
	return out, nil
}

func decodeAppRobot(rec *store.AppRobot) (*AppRobotDef, error) {
	d := &AppRobotDef{}
	if err := json.Unmarshal([]byte(rec.Definition), d); err != nil {
		return nil, fmt.Errorf("robot %s does not decode: %w", rec.Code, err)
	}
	d.Code, d.Handler, d.AuthUserID, d.UseSubscription, d.AppID = rec.Code, rec.Handler, rec.AuthUserID, rec.UseSubscription, rec.AppID
	return d, nil
}

func (s *Service) robotAdmin(actor access.Actor) error {
	if actor.AppID == 0 {
		return errRobotNoApp
	}
	if !actor.IsAdmin {
		return errRobotDenied
	}
	return nil
}

// AddAppRobot is bizproc.robot.add.
func (s *Service) AddAppRobot(ctx context.Context, actor access.Actor, fields map[string]any) error {
	if err := s.robotAdmin(actor); err != nil {
		return err
	}
	d, err := ParseAppRobot(fields, nil)
	if err != nil {
		return err
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		err := u.Tx().InsertAppRobot(u.Ctx(), storedRobot(d, actor, s.now().UnixMilli()))
		if errors.Is(err, store.ErrConflict) {
			return errRobotInstalled
		}
		return err
	})
}

func storedRobot(d *AppRobotDef, actor access.Actor, nowMS int64) *store.AppRobot {
	body, _ := json.Marshal(d)
	return &store.AppRobot{Code: d.Code, AppID: actor.AppID, Handler: d.Handler, AuthUserID: d.AuthUserID,
		UseSubscription: d.UseSubscription, Definition: string(body), CreatedBy: actor.UserID, CreatedMS: nowMS}
}

// appRobot finds a registered robot; nil when there is none.
func (s *Service) appRobot(ctx context.Context, q interface {
	AppRobots(context.Context) ([]*store.AppRobot, error)
}, code string) (*AppRobotDef, error) {
	list, err := q.AppRobots(ctx)
	if err != nil {
		return nil, err
	}
	for _, rec := range list {
		if rec.Code == code {
			return decodeAppRobot(rec)
		}
	}
	return nil, nil
}

// UpdateAppRobot is bizproc.robot.update {CODE, FIELDS}.
func (s *Service) UpdateAppRobot(ctx context.Context, actor access.Actor, code string, fields map[string]any) error {
	if err := s.robotAdmin(actor); err != nil {
		return err
	}
	if code == "" {
		return activityInvalid("Empty activity code!")
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		base, err := s.appRobot(u.Ctx(), u.Tx(), code)
		if err != nil {
			return err
		}
		if base == nil {
			return errRobotNotFound
		}
		d, err := ParseAppRobot(fields, base)
		if err != nil {
			return err
		}
		return u.Tx().UpdateAppRobot(u.Ctx(), storedRobot(d, actor, 0))
	})
}

// AppRobotCodes is bizproc.robot.list: the codes of the registered robots.
func (s *Service) AppRobotCodes(ctx context.Context, actor access.Actor) ([]string, error) {
	if err := s.robotAdmin(actor); err != nil {
		return nil, err
	}
	list, err := s.st.AppRobots(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.Code
	}
	return out, nil
}

// DeleteAppRobot is bizproc.robot.delete.
func (s *Service) DeleteAppRobot(ctx context.Context, actor access.Actor, code string) error {
	if err := s.robotAdmin(actor); err != nil {
		return err
	}
	if code == "" {
		return activityInvalid("Empty activity code!")
	}
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		err := u.Tx().DeleteAppRobot(u.Ctx(), code)
		if errors.Is(err, store.ErrNotFound) {
			return errRobotNotFound
		}
		return err
	})
}
