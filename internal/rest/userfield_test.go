package rest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/testdb"
)

func TestCamelUFNames(t *testing.T) {
	for upper, camel := range map[string]string{
		"UF_CRM_3_DIGIT":          "ufCrm3Digit",
		"UF_CRM_7_NEW_REST_LIST":  "ufCrm7NewRestList",
		"UF_CRM_3_1747309727":     "ufCrm3_1747309727",
		"UF_CRM_3_DIGIT10":        "ufCrm_3_DIGIT10",
		"UF_CRM_3_DIGIT_10":       "ufCrm_3_DIGIT_10",
		"UF_CRM_1747309879":       "ufCrm_1747309879",
		"UF_CRM_12_CONTRACT_DATE": "ufCrm12ContractDate",
	} {
		if got := crm.CamelUFName(upper); got != camel {
			t.Errorf("%s: %s, want %s", upper, got, camel)
		}
	}
}

// addField creates a custom field on type 1 and returns its wire object.
func addField(s *apitest.Server, field map[string]any) map[string]any {
	s.T.Helper()
	field["entityId"] = "CRM_1"
	return apitest.Path(s.MustOK("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": field}), "field").(map[string]any)
}

func TestUserFieldsOnItems(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Contracts"})
		seed(s, etid, 3, func(i int) map[string]any { return map[string]any{"title": "before the fields"} })

		amount := addField(s, map[string]any{"fieldName": "UF_CRM_1_AMOUNT", "userTypeId": "double", "editFormLabel": map[string]any{"en": "Amount", "de": "Betrag"}, "settings": map[string]any{"PRECISION": 1}})
		if amount["id"] == nil || amount["sort"] != "100" || amount["multiple"] != "N" || amount["showInList"] != "Y" || apitest.Str(amount, "editFormLabel.de") != "Betrag" {
			t.Errorf("field object: %v", amount)
		}
		addField(s, map[string]any{"fieldName": "UF_CRM_1_CODE", "userTypeId": "string", "mandatory": "Y", "settings": map[string]any{"REGEXP": "/^[A-Z]{2}-[0-9]+$/"}, "editFormLabel": "Contract code"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_SIGNED", "userTypeId": "boolean"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_START", "userTypeId": "date"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_PRICE", "userTypeId": "money"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_SITE", "userTypeId": "url"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_MANAGER", "userTypeId": "employee"})
		kind := addField(s, map[string]any{"fieldName": "UF_CRM_1_KIND", "userTypeId": "enumeration", "enum": []any{
			map[string]any{"value": "Supply", "sort": 10}, map[string]any{"value": "Lease", "sort": 20, "def": "Y"},
		}})
		enums := kind["enum"].([]any)
		var supply, lease int64
		fmt.Sscan(apitest.Str(enums[0], "id"), &supply)
		fmt.Sscan(apitest.Str(enums[1], "id"), &lease)

		add := func(fields map[string]any) *apitest.Response {
			return s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": fields})
		}
		r := add(map[string]any{"ufCrm1Amount": "1234,56", "ufCrm1Code": "AB-12", "ufCrm1Signed": "Y", "ufCrm1Start": "2026-03-01",
			"ufCrm1Price": "300|eur", "ufCrm1Site": "https://example.org/x", "ufCrm1Manager": 1, "ufCrm1Kind": lease})
		if r.Status != 200 {
			t.Fatalf("add: %s", r.Raw)
		}
		it := apitest.Path(r.Result(), "item")
		checks := map[string]string{"ufCrm1Amount": "1234.6", "ufCrm1Code": "AB-12", "ufCrm1Signed": "Y", "ufCrm1Price": "300|EUR",
			"ufCrm1Site": "https://example.org/x", "ufCrm1Manager": "1", "ufCrm1Kind": fmt.Sprint(lease)}
		for k, v := range checks {
			if got := fmt.Sprint(apitest.Path(it, k)); got != v {
				t.Errorf("%s = %s, want %s", k, got, v)
			}
		}
		if !strings.HasPrefix(apitest.Str(it, "ufCrm1Start"), "2026-03-01T00:00:00") {
			t.Errorf("date: %v", apitest.Path(it, "ufCrm1Start"))
		}
		id := apitest.Int(it, "id")

		// Original names both ways.
		r = s.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "useOriginalUfNames": "Y", "fields": map[string]any{"UF_CRM_1_CODE": "CD-7"}})
		if apitest.Str(r.Result(), "item.UF_CRM_1_CODE") != "CD-7" || apitest.Path(r.Result(), "item.ufCrm1Code") != nil {
			t.Errorf("original names: %s", r.Raw)
		}
		described := apitest.Path(s.MustOK("crm.item.fields", map[string]any{"entityTypeId": etid, "useOriginalUfNames": "Y"}), "fields")
		if apitest.Str(described, "UF_CRM_1_CODE.type") != "string" || apitest.Path(described, "ufCrm1Code") != nil || apitest.Str(described, "title.type") != "string" {
			t.Errorf("crm.item.fields with original names: %v", described)
		}
		// Validation names the field's title.
		for name, fields := range map[string]map[string]any{
			"regexp":        {"ufCrm1Code": "bad code"},
			"number":        {"ufCrm1Code": "AB-1", "ufCrm1Amount": "lots"},
			"money":         {"ufCrm1Code": "AB-1", "ufCrm1Price": "300 euros"},
			"url":           {"ufCrm1Code": "AB-1", "ufCrm1Site": "javascript:alert(1)"},
			"employee":      {"ufCrm1Code": "AB-1", "ufCrm1Manager": 99},
			"foreign enum":  {"ufCrm1Code": "AB-1", "ufCrm1Kind": 999999},
			"boolean":       {"ufCrm1Code": "AB-1", "ufCrm1Signed": "perhaps"},
			"date":          {"ufCrm1Code": "AB-1", "ufCrm1Start": "soon"},
			"scalar vs obj": {"ufCrm1Code": map[string]any{"x": 1}},
		} {
			if r := add(fields); r.Status != 400 || r.Body["error"] != "CRM_FIELD_ERROR_VALUE_NOT_VALID" {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		r = add(map[string]any{"ufCrm1Code": "AB-1", "ufCrm1Amount": "x"})
		if _, d := r.Error(); !strings.Contains(d, `"Amount"`) {
			t.Errorf("the message names the field's title: %s", d)
		}
		// Mandatory on add, and on update of that field only: old items stay editable.
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{}}, 400, "CRM_FIELD_ERROR_REQUIRED")
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": 1, "fields": map[string]any{"title": "old item, still editable"}})
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"ufCrm1Code": ""}}, 400, "CRM_FIELD_ERROR_REQUIRED")

		// Filters, order and select on custom fields.
		s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Code": "ZZ-9", "ufCrm1Amount": 10, "ufCrm1Signed": "N", "ufCrm1Kind": supply}})
		list := func(p map[string]any) []int64 {
			p["entityTypeId"] = etid
			return listIDs(t, s, p)
		}
		if got := list(map[string]any{"filter": map[string]any{">ufCrm1Amount": 100}}); fmt.Sprint(got) != fmt.Sprint([]int64{id}) {
			t.Errorf("range on double: %v", got)
		}
		if got := list(map[string]any{"filter": map[string]any{"ufCrm1Signed": 0}}); len(got) != 1 || got[0] == id {
			t.Errorf("boolean 0: %v", got)
		}
		if got := list(map[string]any{"filter": map[string]any{"@ufCrm1Kind": []int64{lease}}}); fmt.Sprint(got) != fmt.Sprint([]int64{id}) {
			t.Errorf("@ on enumeration: %v", got)
		}
		if got := list(map[string]any{"filter": map[string]any{"%UF_CRM_1_CODE": "cd"}}); fmt.Sprint(got) != fmt.Sprint([]int64{id}) {
			t.Errorf("%% on string: %v", got)
		}
		if got := list(map[string]any{"filter": map[string]any{"!=ufCrm1Code": ""}, "order": map[string]any{"ufCrm1Amount": "DESC"}}); len(got) != 2 || got[0] != id {
			t.Errorf("order by a custom field: %v", got)
		}
		s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"%ufCrm1Amount": "1"}}, 400, "INVALID_ARG_VALUE")

		// Described by crm.item.fields.
		fields := apitest.Path(s.MustOK("crm.item.fields", map[string]any{"entityTypeId": etid}), "fields")
		if apitest.Str(fields, "ufCrm1Amount.type") != "double" || apitest.Path(fields, "ufCrm1Amount.isDynamic") != true ||
			apitest.Str(fields, "ufCrm1Amount.upperName") != "UF_CRM_1_AMOUNT" || apitest.Str(fields, "ufCrm1Amount.title") != "Amount" ||
			apitest.Path(fields, "ufCrm1Code.isRequired") != true || apitest.Str(fields, "ufCrm1Kind.items.1.VALUE") != "Lease" {
			t.Errorf("descriptions: %v", fields)
		}
	})
}

func TestUserFieldConfig(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Contracts"})
		kind := addField(s, map[string]any{"fieldName": "UF_CRM_1_KIND", "userTypeId": "enumeration", "enum": []any{
			map[string]any{"value": "Supply"}, map[string]any{"value": "Lease"},
		}})
		id := kind["id"]
		enums := kind["enum"].([]any)
		supplyID, leaseID := apitest.Str(enums[0], "id"), apitest.Str(enums[1], "id")
		if len(apitest.Str(enums[0], "xmlId")) != 32 {
			t.Errorf("xmlId is filled: %v", enums[0])
		}
		item := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Kind": leaseID}}), "item.id")

		// Rename, add, delete items: ids stay stable.
		res := s.MustOK("userfieldconfig.update", map[string]any{"moduleId": "crm", "id": id, "field": map[string]any{
			"sort": 5, "editFormLabel": map[string]any{"de": "Art"},
			"enum": []any{map[string]any{"id": leaseID, "value": "Leasing"}, map[string]any{"id": supplyID, "del": "Y"}, map[string]any{"value": "Rent"}},
		}})
		f := apitest.Path(res, "field")
		enums = apitest.Path(f, "enum").([]any)
		if len(enums) != 2 || apitest.Str(f, "sort") != "5" || apitest.Str(f, "editFormLabel.de") != "Art" {
			t.Errorf("after update: %v", f)
		}
		if apitest.Str(enums[1], "id") != leaseID && apitest.Str(enums[0], "id") != leaseID {
			t.Errorf("the renamed item kept its id: %v", enums)
		}
		if got := apitest.Int(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": item}), "item.ufCrm1Kind"); fmt.Sprint(got) != leaseID {
			t.Errorf("item value after renaming: %v", got)
		}
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": item, "fields": map[string]any{"ufCrm1Kind": supplyID}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")

		other := addField(s, map[string]any{"fieldName": "UF_CRM_1_OTHER", "userTypeId": "enumeration", "enum": []any{map[string]any{"value": "x"}}})
		otherItem := apitest.Str(other["enum"].([]any)[0], "id")
		s.MustFail("userfieldconfig.update", map[string]any{"moduleId": "crm", "id": id, "field": map[string]any{"enum": []any{map[string]any{"id": otherItem, "value": "stolen"}}}}, 400, "")

		list := s.Call("userfieldconfig.list", map[string]any{"moduleId": "crm", "filter": map[string]any{"userTypeId": "enumeration"}})
		if apitest.Int(list.Body, "total") != 2 {
			t.Errorf("list: %s", list.Raw)
		}
		if types := apitest.Path(s.MustOK("userfieldconfig.getTypes", map[string]any{"moduleId": "crm"}), "types.money.description"); types != "Money" {
			t.Errorf("getTypes: %v", types)
		}
		// Bad input: nothing is created or half-altered.
		bad := map[string]map[string]any{
			"spaces":          {"fieldName": "UF_CRM_1_MY FIELD", "userTypeId": "string"},
			"quote":           {"fieldName": "UF_CRM_1_A'B", "userTypeId": "string"},
			"sql":             {"fieldName": "UF_CRM_1_X;DROP_TABLE", "userTypeId": "string"},
			"too long":        {"fieldName": "UF_CRM_1_" + strings.Repeat("A", 45), "userTypeId": "string"},
			"other type":      {"fieldName": "UF_CRM_2_X", "userTypeId": "string"},
			"lower case":      {"fieldName": "UF_CRM_1_lower", "userTypeId": "string"},
			"taken":           {"fieldName": "UF_CRM_1_KIND", "userTypeId": "string"},
			"bad regexp":      {"fieldName": "UF_CRM_1_RX", "userTypeId": "string", "settings": map[string]any{"REGEXP": "(["}},
			"no type":         {"fieldName": "UF_CRM_1_NT"},
			"empty enum item": {"fieldName": "UF_CRM_1_EE", "userTypeId": "enumeration", "enum": []any{map[string]any{"value": ""}}},
		}
		for name, field := range bad {
			field["entityId"] = "CRM_1"
			r := s.Call("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": field})
			if r.Status != 400 || r.Body["error"] != "" {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		r := s.Call("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{"entityId": "CRM_1", "fieldName": "UF_CRM_1_Q", "userTypeId": "no_such_type"}})
		if r.Body["error"] != "ERROR_CORE" {
			t.Errorf("unknown type: %s", r.Raw)
		}
		if n := apitest.Int(s.Call("userfieldconfig.list", map[string]any{"moduleId": "crm"}).Body, "total"); n != 2 {
			t.Errorf("fields after refused adds: %d", n)
		}
		// Deleting a field with data present drops its column and values.
		if r := s.Call("userfieldconfig.delete", map[string]any{"moduleId": "crm", "id": id}); r.Status != 200 || r.Result() != nil {
			t.Errorf("delete: %s", r.Raw)
		}
		got := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": item}), "item").(map[string]any)
		if _, still := got["ufCrm1Kind"]; still {
			t.Errorf("a deleted field still shows: %v", got)
		}
		s.MustFail("userfieldconfig.get", map[string]any{"moduleId": "crm", "id": id}, 400, "")
		// The same name can be created again, with another type.
		addField(s, map[string]any{"fieldName": "UF_CRM_1_KIND", "userTypeId": "string"})
		if v := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": item}), "item.ufCrm1Kind"); v != nil {
			t.Errorf("a re-created field starts empty: %v", v)
		}
	})
}

func TestMultipleUserFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Visits"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_TAGS", "userTypeId": "string", "multiple": "Y"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_DAYS", "userTypeId": "date", "multiple": "Y"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_CREW", "userTypeId": "employee", "multiple": "Y", "mandatory": "Y"})
		kinds := addField(s, map[string]any{"fieldName": "UF_CRM_1_KINDS", "userTypeId": "enumeration", "multiple": "Y", "enum": []any{
			map[string]any{"value": "Install"}, map[string]any{"value": "Repair"}, map[string]any{"value": "Audit"},
		}})
		var e [3]string
		for i, it := range kinds["enum"].([]any) {
			e[i] = apitest.Str(it, "id")
		}
		r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{
			"ufCrm1Tags": []any{"roof", "urgent"}, "ufCrm1Days": []any{"2026-05-01", "2026-05-02"}, "ufCrm1Crew": []any{1}, "ufCrm1Kinds": []any{e[0], e[2]},
		}})
		if r.Status != 200 {
			t.Fatalf("add: %s", r.Raw)
		}
		it := apitest.Path(r.Result(), "item")
		if fmt.Sprint(apitest.Path(it, "ufCrm1Tags")) != "[roof urgent]" || fmt.Sprint(apitest.Path(it, "ufCrm1Kinds")) != fmt.Sprintf("[%s %s]", e[0], e[2]) ||
			!strings.HasPrefix(apitest.Str(it, "ufCrm1Days.1"), "2026-05-02T00:00:00") {
			t.Errorf("values: %v", it)
		}
		id := apitest.Int(it, "id")
		s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Crew": []any{1}, "ufCrm1Kinds": []any{e[1]}}})

		// A scalar for a multiple field is error 100 (spec §4.5); bad elements are refused.
		r = s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Crew": []any{1}, "ufCrm1Tags": "single"}}, 400, "100")
		if _, d := r.Error(); !strings.Contains(d, "Expected iterable value for multiple field") {
			t.Errorf("message: %s", d)
		}
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Crew": []any{1, 42}}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Crew": []any{}}}, 400, "CRM_FIELD_ERROR_REQUIRED")

		list := func(filter map[string]any) []int64 {
			return listIDs(t, s, map[string]any{"entityTypeId": etid, "filter": filter})
		}
		if got := list(map[string]any{"ufCrm1Kinds": e[2]}); fmt.Sprint(got) != fmt.Sprint([]int64{id}) {
			t.Errorf("holds: %v", got)
		}
		if got := list(map[string]any{"@ufCrm1Kinds": []any{e[1], e[2]}}); len(got) != 2 {
			t.Errorf("holds any: %v", got)
		}
		if got := list(map[string]any{"ufCrm1Tags": "urgent"}); fmt.Sprint(got) != fmt.Sprint([]int64{id}) {
			t.Errorf("string holds: %v", got)
		}
		// The list is replaced as a whole; an empty one clears the field.
		res := s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"ufCrm1Tags": []any{}, "ufCrm1Kinds": []any{e[1]}}})
		if fmt.Sprint(apitest.Path(res, "item.ufCrm1Tags")) != "[]" || fmt.Sprint(apitest.Path(res, "item.ufCrm1Kinds")) != fmt.Sprintf("[%s]", e[1]) {
			t.Errorf("after update: %v", apitest.Path(res, "item"))
		}
		if !strings.Contains(string(s.Call("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}).Raw), `"ufCrm1Tags":[]`) {
			t.Errorf("an empty multiple field must read as []")
		}
		fields := apitest.Path(s.MustOK("crm.item.fields", map[string]any{"entityTypeId": etid}), "fields")
		if apitest.Path(fields, "ufCrm1Kinds.isMultiple") != true || apitest.Str(fields, "ufCrm1Kinds.type") != "enumeration" {
			t.Errorf("description: %v", apitest.Path(fields, "ufCrm1Kinds"))
		}
		s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid, "order": map[string]any{"ufCrm1Tags": "ASC"}}, 400, "INVALID_ARG_VALUE")
		bad := s.Call("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{"entityId": "CRM_1", "fieldName": "UF_CRM_1_YES", "userTypeId": "boolean", "multiple": "Y"}})
		if bad.Status != 400 {
			t.Errorf("multiple boolean: %s", bad.Raw)
		}
	})
}

// Links to CRM items must point at items that exist, of the types the field allows;
// directory values must be codes of the directory; addresses are text.
func TestReferenceUserFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Visits", "isStagesEnabled": "Y"})
		projects := newType(s, map[string]any{"title": "Projects"})
		project := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": projects, "fields": map[string]any{"title": "Tower"}}), "item.id")
		hex := fmt.Sprintf("T%x", projects)
		addField(s, map[string]any{"fieldName": "UF_CRM_1_PROJECT", "userTypeId": "crm", "settings": map[string]any{fmt.Sprintf("DYNAMIC_%d", projects): "Y"}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_LINKS", "userTypeId": "crm", "multiple": "Y", "settings": map[string]any{"DEAL": "Y", fmt.Sprintf("DYNAMIC_%d", projects): "Y"}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_PHASE", "userTypeId": "crm_status", "settings": map[string]any{"ENTITY_TYPE": fmt.Sprintf("DYNAMIC_%d_STAGE_1", etid)}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_WHERE", "userTypeId": "address"})

		r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{
			"ufCrm1Project": project, "ufCrm1Links": []any{fmt.Sprintf("%s_%d", hex, project)},
			"ufCrm1Phase": fmt.Sprintf("DT%d_1:CLIENT", etid), "ufCrm1Where": "Main st. 1, Springfield",
		}})
		if r.Status != 200 {
			t.Fatalf("add: %s", r.Raw)
		}
		it := apitest.Path(r.Result(), "item")
		if apitest.Str(it, "ufCrm1Project") != fmt.Sprintf("%s_%d", hex, project) || apitest.Str(it, "ufCrm1Where") != "Main st. 1, Springfield" {
			t.Errorf("a bare id is stored with its prefix: %v", it)
		}
		for name, fields := range map[string]map[string]any{
			"missing item":       {"ufCrm1Project": project + 100},
			"type not allowed":   {"ufCrm1Project": fmt.Sprintf("T%x_%d", etid, 1)},
			"deal that is none":  {"ufCrm1Links": []any{"D_12"}},
			"not a binding":      {"ufCrm1Links": []any{"12;DROP"}},
			"foreign stage code": {"ufCrm1Phase": "DT1_1:NEW"},
		} {
			if r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": fields}); r.Status != 400 || r.Body["error"] != "CRM_FIELD_ERROR_VALUE_NOT_VALID" {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		if got := listIDs(t, s, map[string]any{"entityTypeId": etid, "filter": map[string]any{"ufCrm1Links": fmt.Sprintf("%s_%d", hex, project)}}); len(got) != 1 {
			t.Errorf("filter on links: %v", got)
		}
		if r := s.Call("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{"entityId": "CRM_1", "fieldName": "UF_CRM_1_NOWHERE", "userTypeId": "crm"}}); r.Status != 400 {
			t.Errorf("a link field allowing no type: %s", r.Raw)
		}
	})
}

func download(t *testing.T, link string) (int, string) {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Files: upload, read back as {id, url, urlMachine}, download by a signed link that
// expires, replace, keep with {id}, clear with "", limits checked before writing.
func TestFileUserFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Contracts"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_SCAN", "userTypeId": "file", "settings": map[string]any{"MAX_ALLOWED_SIZE": 1000, "EXTENSIONS": []any{"pdf", "png"}}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_PHOTOS", "userTypeId": "file", "multiple": "Y"})

		r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{
			"ufCrm1Scan": []any{"../../etc/contract.pdf", b64("%PDF first")}, "ufCrm1Photos": []any{[]any{"a.png", b64("AAA")}, []any{"b.png", b64("BBB")}},
		}})
		if r.Status != 200 {
			t.Fatalf("add: %s", r.Raw)
		}
		it := apitest.Path(r.Result(), "item")
		id := apitest.Int(it, "id")
		scan := apitest.Path(it, "ufCrm1Scan").(map[string]any)
		if code, body := download(t, scan["urlMachine"].(string)); code != 200 || body != "%PDF first" {
			t.Fatalf("download: %d %q", code, body)
		}
		resp, _ := http.Get(scan["url"].(string))
		if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename=contract.pdf`) {
			t.Errorf("the stored name is the base name, never a path: %q", cd)
		}
		resp.Body.Close()
		photos := apitest.Path(it, "ufCrm1Photos").([]any)
		if len(photos) != 2 {
			t.Fatalf("photos: %v", photos)
		}
		// Tampered or expired links are refused.
		link := scan["url"].(string)
		if code, _ := download(t, strings.Replace(link, "token=", "token=00", 1)); code != 403 {
			t.Errorf("tampered link: %d", code)
		}
		s.App.CRM.Files.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
		if code, _ := download(t, link); code != 403 {
			t.Errorf("expired link: %d", code)
		}
		s.App.CRM.Files.Now = time.Now

		update := func(fields map[string]any) map[string]any {
			r := s.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": fields})
			if r.Status != 200 {
				t.Fatalf("update %v: %s", fields, r.Raw)
			}
			return apitest.Path(r.Result(), "item").(map[string]any)
		}
		// Keep with its own id; a new upload replaces and the old file is gone.
		if got := update(map[string]any{"ufCrm1Scan": map[string]any{"id": scan["id"]}}); fmt.Sprint(apitest.Path(got, "ufCrm1Scan.id")) != fmt.Sprint(scan["id"]) {
			t.Errorf("keep: %v", got["ufCrm1Scan"])
		}
		got := update(map[string]any{"ufCrm1Scan": []any{"v2.pdf", b64("%PDF second")}})
		if _, body := download(t, apitest.Str(got, "ufCrm1Scan.url")); body != "%PDF second" {
			t.Errorf("replaced content: %q", body)
		}
		if code, _ := download(t, link); code != 404 {
			t.Errorf("the replaced file is still served: %d", code)
		}
		// Multiple: listing {id} keeps, pairs add, the rest goes.
		got = update(map[string]any{"ufCrm1Photos": []any{map[string]any{"id": apitest.Path(photos[1], "id")}, []any{"c.png", b64("CCC")}}})
		now := got["ufCrm1Photos"].([]any)
		if len(now) != 2 || fmt.Sprint(apitest.Path(now[0], "id")) != fmt.Sprint(apitest.Path(photos[1], "id")) {
			t.Errorf("multiple after update: %v", now)
		}
		if code, _ := download(t, apitest.Str(photos[0], "url")); code != 404 {
			t.Errorf("a dropped photo is still served: %d", code)
		}
		// Someone else's file id is not taken: the field is reset instead.
		other := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Scan": []any{"o.pdf", b64("other")}}}), "item.ufCrm1Scan.id")
		got = update(map[string]any{"ufCrm1Scan": map[string]any{"id": other}})
		if got["ufCrm1Scan"] != nil {
			t.Errorf("a foreign file id was attached: %v", got["ufCrm1Scan"])
		}
		// Clear.
		got = update(map[string]any{"ufCrm1Photos": "", "ufCrm1Scan": ""})
		if fmt.Sprint(got["ufCrm1Photos"]) != "[]" || got["ufCrm1Scan"] != nil {
			t.Errorf("cleared: %v %v", got["ufCrm1Photos"], got["ufCrm1Scan"])
		}
		// Limits and bad content are refused before anything is written.
		for name, value := range map[string]any{
			"not base64":      []any{"x.pdf", "%%%not base64%%%"},
			"too large":       []any{"big.pdf", b64(strings.Repeat("x", 2000))},
			"wrong extension": []any{"script.exe", b64("MZ")},
			"no name":         []any{"", b64("x")},
			"not a pair":      []any{"only-name.pdf"},
		} {
			r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Scan": value}})
			if r.Status != 400 || r.Body["error"] != "CRM_FIELD_ERROR_VALUE_NOT_VALID" {
				t.Errorf("%s: %s", name, r.Raw)
			}
		}
		// A 100 MB upload is refused before the body is read whole.
		huge := s.Do("POST", s.Base+"crm.item.add", "application/json", []byte(`{"entityTypeId":`+fmt.Sprint(etid)+`,"fields":{"ufCrm1Photos":[["big.bin","`+strings.Repeat("A", 100<<20)+`"]]}}`))
		if huge.Status != 413 {
			t.Errorf("100 MB upload: %d", huge.Status)
		}
	})
}

func TestUserFieldReferenceMethods(t *testing.T) {
	s := apitest.Start(t, "sqlite")
	types := s.MustOK("crm.userfield.types", nil).([]any)
	if len(types) != len(field.Kinds()) || apitest.Str(types[0], "ID") != "string" {
		t.Errorf("types: %v", types)
	}
	if apitest.Str(s.MustOK("crm.userfield.fields", nil), "USER_TYPE_ID.type") != "string" {
		t.Errorf("fields")
	}
	if apitest.Str(s.MustOK("crm.userfield.settings.fields", map[string]any{"type": "double"}), "PRECISION.type") != "int" {
		t.Errorf("settings.fields")
	}
	s.MustFail("crm.userfield.settings.fields", nil, 400, "")
	if apitest.Path(s.MustOK("crm.userfield.enumeration.fields", nil), "ID.isReadOnly") != true {
		t.Errorf("enumeration.fields")
	}
}

// Integer and datetime round-trip too, and are filtered by range.
func TestNumberAndTimeUserFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Visits"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_FLOORS", "userTypeId": "integer"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_AT", "userTypeId": "datetime"})
		for i, at := range []string{"2026-01-10T09:00:00+00:00", "2026-01-11T15:30:00+02:00"} {
			r := s.Call("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Floors": i + 3, "ufCrm1At": at}})
			if r.Status != 200 {
				t.Fatalf("add: %s", r.Raw)
			}
		}
		got := apitest.Path(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": 2}), "item")
		at, err := time.Parse(time.RFC3339, apitest.Str(got, "ufCrm1At"))
		if apitest.Int(got, "ufCrm1Floors") != 4 || err != nil || !at.Equal(time.Date(2026, 1, 11, 13, 30, 0, 0, time.UTC)) {
			t.Errorf("round trip: %v", got)
		}
		if ids := listIDs(t, s, map[string]any{"entityTypeId": etid, "filter": map[string]any{">ufCrm1At": "2026-01-11T00:00:00+00:00", ">=ufCrm1Floors": 4}}); fmt.Sprint(ids) != "[2]" {
			t.Errorf("ranges: %v", ids)
		}
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Floors": "3.5"}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
	})
}

// Defaults apply on add when the client sends nothing; addresses take components.
func TestUserFieldDefaultsAndAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Visits"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_NOTE", "userTypeId": "string", "settings": map[string]any{"DEFAULT_VALUE": "n/a", "ROWS": 4}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_OK", "userTypeId": "boolean", "settings": map[string]any{"DEFAULT_VALUE": 1, "DISPLAY": "RADIO"}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_WHEN", "userTypeId": "date", "settings": map[string]any{"DEFAULT_VALUE": map[string]any{"TYPE": "FIXED", "VALUE": "2026-12-31"}}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_SEEN", "userTypeId": "datetime", "settings": map[string]any{"DEFAULT_VALUE": map[string]any{"TYPE": "NOW"}}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_LEVEL", "userTypeId": "enumeration", "enum": []any{map[string]any{"value": "Low"}, map[string]any{"value": "Normal", "def": "Y"}}})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_PLACE", "userTypeId": "address"})

		it := apitest.Path(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{
			"ufCrm1Place": map[string]any{"ADDRESS_1": "Main st. 1", "POSTAL_CODE": "10115", "CITY": "Berlin", "COUNTRY": "Germany", "LATITUDE": "52.52", "LONGITUDE": "13.40"},
		}}), "item")
		if apitest.Str(it, "ufCrm1Note") != "n/a" || fmt.Sprint(apitest.Path(it, "ufCrm1Ok")) != "Y" || !strings.HasPrefix(apitest.Str(it, "ufCrm1When"), "2026-12-31T00:00:00") {
			t.Errorf("defaults: %v", it)
		}
		if seen, err := time.Parse(time.RFC3339, apitest.Str(it, "ufCrm1Seen")); err != nil || time.Since(seen) > time.Minute {
			t.Errorf("NOW default: %v", apitest.Path(it, "ufCrm1Seen"))
		}
		if apitest.Path(it, "ufCrm1Level") == nil {
			t.Errorf("default list item missing")
		}
		if got := apitest.Str(it, "ufCrm1Place"); got != "Main st. 1, 10115 Berlin, Germany|52.52;13.40" {
			t.Errorf("address: %q", got)
		}
		// A value given wins over the default.
		it = apitest.Path(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Note": "given", "ufCrm1Ok": "N", "ufCrm1Place": "Hauptstr. 5"}}), "item")
		if apitest.Str(it, "ufCrm1Note") != "given" || fmt.Sprint(apitest.Path(it, "ufCrm1Ok")) != "N" || apitest.Str(it, "ufCrm1Place") != "Hauptstr. 5" {
			t.Errorf("given values: %v", it)
		}
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Place": map[string]any{"CITY": "X", "LATITUDE": "north", "LONGITUDE": "1"}}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
	})
}

func TestUserFieldListLanguage(t *testing.T) {
	s := apitest.Start(t, "sqlite")
	newType(s, nil)
	addField(s, map[string]any{"fieldName": "UF_CRM_1_A", "userTypeId": "string", "editFormLabel": map[string]any{"en": "Amount", "de": "Betrag"}})
	rows := apitest.Path(s.MustOK("userfieldconfig.list", map[string]any{"moduleId": "crm", "select": map[string]any{"0": "*", "language": "de"}}), "fields").([]any)
	if l := apitest.Path(rows[0], "editFormLabel").(map[string]any); len(l) != 1 || l["de"] != "Betrag" {
		t.Errorf("language de: %v", l)
	}
	rows = apitest.Path(s.MustOK("userfieldconfig.list", map[string]any{"moduleId": "crm"}), "fields").([]any)
	if apitest.Path(rows[0], "editFormLabel") != nil {
		t.Errorf("without a language the labels are null: %v", rows[0])
	}
	if apitest.Str(s.MustOK("userfieldconfig.get", map[string]any{"moduleId": "crm", "id": apitest.Str(rows[0], "id")}), "field.editFormLabel.de") != "Betrag" {
		t.Errorf("get keeps every language")
	}
}

// ageBlobs makes every stored file content look two hours old.
func ageBlobs(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-2 * time.Hour)
	_ = filepath.WalkDir(filepath.Join(dir, "files"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			_ = os.Chtimes(p, old, old)
		}
		return nil
	})
}

// Contents no record uses are swept; used ones stay, and content uploaded again is
// fresh again and spared.
func TestSweepUnusedFiles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		addField(s, map[string]any{"fieldName": "UF_CRM_1_DOC", "userTypeId": "file"})
		id := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Doc": []any{"a.txt", b64("first")}}}), "item.id")
		res := s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"ufCrm1Doc": []any{"b.txt", b64("second")}}})
		current := apitest.Str(res, "item.ufCrm1Doc.url")
		ctx := context.Background()

		ageBlobs(t, s.App.Config.DataDir)
		n, err := s.App.CRM.SweepFiles(ctx)
		if err != nil || n != 1 {
			t.Fatalf("swept %d (%v), want the replaced content only", n, err)
		}
		if code, body := download(t, current); code != 200 || body != "second" {
			t.Errorf("the current file after a sweep: %d %q", code, body)
		}
		// An orphan whose content is uploaded again is marked fresh and kept.
		s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"ufCrm1Doc": ""}})
		ageBlobs(t, s.App.Config.DataDir)
		res = s.MustOK("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "fields": map[string]any{"ufCrm1Doc": []any{"again.txt", b64("second")}}})
		if n, _ := s.App.CRM.SweepFiles(ctx); n != 0 {
			t.Errorf("swept %d blobs in use", n)
		}
		if code, body := download(t, apitest.Str(res, "item.ufCrm1Doc.url")); code != 200 || body != "second" {
			t.Errorf("re-uploaded content: %d %q", code, body)
		}
	})
}

// Update replaces settings and each given label map as a whole (spec §8.1); fixed keys
// (fieldName, userTypeId, multiple) are ignored; showFilter takes N/I/E/S only.
func TestUserFieldUpdateReplacesWholesale(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		newType(s, nil)
		f := addField(s, map[string]any{"fieldName": "UF_CRM_1_SUM", "userTypeId": "double",
			"settings": map[string]any{"PRECISION": 4, "MIN_VALUE": 1}, "editFormLabel": map[string]any{"en": "Sum", "de": "Summe"}})
		id := f["id"]
		res := s.MustOK("userfieldconfig.update", map[string]any{"moduleId": "crm", "id": id, "field": map[string]any{
			"settings": map[string]any{"MAX_VALUE": 9}, "editFormLabel": map[string]any{"fr": "Somme"},
			"showFilter": "E", "fieldName": "UF_CRM_1_OTHER", "userTypeId": "string", "multiple": "Y",
		}})
		got := apitest.Path(res, "field")
		if apitest.Path(got, "settings.MIN_VALUE") != json.Number("0") || apitest.Path(got, "settings.PRECISION") != json.Number("2") ||
			apitest.Path(got, "settings.MAX_VALUE") != json.Number("9") {
			t.Errorf("settings not replaced as a whole: %v", apitest.Path(got, "settings"))
		}
		if labels := apitest.Path(got, "editFormLabel").(map[string]any); len(labels) != 1 || labels["fr"] != "Somme" {
			t.Errorf("label map not replaced as a whole: %v", labels)
		}
		if apitest.Str(got, "showFilter") != "E" || apitest.Str(got, "fieldName") != "UF_CRM_1_SUM" ||
			apitest.Str(got, "userTypeId") != "double" || apitest.Str(got, "multiple") != "N" {
			t.Errorf("fixed keys or showFilter: %v", got)
		}
		s.MustFail("userfieldconfig.update", map[string]any{"moduleId": "crm", "id": id, "field": map[string]any{"showFilter": "X"}}, 400, "")
	})
}
