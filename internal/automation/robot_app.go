package automation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/riverqueue/river"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/events"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// appRobot runs a robot an application registered: {code, properties, timeout?}. Its
// handler gets what Bitrix24 posts to a robot's handler (spec automation §4.5):
// document_id, document_type, properties (placeholders filled), event_token, ts and
// auth, as a form. Unless the robot says USE_SUBSCRIPTION=N, the run then waits for
// bizproc.event.send with that token (or its timeout), and the values it returns are
// the run's result, which later robots read as {{robot.ID.PROPERTY}}.
type appRobot struct{}

// RobotApp is the robot type of application robots.
const RobotApp = "app"

// logKey holds a run's bizproc.activity.log lines in its result: property ids start
// with a letter, so it is never a returned value's.
const logKey = "_log"

func (appRobot) check(c *checker, p map[string]any) {
	code, _ := p["code"].(string)
	def := c.appRobots[code]
	if code == "" {
		c.add("code", "an app robot needs the code of a registered robot (bizproc.robot.add)")
	} else if def == nil {
		c.add("code", "no application robot %q is registered (bizproc.robot.add)", code)
	}
	props := map[string]any{}
	if raw, given := p["properties"]; given && raw != nil {
		m, ok := raw.(map[string]any)
		if !ok {
			c.add("properties", "properties is an object of property ids and values")
		}
		props = m
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		s, isText := props[k].(string)
		if !isText {
			c.add("properties."+k, "a property's value is text (placeholders allowed)")
			continue
		}
		if def != nil {
			if _, known := def.Properties[k]; !known {
				c.add("properties."+k, "robot %q has no property %q", code, k)
				continue
			}
		}
		c.checkTemplate("properties."+k, s)
	}
	if def != nil {
		required := make([]string, 0, len(def.Properties))
		for k, prop := range def.Properties {
			if strings.EqualFold(prop.Required, "Y") && prop.Default == nil {
				if s, _ := props[k].(string); strings.TrimSpace(s) == "" {
					required = append(required, k)
				}
			}
		}
		sort.Strings(required)
		for _, k := range required {
			c.add("properties."+k, "property %q of robot %q is required", k, code)
		}
	}
	if t, _ := p["timeout"].(string); t != "" {
		if d, err := parseDuration(t); err != nil || d <= 0 {
			c.add("timeout", "timeout is a duration such as 2h or 3d")
		}
	}
}

// awaits: the run waits for bizproc.event.send unless the robot says it will not.
func (appRobot) awaits(rc *runCtx) bool { return rc.app != nil && rc.app.Waits() }

// documentID is the robot's document_id and document_type (spec automation §5.1).
func documentID(etid, id int64) (docID, docType []string) {
	switch etid {
	case 1:
		return []string{"crm", "CCrmDocumentLead", fmt.Sprintf("LEAD_%d", id)}, []string{"crm", "CCrmDocumentLead", "LEAD"}
	case 2:
		return []string{"crm", "CCrmDocumentDeal", fmt.Sprintf("DEAL_%d", id)}, []string{"crm", "CCrmDocumentDeal", "DEAL"}
	}
	const class = `Bitrix\Crm\Integration\BizProc\Document\Dynamic`
	return []string{"crm", class, fmt.Sprintf("DYNAMIC_%d_%d", etid, id)}, []string{"crm", class, fmt.Sprintf("DYNAMIC_%d", etid)}
}

func (appRobot) call(ctx context.Context, rc *runCtx) (map[string]any, error) {
	s := rc.s
	code, _ := rc.robot.Params["code"].(string)
	def, err := s.appRobot(ctx, s.st, code)
	if err != nil {
		return nil, err
	}
	if def == nil {
		return nil, permanent(fmt.Errorf("the application robot %q is no longer registered", code))
	}
	rc.app = def
	// A new token each attempt: the one of an attempt whose answer was lost stops
	// working, the handler gets the new one with the same Idempotency-Key.
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	token := strconv.FormatInt(rc.run.ID, 36) + "." + hex.EncodeToString(raw)
	if err := s.crm.Run(ctx, rc.actor, func(u *crm.Unit) error {
		// Running from now on, in the unit that makes the token good: the handler may
		// answer with bizproc.event.send before its call returns.
		run, err := u.Tx().LockRun(u.Ctx(), rc.run.ID)
		if err != nil {
			return err
		}
		if run.Status == StatusQueued {
			if err := s.markRunning(u, run, int(max(run.Attempts, 1))); err != nil {
				return err
			}
		}
		return u.Tx().PutEventToken(u.Ctx(), rc.run.ID, access.HashSecret(token), s.now().UnixMilli())
	}); err != nil {
		return nil, err
	}
	docID, docType := documentID(rc.t.EntityTypeID, rc.it.ID)
	props := jsonx.Map{}
	given, _ := rc.robot.Params["properties"].(map[string]any)
	keys := make([]string, 0, len(def.Properties))
	for k := range def.Properties {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, ok := given[k].(string)
		switch {
		case ok:
			props = append(props, jsonx.KV{K: k, V: rc.r.render(v)})
		case def.Properties[k].Default != nil:
			props = append(props, jsonx.KV{K: k, V: fmt.Sprint(def.Properties[k].Default)})
		}
	}
	var auth jsonx.Map
	if s.opts.AppAuth != nil {
		if auth, err = s.opts.AppAuth(ctx, def.AppID); err != nil {
			return nil, err
		}
	}
	form := jsonx.Map{{K: "document_id", V: docID}, {K: "document_type", V: docType}, {K: "properties", V: props},
		{K: "event_token", V: token}, {K: "ts", V: strconv.FormatInt(s.now().Unix(), 10)}, {K: "auth", V: auth}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, def.Handler, strings.NewReader(events.Form(form)))
	if err != nil {
		return nil, permanent(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Idempotency-Key", s.idempotencyKey(rc.run))
	req.Header.Set("User-Agent", "smartcrm-automation")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, err // the network: retried
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	result := map[string]any{"status": resp.StatusCode}
	switch {
	case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
		return result, fmt.Errorf("%s answered %d", def.Handler, resp.StatusCode)
	case resp.StatusCode >= 400:
		return result, permanent(fmt.Errorf("%s answered %d", def.Handler, resp.StatusCode))
	}
	return result, nil
}

// await puts a run whose handler took the call to wait for bizproc.event.send, with
// the job that ends the waiting at its timeout.
func (s *Service) await(u *crm.Unit, run *store.AutomationRun, r *Robot, result map[string]any) error {
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return err
		}
		run.Result = string(b)
	}
	run.Status, run.Error = StatusWaiting, ""
	if timeout, _ := r.Params["timeout"].(string); timeout != "" {
		if d, err := parseDuration(timeout); err == nil {
			run.ScheduledTime = s.now().Add(d)
			if _, err := s.river.InsertTx(u.Ctx(), u.Tx().JobTx(), RunArgs{RunID: run.ID, Timeout: true},
				&river.InsertOpts{ScheduledAt: run.ScheduledTime}); err != nil {
				return err
			}
		}
	}
	return u.Tx().UpdateRun(u.Ctx(), run)
}

// errBadToken answers a token that is unknown, used, or of a run no longer waiting.
var errBadToken = &events.Error{Status: http.StatusForbidden, Code: "ACCESS_DENIED", Msg: "Access denied!"}

// tokenRun finds the open application-robot run a token belongs to.
func (s *Service) tokenRun(ctx context.Context, token string) (*store.AutomationRun, error) {
	if token == "" || len(token) > 256 {
		return nil, errBadToken
	}
	id, err := s.st.EventTokenRun(ctx, access.HashSecret(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	run, err := s.st.Run(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadToken
	}
	return run, err
}

// EventSend is bizproc.event.send: the application robot's run waiting on the token is
// done, its result the values returned (those the robot declares, when it declares
// any), and the robots after it go on. A token is good once.
func (s *Service) EventSend(ctx context.Context, token string, values map[string]any, logMessage string) error {
	run, err := s.tokenRun(ctx, token)
	if err != nil {
		return err
	}
	return s.crm.Run(ctx, actorOf(run), func(u *crm.Unit) error {
		if _, err := u.Tx().TakeEventToken(u.Ctx(), access.HashSecret(token)); errors.Is(err, store.ErrNotFound) {
			return errBadToken // used meanwhile
		} else if err != nil {
			return err
		}
		run, err := u.Tx().LockRun(u.Ctx(), run.ID)
		if err != nil {
			return err
		}
		if run.RobotType != RobotApp || (run.Status != StatusRunning && run.Status != StatusWaiting) {
			return errBadToken
		}
		r, err := robotOf(run)
		if err != nil {
			return err
		}
		result := map[string]any{}
		if run.Result != "" {
			_ = json.Unmarshal([]byte(run.Result), &result)
		}
		code, _ := r.Params["code"].(string)
		def, err := s.appRobot(u.Ctx(), u.Tx(), code)
		if err != nil {
			return err
		}
		for k, v := range values {
			if def != nil && len(def.Return) > 0 {
				if _, declared := def.Return[k]; !declared {
					continue
				}
			}
			if k != logKey {
				result[k] = v
			}
		}
		if logMessage != "" {
			result[logKey] = appendLog(result[logKey], logMessage)
		}
		return s.finish(u, run, r, StatusDone, result, "")
	})
}

// ActivityLog is bizproc.activity.log: a line in the log of the run waiting on the
// token, which stays good.
func (s *Service) ActivityLog(ctx context.Context, token, message string) error {
	run, err := s.tokenRun(ctx, token)
	if err != nil {
		return err
	}
	return s.crm.Run(ctx, actorOf(run), func(u *crm.Unit) error {
		run, err := u.Tx().LockRun(u.Ctx(), run.ID)
		if err != nil {
			return err
		}
		if run.RobotType != RobotApp || (run.Status != StatusRunning && run.Status != StatusWaiting) {
			return errBadToken
		}
		result := map[string]any{}
		if run.Result != "" {
			_ = json.Unmarshal([]byte(run.Result), &result)
		}
		result[logKey] = appendLog(result[logKey], message)
		b, err := json.Marshal(result)
		if err != nil {
			return err
		}
		run.Result = string(b)
		return u.Tx().UpdateRun(u.Ctx(), run)
	})
}

// maxLogLines bounds a run's log.
const maxLogLines = 100

func appendLog(prev any, line string) []any {
	lines, _ := prev.([]any)
	if len(line) > 4096 {
		line = line[:4096]
	}
	if len(lines) >= maxLogLines {
		lines = lines[len(lines)-maxLogLines+1:]
	}
	return append(lines, line)
}
