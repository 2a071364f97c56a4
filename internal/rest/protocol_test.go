package rest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// newType creates a smart process and returns its entityTypeId.
func newType(s *apitest.Server, fields map[string]any) int64 {
	s.T.Helper()
	if fields == nil {
		fields = map[string]any{}
	}
	if fields["title"] == nil {
		fields["title"] = "Contracts"
	}
	res := s.MustOK("crm.type.add", map[string]any{"fields": fields})
	return apitest.Int(res, "type.entityTypeId")
}

func TestURLForms(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		root := s.HTTP.URL + "/rest/1/" + apitest.Secret
		for _, u := range []string{
			root + "/crm.type.list",
			root + "/crm.type.list.json",
			root + "/crm.type.list/",
			root + "//crm.type.list",
			root + "/CRM.Type.List",
			root + "/crm.type.list?bx24_request_id=x&bx24_sdk_ver=2.2.0",
		} {
			r := s.Do(http.MethodGet, u, "", nil)
			if r.Status != 200 || r.Body["result"] == nil {
				t.Errorf("%s: status %d %s", u, r.Status, r.Raw)
			}
		}
		// The PHP SDK lower-cases method names.
		newType(s, nil)
		r := s.Call("crm.type.getbyentitytypeid", map[string]any{"entityTypeId": 1030})
		if r.Status != 200 {
			t.Errorf("lower-cased method: %d %s", r.Status, r.Raw)
		}
	})
}

func TestAuthentication(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		cases := []struct {
			path, code string
		}{
			{"/rest/1/wrong-secret/crm.type.list", "NO_AUTH_FOUND"},
			{"/rest/1//crm.type.list", "NO_AUTH_FOUND"},
			{"/rest/x/" + apitest.Secret + "/crm.type.list", "NO_AUTH_FOUND"},
			{"/rest/2/" + apitest.Secret + "/crm.type.list", "NO_AUTH_FOUND"},
			{"/rest/crm.type.list", "NO_AUTH_FOUND"},
		}
		for _, c := range cases {
			r := s.Do(http.MethodGet, s.HTTP.URL+c.path, "", nil)
			if code, _ := r.Error(); r.Status != 401 || code != c.code {
				t.Errorf("%s: want 401 %s, got %d %s", c.path, c.code, r.Status, r.Raw)
			}
		}
		r := s.Call("crm.nothing.here", nil)
		if code, _ := r.Error(); r.Status != 404 || code != "ERROR_METHOD_NOT_FOUND" {
			t.Errorf("unknown method: %d %s", r.Status, r.Raw)
		}
	})
}

func TestEnvelope(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		r := s.Call("crm.type.list", nil)
		tm, ok := r.Body["time"].(map[string]any)
		if !ok {
			t.Fatalf("no time object: %s", r.Raw)
		}
		for _, k := range []string{"start", "finish", "duration", "processing", "date_start", "date_finish", "operating", "operating_reset_at"} {
			if _, ok := tm[k]; !ok {
				t.Errorf("time.%s missing", k)
			}
		}
		if !bytes.HasPrefix(r.Raw, []byte(`{"result":`)) {
			t.Errorf("result must come first: %s", r.Raw[:40])
		}
		if r.Body["total"] != json.Number("0") {
			t.Errorf("total = %v", r.Body["total"])
		}
	})
}

// The same parameters sent through every transport decode into the same call.
func TestTransports(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"isObserversEnabled": "Y"})

		check := func(name string, r *apitest.Response) {
			t.Helper()
			if r.Status != 200 {
				t.Fatalf("%s: %d %s", name, r.Status, r.Raw)
			}
			it := apitest.Path(r.Result(), "item")
			if apitest.Str(it, "title") != "Tom & Jerry [x]" || apitest.Int(it, "observers.0") != 1 {
				t.Errorf("%s: decoded wrong: %s", name, r.Raw)
			}
		}
		q := url.Values{}
		q.Set("entityTypeId", fmt.Sprint(etid))
		q.Set("fields[title]", "Tom & Jerry [x]")
		q.Set("fields[observers][]", "1")
		check("GET", s.Get("crm.item.add", q.Encode()))
		check("form", s.Form("crm.item.add", q))
		check("JSON", s.Call("crm.item.add", map[string]any{
			"entityTypeId": etid, "fields": map[string]any{"title": "Tom & Jerry [x]", "observers": []int{1}},
		}))
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		_ = mw.WriteField("entityTypeId", fmt.Sprint(etid))
		_ = mw.WriteField("fields[title]", "Tom & Jerry [x]")
		_ = mw.WriteField("fields[observers][0]", "1")
		mw.Close()
		check("multipart", s.Do(http.MethodPost, s.Base+"crm.item.add", mw.FormDataContentType(), buf.Bytes()))

		// Numbered groups in bracket syntax reach the filter as nested groups.
		r := s.Get("crm.item.list", "entityTypeId="+fmt.Sprint(etid)+
			"&filter[0][logic]=OR&filter[0][0][id]=1&filter[0][1][id]=3&select[]=id")
		if n := len(apitest.Path(r.Result(), "items").([]any)); n != 2 {
			t.Errorf("bracket OR group: %d items: %s", n, r.Raw)
		}
	})
}

func TestBadRequestsChangeNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		count := func() int64 {
			return apitest.Int(s.Call("crm.item.list", map[string]any{"entityTypeId": etid}).Body, "total")
		}
		bad := []struct {
			name, contentType, body string
			status                  int
		}{
			{"malformed JSON", "application/json", `{"entityTypeId":` + fmt.Sprint(etid) + `,"fields":{"title":"x"`, 400},
			{"JSON with trailing garbage", "application/json", `{"entityTypeId":1030,"fields":{}} {}`, 400},
			{"top-level JSON list", "application/json", `[1,2]`, 400},
			{"unclosed bracket", "application/x-www-form-urlencoded", "entityTypeId=1030&fields[title=x", 400},
			{"wrong type of fields", "application/json", `{"entityTypeId":1030,"fields":"title"}`, 400},
			{"entityTypeId not a number", "application/json", `{"entityTypeId":"abc","fields":{}}`, 400},
			{"SQL in a key", "application/json", `{"entityTypeId":1030,"fields":{"title; DROP TABLE crm_types;--":"x"},"select":["*"]}`, 200},
		}
		for _, b := range bad {
			r := s.Do(http.MethodPost, s.Base+"crm.item.add", b.contentType, []byte(b.body))
			if r.Status != b.status {
				t.Errorf("%s: status %d %s", b.name, r.Status, r.Raw)
			}
			if b.status != 200 && r.Body["error"] == nil {
				t.Errorf("%s: no error envelope: %s", b.name, r.Raw)
			}
		}
		// Only the call with an ignored SQL-looking key wrote an item (a default one).
		if n := count(); n != 1 {
			t.Errorf("items after bad requests: %d, want 1", n)
		}
		// SQL in values and filter keys is data or an error, never SQL.
		s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": "x'); DROP TABLE crm_types; --"}})
		r := s.MustFail("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"title = title OR 1=1 --": "x"}}, 400, "INVALID_ARG_VALUE")
		if _, d := r.Error(); !strings.Contains(d, "is not allowed in filter") {
			t.Errorf("description: %s", d)
		}
		res := s.MustOK("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"%title": "DROP TABLE"}})
		if n := len(apitest.Path(res, "items").([]any)); n != 1 {
			t.Errorf("LIKE on SQL text: %d", n)
		}
		// A 10 MB title is refused by validation; a body over the limit before reading.
		big := strings.Repeat("a", 10<<20)
		s.MustFail("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": big}}, 400, "CRM_FIELD_ERROR_VALUE_NOT_VALID")
		huge := s.Do(http.MethodPost, s.Base+"crm.item.add", "application/json", []byte(`{"x":"`+strings.Repeat("a", 65<<20)+`"}`))
		if huge.Status != http.StatusRequestEntityTooLarge || huge.Body["error"] == nil {
			t.Errorf("oversized body: %d %s", huge.Status, huge.Raw[:min(200, len(huge.Raw))])
		}
		if n := count(); n != 2 {
			t.Errorf("items after oversized requests: %d, want 2", n)
		}
		// And the server still answers.
		s.MustOK("crm.type.list", nil)
	})
}
