package rest_test

import (
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// smartcrm.process.*: presets are listed, a preset plans, applies and then plans
// clean, export returns the file, and a broken file answers PROCESS_FILE_INVALID with
// every problem, each with its line and column.
func TestProcessMethods(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		presets := s.MustOK("smartcrm.process.preset.list", nil).([]any)
		if len(presets) != 4 || apitest.Str(presets[0], "name") != "contract-approval" {
			t.Fatalf("presets: %v", presets)
		}
		plan := s.MustOK("smartcrm.process.plan", map[string]any{"preset": "leave-request"})
		if apitest.Path(plan, "empty") != false || !strings.Contains(apitest.Str(plan, "text"), "create type leave_request") ||
			apitest.Str(plan, "changes.0.action") != "create" {
			t.Fatalf("plan: %v", plan)
		}
		applied := s.MustOK("smartcrm.process.apply", map[string]any{"preset": "leave-request"})
		if apitest.Path(applied, "applied") != true {
			t.Fatalf("apply: %v", applied)
		}
		again := s.MustOK("smartcrm.process.apply", map[string]any{"preset": "leave-request"})
		if apitest.Path(again, "applied") != false || apitest.Path(again, "empty") != true {
			t.Errorf("apply again: %v", again)
		}
		file := apitest.Str(s.MustOK("smartcrm.process.export", map[string]any{"type": "leave_request"}), "file")
		if !strings.Contains(file, "code: leave_request") {
			t.Fatalf("export: %s", file)
		}
		if p := s.MustOK("smartcrm.process.plan", map[string]any{"file": file}); apitest.Path(p, "empty") != true {
			t.Errorf("the export plans changes: %v", p)
		}
		r := s.MustFail("smartcrm.process.plan", map[string]any{"name": "bad.yaml",
			"file": "version: 1\nprocesses:\n  - code: x\n    titel: X\n    funnels: []\n"}, 400, "PROCESS_FILE_INVALID")
		problems, _ := r.Body["problems"].([]any)
		if len(problems) < 2 || apitest.Str(problems, "0.file") != "bad.yaml" || apitest.Int(problems, "0.line") != 3 {
			t.Errorf("problems: %s", r.Raw)
		}
		s.MustFail("smartcrm.process.plan", map[string]any{"preset": "nope"}, 400, "INVALID_ARG_VALUE")
		s.MustFail("smartcrm.process.export", map[string]any{"type": "nope"}, 400, "NOT_FOUND")
	})
}

// crm.item.details.configuration.*: per funnel through extras, null before anything
// is saved, element options kept, the spec's errors for malformed sections.
func TestCardConfigurationPerFunnel(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Visits", "isCategoriesEnabled": "Y", "isStagesEnabled": "Y"})
		cat := apitest.Int(s.MustOK("crm.category.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"name": "Second"}}), "category.id")
		if got := s.MustOK("crm.item.details.configuration.get", map[string]any{"entityTypeId": etid, "scope": "C"}); got != nil {
			t.Errorf("nothing saved: %v", got)
		}
		section := func(title string) []any {
			return []any{map[string]any{"name": "main", "title": title, "type": "section", "elements": []any{
				map[string]any{"name": "TITLE", "optionFlags": "1"}, map[string]any{"name": "ASSIGNED_BY_ID"}}}}
		}
		s.MustOK("crm.item.details.configuration.set", map[string]any{"entityTypeId": etid, "scope": "C", "data": section("Every funnel")})
		s.MustOK("crm.item.details.configuration.set", map[string]any{"entityTypeId": etid, "scope": "C",
			"extras": map[string]any{"categoryId": cat}, "data": section("Second only")})
		get := func(extras map[string]any) any {
			p := map[string]any{"entityTypeId": etid, "scope": "C"}
			if extras != nil {
				p["extras"] = extras
			}
			return s.MustOK("crm.item.details.configuration.get", p)
		}
		if got := get(map[string]any{"categoryId": cat}); apitest.Str(got, "0.title") != "Second only" || apitest.Str(got, "0.elements.0.optionFlags") != "1" {
			t.Errorf("the funnel's own layout: %v", got)
		}
		if got := get(nil); apitest.Str(got, "0.title") != "Every funnel" || apitest.Str(got, "0.elements.1.optionFlags") != "0" {
			t.Errorf("the layout of every funnel: %v", got)
		}
		s.MustOK("crm.item.details.configuration.reset", map[string]any{"entityTypeId": etid, "scope": "C", "extras": map[string]any{"categoryId": cat}})
		if got := get(map[string]any{"categoryId": cat}); apitest.Str(got, "0.title") != "Every funnel" {
			t.Errorf("after reset the funnel falls back: %v", got)
		}
		for _, c := range []struct {
			data any
			want string
		}{
			{"x", "Parameter 'data' must be array."},
			{[]any{}, "There are no data to write."},
			{[]any{map[string]any{"name": "a", "title": "A", "type": "column"}}, "Section at index 0 have type column. The expected type is 'section'."},
			{[]any{map[string]any{"name": "a", "type": "section"}}, "Section at index 0 does not have title."},
			{[]any{map[string]any{"name": "a", "title": "A", "type": "section", "elements": []any{map[string]any{"optionFlags": 1}}}}, "Element at index 0 in section at index 0 does not have name."},
		} {
			r := s.MustFail("crm.item.details.configuration.set", map[string]any{"entityTypeId": etid, "scope": "C", "data": c.data}, 400, "")
			if _, desc := r.Error(); desc != c.want {
				t.Errorf("set %v: %q, want %q", c.data, desc, c.want)
			}
		}
		r := s.MustFail("crm.item.details.configuration.get", map[string]any{}, 400, "")
		if _, desc := r.Error(); desc != "Parameter 'entityTypeId' is not defined" {
			t.Errorf("no entityTypeId: %q", desc)
		}
	})
}
