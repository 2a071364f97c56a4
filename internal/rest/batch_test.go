package rest_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

func TestBatch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		seed(s, etid, 60, func(i int) map[string]any { return map[string]any{"title": fmt.Sprintf("Row %d", i)} })

		// Object form, back-references into an add result and into a list page.
		r := s.Call("batch", map[string]any{"halt": 0, "cmd": map[string]any{
			"add":   fmt.Sprintf("crm.item.add?entityTypeId=%d&fields%%5Btitle%%5D=From%%20batch", etid),
			"get":   fmt.Sprintf("crm.item.get?entityTypeId=%d&id=$result[add][item][id]", etid),
			"c0":    fmt.Sprintf("crm.item.list?entityTypeId=%d&select[]=id&order[id]=ASC", etid),
			"last":  fmt.Sprintf("crm.item.get?entityTypeId=%d&id=%%24result%%5Bc0%%5D%%5Bitems%%5D%%5B49%%5D%%5Bid%%5D", etid),
			"named": fmt.Sprintf("crm.item.update?entityTypeId=%d&id=$result[add][item][id]&fields[title]=Copy of $result[get][item][title]", etid),
		}})
		if r.Status != 200 {
			t.Fatalf("batch: %s", r.Raw)
		}
		res := r.Result()
		if apitest.Str(res, "result.get.item.title") != "From batch" {
			t.Errorf("reference into add: %v", apitest.Path(res, "result.get"))
		}
		if apitest.Int(res, "result.last.item.id") != 50 {
			t.Errorf("reference into list: %v", apitest.Path(res, "result.last"))
		}
		if apitest.Str(res, "result.named.item.title") != "Copy of From batch" {
			t.Errorf("reference inside text: %v", apitest.Path(res, "result.named.item.title"))
		}
		if apitest.Int(res, "result_total.c0") != 61 || apitest.Int(res, "result_next.c0") != 50 {
			t.Errorf("total/next of a list command: %v %v", apitest.Path(res, "result_total"), apitest.Path(res, "result_next"))
		}
		for _, k := range []string{"add", "get", "c0", "last", "named"} {
			if apitest.Path(res, "result_time."+k+".duration") == nil {
				t.Errorf("result_time.%s missing", k)
			}
		}
		if !strings.Contains(string(r.Raw), `"result_error":[]`) {
			t.Errorf("empty result_error must be []: %s", r.Raw[:300])
		}

		// Array form: results keyed by index (a JSON list), a failing command reported
		// and the others run when halt is off.
		r = s.Call("batch", map[string]any{"halt": false, "cmd": []string{
			"crm.type.list?",
			fmt.Sprintf("crm.item.list?entityTypeId=%d&filter%%5B%%3EddId%%5D=1", etid),
			fmt.Sprintf("crm.item.get?entityTypeId=%d&id=1", etid),
			"batch?cmd[0]=crm.type.list",
			"crm.no.such",
		}})
		res = r.Result()
		if r.Status != 200 || apitest.Str(res, "result_error.1.error") != "INVALID_ARG_VALUE" ||
			apitest.Str(res, "result_error.3.error") != "ERROR_BATCH_METHOD_NOT_ALLOWED" ||
			apitest.Str(res, "result_error.4.error") != "ERROR_METHOD_NOT_FOUND" {
			t.Errorf("array form errors: %s", r.Raw)
		}
		if apitest.Int(res, "result.2.item.id") != 1 || apitest.Path(res, "result.0.types") == nil {
			t.Errorf("array form results: %v", apitest.Path(res, "result"))
		}

		// halt stops at the first failure; later commands are absent everywhere.
		r = s.Call("batch", map[string]any{"halt": 1, "cmd": map[string]any{
			"a": fmt.Sprintf("crm.item.get?entityTypeId=%d&id=1", etid),
			"b": fmt.Sprintf("crm.item.get?entityTypeId=%d&id=99999", etid),
			"c": fmt.Sprintf("crm.item.add?entityTypeId=%d&fields[title]=never", etid),
		}})
		res = r.Result()
		if apitest.Str(res, "result_error.b.error") != "NOT_FOUND" || apitest.Path(res, "result.c") != nil || apitest.Path(res, "result.a") == nil {
			t.Errorf("halt: %s", r.Raw)
		}
		n := apitest.Int(s.Call("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"title": "never"}}).Body, "total")
		if n != 0 {
			t.Errorf("a command after the halting failure ran")
		}

		// Limits: 51 commands refused as a whole; nothing runs.
		var many []string
		for i := 0; i < 51; i++ {
			many = append(many, fmt.Sprintf("crm.item.add?entityTypeId=%d&fields[title]=too-many", etid))
		}
		s.MustFail("batch", map[string]any{"cmd": many}, 400, "ERROR_BATCH_LENGTH_EXCEEDED")
		if n := apitest.Int(s.Call("crm.item.list", map[string]any{"entityTypeId": etid, "filter": map[string]any{"title": "too-many"}}).Body, "total"); n != 0 {
			t.Errorf("a refused batch wrote %d items", n)
		}
		s.MustFail("batch", map[string]any{}, 400, "100")

		// GET with double-encoded commands, as @2bad/bitrix sends them.
		q := url.Values{}
		q.Set("cmd[x]", fmt.Sprintf("crm.item.get?entityTypeId=%d&id=2", etid))
		q.Set("cmd[y]", "crm.type.list")
		r = s.Get("batch", q.Encode())
		if apitest.Int(r.Result(), "result.x.item.id") != 2 || apitest.Path(r.Result(), "result.y.types") == nil {
			t.Errorf("GET batch: %s", r.Raw)
		}
		var envelope map[string]json.RawMessage
		_ = json.Unmarshal(r.Raw, &envelope)
		if _, ok := envelope["time"]; !ok {
			t.Errorf("batch envelope without time")
		}
	})
}
