package automation_test

import (
	"context"
	"fmt"
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
	"smartcrm/internal/testdb"
)

// appHandler is an application robot's handler: it records the forms it gets.
type appHandler struct {
	*httptest.Server
	mu    sync.Mutex
	forms []url.Values
	keys  []string
}

func newAppHandler(t *testing.T) *appHandler {
	h := &appHandler{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		f, _ := url.ParseQuery(string(b))
		h.mu.Lock()
		h.forms = append(h.forms, f)
		h.keys = append(h.keys, req.Header.Get("Idempotency-Key"))
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *appHandler) Forms() []url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]url.Values(nil), h.forms...)
}

// An application robot round trip: registered with bizproc.robot.add, placed in the
// document as type "app", called with Bitrix24's form, waiting until
// bizproc.event.send answers, whose values the next robot reads.
func TestAppRobot(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		clk := newClock()
		s := start(t, dialect, func(c *app.Config) { c.Clock = clk.Now })
		h := newAppHandler(t)
		etid := newProcess(s, "Contracts", nil)
		robot := map[string]any{"CODE": "sms_robot", "HANDLER": h.URL + "/sms", "NAME": map[string]any{"en": "Send SMS"},
			"PROPERTIES": map[string]any{
				"phone": map[string]any{"Name": "Phone", "Type": "string", "Required": "Y"},
				"text":  map[string]any{"Name": "Text", "Type": "text"},
				"kind":  map[string]any{"Name": "Kind", "Type": "select", "Default": "plain"},
			},
			"RETURN_PROPERTIES": map[string]any{"messageId": map[string]any{"Name": "Message id"}}}
		if s.MustOK("bizproc.robot.add", robot) != true {
			t.Fatal("bizproc.robot.add did not answer true")
		}
		s.MustOK("bizproc.robot.add", map[string]any{"CODE": "fire.and.forget", "HANDLER": h.URL + "/fire", "NAME": "Notify", "USE_SUBSCRIPTION": "N"})

		// Bad input: the spec's errors, nothing stored.
		bad := []struct {
			params map[string]any
			code   string
			text   string
		}{
			{map[string]any{"CODE": "has spaces", "HANDLER": h.URL, "NAME": "x"}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong activity code!"},
			{map[string]any{"HANDLER": h.URL, "NAME": "x"}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty activity code!"},
			{map[string]any{"CODE": "n", "HANDLER": h.URL}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty activity NAME!"},
			{map[string]any{"CODE": "p", "HANDLER": h.URL, "NAME": "x", "PROPERTIES": map[string]any{"a": map[string]any{"Type": "string"}}},
				"ERROR_ACTIVITY_VALIDATION_FAILURE", "Empty property NAME a!"},
			{map[string]any{"CODE": "p", "HANDLER": h.URL, "NAME": "x", "PROPERTIES": map[string]any{"1a": map[string]any{"Name": "A"}}},
				"ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong property key 1a!"},
			{map[string]any{"CODE": "p", "HANDLER": h.URL, "NAME": "x", "PROPERTIES": "text"}, "ERROR_ACTIVITY_VALIDATION_FAILURE", "Wrong properties array!"},
			{map[string]any{"CODE": "u", "HANDLER": "not a url", "NAME": "x"}, "ERROR_WRONG_HANDLER_URL", "Wrong handler URL"},
			{map[string]any{"CODE": "u", "HANDLER": "ftp://example.com/", "NAME": "x"}, "ERROR_UNSUPPORTED_PROTOCOL", "Unsupported protocol"},
			{robot, "ERROR_ACTIVITY_ALREADY_INSTALLED", "Activity or Robot already installed!"},
		}
		for _, b := range bad {
			r := s.MustFail("bizproc.robot.add", b.params, http.StatusBadRequest, b.code)
			if _, desc := r.Error(); desc != b.text {
				t.Errorf("%v: %q, want %q", b.params, desc, b.text)
			}
		}
		s.MustFail("bizproc.robot.update", map[string]any{"CODE": "nope", "FIELDS": map[string]any{"NAME": "y"}}, http.StatusBadRequest, "ERROR_ACTIVITY_NOT_FOUND")
		s.MustFail("bizproc.robot.update", map[string]any{"CODE": "sms_robot"}, http.StatusBadRequest, "ERROR_ACTIVITY_VALIDATION_FAILURE")
		s.MustFail("bizproc.robot.delete", map[string]any{"CODE": "nope"}, http.StatusBadRequest, "ERROR_ACTIVITY_NOT_FOUND")
		if got := fmt.Sprint(s.MustOK("bizproc.robot.list", nil)); got != "[fire.and.forget sms_robot]" {
			t.Fatalf("bizproc.robot.list: %s", got)
		}

		// The document: unknown robots, properties and missing required ones are refused.
		doc := func(params map[string]any) map[string]any {
			return map[string]any{"automation": map[string]any{"entityTypeId": etid, "categoryId": 1, "version": 0, "stages": map[string]any{
				stage(etid, "PREPARATION"): map[string]any{"robots": []any{map[string]any{"id": "sms", "type": "app", "params": params}}}}}}
		}
		for _, p := range []map[string]any{
			{"code": "nope"},
			{"code": "sms_robot", "properties": map[string]any{"phone": "1", "color": "red"}},
			{"code": "sms_robot", "properties": map[string]any{"text": "hi"}},
			{"code": "sms_robot", "properties": map[string]any{"phone": "{{nosuchfield}}"}},
		} {
			s.MustFail("smartcrm.automation.set", doc(p), http.StatusBadRequest, "AUTOMATION_INVALID")
		}

		setAutomation(s, etid, map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "sms", "type": "app", "params": map[string]any{"code": "sms_robot", "timeout": "1d",
				"properties": map[string]any{"phone": "{{title}}", "text": "Contract {{id}} is ready"}}},
			map[string]any{"id": "note", "type": "comment", "params": map[string]any{"text": "SMS {{robot.sms.messageId}} sent"}},
			map[string]any{"id": "bell", "type": "app", "params": map[string]any{"code": "fire.and.forget"}},
		}}})
		item := addItem(s, etid, map[string]any{"title": "+49 30 1234"})
		move(s, etid, item, "PREPARATION")
		waitStatuses(t, s, etid, item, "sms:waiting note:waiting bell:waiting")
		forms := h.Forms()
		if len(forms) != 1 {
			t.Fatalf("handler calls: %v", forms)
		}
		f := forms[0]
		token, _ := s.App.Store.ApplicationToken(context.Background(), 1)
		want := map[string]string{
			"document_id[0]": "crm", "document_id[1]": `Bitrix\Crm\Integration\BizProc\Document\Dynamic`,
			"document_id[2]": fmt.Sprintf("DYNAMIC_%d_%d", etid, item), "document_type[0]": "crm",
			"document_type[1]": `Bitrix\Crm\Integration\BizProc\Document\Dynamic`, "document_type[2]": fmt.Sprintf("DYNAMIC_%d", etid),
			"properties[phone]": "+49 30 1234", "properties[text]": fmt.Sprintf("Contract %d is ready", item), "properties[kind]": "plain",
			"auth[application_token]": token, "auth[client_endpoint]": s.HTTP.URL + "/rest/",
		}
		for k, v := range want {
			if f.Get(k) != v {
				t.Errorf("%s = %q, want %q", k, f.Get(k), v)
			}
		}
		if f.Get("event_token") == "" || f.Get("ts") == "" || !strings.HasPrefix(h.keys[0], "smartcrm-") {
			t.Errorf("token %q, ts %q, key %q", f.Get("event_token"), f.Get("ts"), h.keys[0])
		}

		// A forged token is refused and changes nothing.
		s.MustFail("bizproc.event.send", map[string]any{"EVENT_TOKEN": f.Get("event_token") + "x"}, http.StatusForbidden, "ACCESS_DENIED")
		s.MustFail("bizproc.event.send", map[string]any{}, http.StatusBadRequest, "ERROR_REQUIRED_PARAMETERS_MISSING")
		s.MustOK("bizproc.activity.log", map[string]any{"EVENT_TOKEN": f.Get("event_token"), "LOG_MESSAGE": "queued at the gateway"})
		waitStatuses(t, s, etid, item, "sms:waiting note:waiting bell:waiting")

		s.MustOK("bizproc.event.send", map[string]any{"EVENT_TOKEN": f.Get("event_token"),
			"RETURN_VALUES": map[string]any{"messageId": "m-42", "undeclared": "dropped"}, "LOG_MESSAGE": "delivered"})
		waitStatuses(t, s, etid, item, "sms:done note:done bell:done")
		list := runs(s, etid, item)
		sms := list[len(list)-1]
		if apitest.Str(sms, "result.messageId") != "m-42" || apitest.Path(sms, "result.undeclared") != nil ||
			fmt.Sprint(apitest.Path(sms, "result._log")) != "[queued at the gateway delivered]" {
			t.Errorf("the run's result: %v", apitest.Path(sms, "result"))
		}
		comments := s.MustOK("crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_ID": item, "ENTITY_TYPE": fmt.Sprintf("dynamic_%d", etid)}})
		if !strings.Contains(fmt.Sprint(comments), "SMS m-42 sent") {
			t.Errorf("the next robot did not read the returned value: %v", comments)
		}
		if len(h.Forms()) != 2 {
			t.Errorf("calls: %d (the robot that does not wait runs after)", len(h.Forms()))
		}
		// A used token is refused.
		s.MustFail("bizproc.event.send", map[string]any{"EVENT_TOKEN": f.Get("event_token")}, http.StatusForbidden, "ACCESS_DENIED")
		s.MustFail("bizproc.activity.log", map[string]any{"EVENT_TOKEN": f.Get("event_token"), "LOG_MESSAGE": "late"}, http.StatusForbidden, "ACCESS_DENIED")

		// No answer before the timeout: the run fails and the chain goes on.
		other := addItem(s, etid, map[string]any{"title": "+1 555"})
		move(s, etid, other, "PREPARATION")
		waitStatuses(t, s, etid, other, "sms:waiting note:waiting bell:waiting")
		clk.Advance(25 * time.Hour)
		waitStatuses(t, s, etid, other, "sms:failed note:done bell:done")
		if e := apitest.Str(runs(s, etid, other)[2], "error"); !strings.Contains(e, "bizproc.event.send") {
			t.Errorf("timeout error: %q", e)
		}

		s.MustOK("bizproc.robot.delete", map[string]any{"CODE": "fire.and.forget"})
		if got := fmt.Sprint(s.MustOK("bizproc.robot.list", nil)); got != "[sms_robot]" {
			t.Errorf("after delete: %s", got)
		}
	})
}
