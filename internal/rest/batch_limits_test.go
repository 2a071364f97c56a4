package rest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/rest"
	"smartcrm/internal/testdb"
)

// `$result[…]` references insert whole values, so their expansion is capped per command
// and per batch; a command over a cap fails alone, with its own error, before anything
// is expanded.
func TestBatchReferenceLimits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		var adds []string
		for i := range 50 {
			adds = append(adds, fmt.Sprintf("crm.item.add?entityTypeId=%d&fields[title]=Item+%d+%s", etid, i, strings.Repeat("x", 200)))
		}
		s.MustOK("batch", map[string]any{"cmd": adds})
		list := fmt.Sprintf("crm.item.list?entityTypeId=%d", etid)
		// What one `$result[l]` inserts: the list result's JSON.
		listJSON, _ := json.Marshal(apitest.Path(s.MustOK("batch", map[string]any{"cmd": map[string]any{"l": list}}), "result.l"))
		per := len(listJSON)
		refs := func(total int) string { return strings.Repeat("$result[l]", total/per+1) }
		errorOf := func(res any, key string) (string, string) {
			return apitest.Str(res, "result_error."+key+".error"), apitest.Str(res, "result_error."+key+".error_description")
		}

		// Over the per-command cap: that command fails; the others, before and after,
		// run, and references within the caps still resolve.
		// (jsonx.Map keeps the commands in order; a Go map would sort them.)
		r := s.Call("batch", map[string]any{"cmd": jsonx.Map{
			{K: "l", V: list},
			{K: "big", V: "crm.type.list?x=" + refs(rest.MaxReferenceBytesPerCommand)},
			{K: "ok", V: fmt.Sprintf("crm.item.get?entityTypeId=%d&id=$result[l][items][1][id]", etid)},
			{K: "after", V: "crm.type.list"},
		}})
		res := r.Result()
		if code, desc := errorOf(res, "big"); r.Status != 200 || code != "ERROR_BATCH_REFERENCES_TOO_LARGE" ||
			!strings.Contains(desc, fmt.Sprint(rest.MaxReferenceBytesPerCommand)) || !strings.Contains(desc, `"big"`) {
			t.Errorf("over the command cap: %d %s %s", r.Status, code, desc)
		}
		if apitest.Path(res, "result.big") != nil || apitest.Int(res, "result.ok.item.id") != 2 || apitest.Path(res, "result.after.types") == nil {
			t.Errorf("the other commands: %.500s", r.Raw)
		}

		// Under the command cap each, over the batch cap together: the commands run
		// until the total would pass it.
		each := rest.MaxReferenceBytesPerCommand - 2*per
		cmd := jsonx.Map{{K: "l", V: list}}
		n := rest.MaxReferenceBytesPerBatch/each + 1
		for i := range n {
			cmd = append(cmd, jsonx.KV{K: fmt.Sprintf("c%d", i), V: "crm.type.list?x=" + strings.Repeat("$result[l]", each/per)})
		}
		r = s.Call("batch", map[string]any{"cmd": cmd})
		res = r.Result()
		for i := range n - 1 {
			if apitest.Path(res, fmt.Sprintf("result.c%d.types", i)) == nil {
				t.Errorf("c%d under the batch cap did not run: %v", i, apitest.Path(res, "result_error"))
			}
		}
		last := fmt.Sprintf("c%d", n-1)
		if code, desc := errorOf(res, last); code != "ERROR_BATCH_REFERENCES_TOO_LARGE" || !strings.Contains(desc, fmt.Sprint(rest.MaxReferenceBytesPerBatch)) {
			t.Errorf("over the batch cap: %s %s", code, desc)
		}

		// halt stops at the refused command; nothing after it runs.
		r = s.Call("batch", map[string]any{"halt": 1, "cmd": jsonx.Map{
			{K: "l", V: list},
			{K: "big", V: fmt.Sprintf("crm.item.add?entityTypeId=%d&fields[title]=", etid) + refs(rest.MaxReferenceBytesPerCommand)},
			{K: "never", V: fmt.Sprintf("crm.item.add?entityTypeId=%d&fields[title]=never", etid)},
		}})
		res = r.Result()
		if code, _ := errorOf(res, "big"); code != "ERROR_BATCH_REFERENCES_TOO_LARGE" || apitest.Path(res, "result.never") != nil {
			t.Errorf("halt: %.500s", r.Raw)
		}
		if total := apitest.Int(s.Call("crm.item.list", map[string]any{"entityTypeId": etid}).Body, "total"); total != 50 {
			t.Errorf("%d items after refused commands, want 50", total)
		}

		// The reported attack: 8 commands of 3,000 references each to a 50-item list
		// (4.4 GB and 26 s before). Each is refused after counting, in bounded memory.
		cmd = jsonx.Map{{K: "l", V: list}}
		for i := range 8 {
			cmd = append(cmd, jsonx.KV{K: fmt.Sprintf("a%d", i), V: "crm.type.list?x=" + strings.Repeat("$result[l]", 3000)})
		}
		peak, _, measured := rssGrowth(t, func() { r = s.Call("batch", map[string]any{"cmd": cmd}) })
		t.Logf("%s: 8 × 3,000 references to %d bytes: resident memory grew %d MB at the peak", dialect, per, peak>>20)
		for i := range 8 {
			if code, _ := errorOf(r.Result(), fmt.Sprintf("a%d", i)); code != "ERROR_BATCH_REFERENCES_TOO_LARGE" {
				t.Errorf("a%d: %s", i, code)
			}
		}
		if measured && peak > 100<<20 {
			t.Errorf("resident memory grew %d MB (limit 100 MB)", peak>>20)
		}
	})
}
