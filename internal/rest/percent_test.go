package rest_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// A '%' that starts no valid escape is kept, as PHP's parse_str keeps it, so the
// substring filter written by hand (`filter[%title]=…`, not `%25title`) works in a GET
// query and inside batch commands, and does not fail the whole batch.
func TestPercentSignsDecodeLikePHP(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		for _, title := range []string{"Alpha one", "Beta two", "Gamma one", "100% sure"} {
			s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"title": title}})
		}
		ids := func(v any) []int64 {
			var out []int64
			items, _ := apitest.Path(v, "items").([]any)
			for i := range items {
				out = append(out, apitest.Int(items[i], "id"))
			}
			return out
		}
		want := fmt.Sprint([]int64{1, 3})

		// GET, the '%' unescaped in the raw query.
		r := s.Get("crm.item.list", fmt.Sprintf("entityTypeId=%d&filter[%%title]=one&select[]=id&order[id]=ASC", etid))
		if r.Status != 200 || fmt.Sprint(ids(r.Result())) != want {
			t.Errorf("GET filter[%%title]: %d %s", r.Status, r.Raw)
		}
		// A '%' kept in a value too: "100%" is not an escape.
		r = s.Get("crm.item.list", fmt.Sprintf("entityTypeId=%d&filter[title]=100%%%%20sure&filter[%%title]=100%%&select[]=id", etid))
		if r.Status != 200 || fmt.Sprint(ids(r.Result())) != "[4]" {
			t.Errorf("GET with a bare %% in a value: %d %s", r.Status, r.Raw)
		}

		// Inside a batch command (JSON body: the command is a plain string), next to
		// another command that must run too.
		r = s.Call("batch", map[string]any{"cmd": map[string]any{
			"like":  fmt.Sprintf("crm.item.list?entityTypeId=%d&filter[%%title]=one&select[]=id&order[id]=ASC", etid),
			"other": fmt.Sprintf("crm.item.get?entityTypeId=%d&id=2", etid),
		}})
		res := r.Result()
		if r.Status != 200 || fmt.Sprint(ids(apitest.Path(res, "result.like"))) != want ||
			apitest.Str(res, "result.other.item.title") != "Beta two" {
			t.Errorf("batch with filter[%%title]: %d %s", r.Status, r.Raw)
		}
		// And in a GET batch, where the command itself is URL-encoded once more.
		q := url.Values{}
		q.Set("cmd[like]", fmt.Sprintf("crm.item.list?entityTypeId=%d&filter[%%title]=one&select[]=id&order[id]=ASC", etid))
		r = s.Do(http.MethodGet, s.Base+"batch?"+q.Encode(), "", nil)
		if r.Status != 200 || fmt.Sprint(ids(apitest.Path(r.Result(), "result.like"))) != want {
			t.Errorf("GET batch with filter[%%title]: %d %s", r.Status, r.Raw)
		}
	})
}
