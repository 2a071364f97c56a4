package automation_test

import (
	"fmt"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// get reads a funnel's document.
func getDoc(s *apitest.Server, etid, cat int64) any {
	return s.MustOK("smartcrm.automation.get", map[string]any{"entityTypeId": etid, "categoryId": cat})
}

// A document is read and written whole, with a version; a bad one is refused with
// every problem listed and nothing stored; deals and leads have automation too.
func TestDocumentValidationAndVersions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		etid := newProcess(s, "Contracts", map[string]any{"isCategoriesEnabled": "Y"})
		other := apitest.Int(s.MustOK("crm.category.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"name": "Wholesale"}}), "category.id")

		empty := getDoc(s, etid, 1)
		if apitest.Int(empty, "automation.version") != 0 || apitest.Int(empty, "automation.entityTypeId") != etid ||
			apitest.Int(empty, "automation.categoryId") != 1 {
			t.Fatalf("empty document: %v", empty)
		}
		good := map[string]any{stage(etid, "PREPARATION"): map[string]any{"robots": []any{
			map[string]any{"id": "note", "type": "comment", "title": "Say hello", "params": map[string]any{"text": "hello {{title}}"}},
		}}}
		saved := s.MustOK("smartcrm.automation.set", map[string]any{"automation": map[string]any{
			"entityTypeId": etid, "categoryId": 1, "version": 0, "stages": good}})
		if apitest.Int(saved, "automation.version") != 1 {
			t.Fatalf("saved: %v", saved)
		}
		read := getDoc(s, etid, 1)
		if apitest.Int(read, "automation.version") != 1 ||
			apitest.Str(read, fmt.Sprintf("automation.stages.%s.robots.0.title", stage(etid, "PREPARATION"))) != "Say hello" {
			t.Fatalf("read back: %v", read)
		}
		// A stale version is refused and changes nothing.
		r := s.Call("smartcrm.automation.set", map[string]any{"automation": map[string]any{
			"entityTypeId": etid, "categoryId": 1, "version": 0, "stages": map[string]any{}}})
		if code, _ := r.Error(); r.Status != 409 || code != "VERSION_CONFLICT" {
			t.Errorf("stale version: %d %s", r.Status, r.Raw)
		}

		bad := map[string]any{
			stage(etid, "PREPARATION"): map[string]any{"robots": []any{
				map[string]any{"id": "a", "type": "comment", "condition": "opportunity >", "params": map[string]any{"text": "x"}},
				map[string]any{"id": "a", "type": "comment", "params": map[string]any{"text": "{{nosuchField}}"}},
				map[string]any{"id": "hook", "type": "webhook", "params": map[string]any{"url": "ftp://example.com/x"}},
				map[string]any{"id": "set", "type": "fields", "params": map[string]any{"fields": map[string]any{"ufCrmNope": 1}}},
				map[string]any{"id": "what", "type": "teleport", "params": map[string]any{}},
			}, "triggers": []any{
				map[string]any{"id": "has spaces", "type": "webhook"},
			}},
			fmt.Sprintf("DT%d_%d:NEW", etid, other): map[string]any{"robots": []any{
				map[string]any{"id": "elsewhere", "type": "comment", "params": map[string]any{"text": "x"}},
			}},
		}
		r = s.Call("smartcrm.automation.set", map[string]any{"automation": map[string]any{
			"entityTypeId": etid, "categoryId": 1, "version": 1, "stages": bad}})
		code, desc := r.Error()
		problems, _ := r.Body["problems"].([]any)
		if r.Status != 400 || code != "AUTOMATION_INVALID" {
			t.Fatalf("bad document: %d %s", r.Status, r.Raw)
		}
		want := []struct{ robot, trigger, param, text string }{
			{"a", "", "condition", "does not compile"},
			{"a", "", "id", "taken"},
			{"a", "", "text", "nosuchField"},
			{"hook", "", "url", "not an http(s) address"},
			{"set", "", "fields.ufCrmNope", "no field"},
			{"what", "", "type", "unknown robot type"},
			{"", "has spaces", "id", "a-z, 0-9"},
			{"", "", "", "not a stage of this pipeline"},
		}
		for _, w := range want {
			found := false
			for _, p := range problems {
				if apitest.Str(p, "robot") == w.robot && apitest.Str(p, "trigger") == w.trigger && apitest.Str(p, "param") == w.param &&
					strings.Contains(apitest.Str(p, "message"), w.text) {
					found = true
				}
			}
			if !found {
				t.Errorf("no problem %+v in %s", w, r.Raw)
			}
		}
		if !strings.Contains(desc, "does not compile") || !strings.Contains(desc, "ftp://") {
			t.Errorf("the description lists the problems too: %s", desc)
		}
		if v := apitest.Int(getDoc(s, etid, 1), "automation.version"); v != 1 {
			t.Errorf("a refused document changed the version to %d", v)
		}
		// Unknown keys are typos, not silence.
		r = s.Call("smartcrm.automation.set", map[string]any{"automation": map[string]any{
			"entityTypeId": etid, "categoryId": 1, "version": 1, "stages": map[string]any{
				stage(etid, "NEW"): map[string]any{"robots": []any{map[string]any{"id": "x", "type": "comment", "condtion": "true", "params": map[string]any{"text": "x"}}}}}}})
		if code, desc := r.Error(); code != "AUTOMATION_INVALID" || !strings.Contains(desc, "condtion") {
			t.Errorf("unknown key: %s", r.Raw)
		}

		// A type without automation says so; deals have it.
		plain := apitest.Int(s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "Plain", "isStagesEnabled": "Y"}}), "type.entityTypeId")
		s.MustFail("smartcrm.automation.get", map[string]any{"entityTypeId": plain}, 400, "AUTOMATION_NOT_ENABLED")
		s.MustOK("smartcrm.automation.set", map[string]any{"automation": map[string]any{"entityTypeId": 2, "categoryId": 0, "version": 0,
			"stages": map[string]any{"PREPARATION": map[string]any{"robots": []any{map[string]any{"id": "n", "type": "comment", "params": map[string]any{"text": "{{TITLE}}"}}}}}}})
	})
}

// Deals run robots like smart processes: a deal moved to a stage gets its comment.
func TestDealRobots(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := start(t, dialect, nil)
		s.MustOK("smartcrm.automation.set", map[string]any{"automation": map[string]any{"entityTypeId": 2, "categoryId": 0, "version": 0,
			"stages": map[string]any{"PREPARATION": map[string]any{"robots": []any{
				map[string]any{"id": "n", "type": "comment", "params": map[string]any{"text": "Deal {{title}} is being prepared"}}}}}}})
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Boiler"}}), "")
		s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"STAGE_ID": "PREPARATION"}})
		waitStatuses(t, s, 2, deal, "n:done")
		comments := s.MustOK("crm.timeline.comment.list", map[string]any{"filter": map[string]any{"ENTITY_TYPE": "deal", "ENTITY_ID": deal}}).([]any)
		if len(comments) != 1 || apitest.Str(comments[0], "COMMENT") != "Deal Boiler is being prepared" {
			t.Errorf("comments: %v", comments)
		}
	})
}
