package rest_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/params"
	"smartcrm/internal/testdb"
)

// Bodies shaped to build huge parameter trees are refused with error 100 while they
// are parsed, change nothing, and cost the server bounded memory: a 60 MB JSON list
// of 30 million elements used to be accepted after 22 s with 4.1 GB resident, and a
// 7 MB form of `a[][]…[]=1` pairs built 1.2 GB of objects.
func TestHostileBodiesCostBoundedMemory(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, nil)
		const size = 8 << 20 // each body; a few MB show the growth without slowing the suite
		// Bodies are built one at a time, straight into a buffer of their final size, so
		// the client's side of the process holds one body and little garbage.
		build := func(head, unit, tail string) []byte {
			b := bytes.NewBuffer(make([]byte, 0, size+len(head)+len(tail)+len(unit)))
			b.WriteString(head)
			for b.Len() < size {
				b.WriteString(unit)
			}
			b.WriteString(tail)
			return b.Bytes()
		}
		jsonHead := fmt.Sprintf(`{"entityTypeId":%d,"fields":{"title":"x",`, etid)
		deepPair := "fields" + strings.Repeat("[]", params.MaxDepth-1) + "=1&"
		bodies := []struct {
			name, contentType string
			body              func() []byte
		}{
			{"JSON list", "application/json", func() []byte { return build(jsonHead+`"observers":[`, "0,", `0]}}`) }},
			{"JSON keys", "application/json", func() []byte {
				b := bytes.NewBuffer(make([]byte, 0, size+64))
				b.WriteString(jsonHead)
				for i := 0; b.Len() < size; i++ {
					fmt.Fprintf(b, `"k%d":0,`, i)
				}
				b.WriteString(`"k":0}}`)
				return b.Bytes()
			}},
			{"JSON nested lists", "application/json", func() []byte { return build(jsonHead+`"observers":[`, "[[[[0]]]],", `0]}}`) }},
			{"form bracket paths", "application/x-www-form-urlencoded", func() []byte {
				return build(fmt.Sprintf("entityTypeId=%d&", etid), deepPair, "")
			}},
			{"multipart parts", "", nil}, // built below: it needs its boundary
		}
		refused := func(name string, r *apitest.Response) {
			t.Helper()
			code, desc := r.Error()
			if r.Status != http.StatusBadRequest || fmt.Sprint(code) != "100" || !strings.Contains(desc, fmt.Sprintf("more than %d parameters", params.MaxKeys)) {
				t.Errorf("%s: want 400 100 'more than %d parameters', got %d %.300s", name, params.MaxKeys, r.Status, r.Raw)
			}
		}
		burst := func() {
			for _, b := range bodies {
				var ct string
				var body []byte
				if b.body != nil {
					ct, body = b.contentType, b.body()
				} else {
					buf := bytes.NewBuffer(make([]byte, 0, size+4096))
					mw := multipart.NewWriter(buf)
					_ = mw.WriteField("entityTypeId", fmt.Sprint(etid))
					for buf.Len() < size {
						_ = mw.WriteField("fields"+strings.Repeat("[]", params.MaxDepth-1), "1")
					}
					mw.Close()
					ct, body = mw.FormDataContentType(), buf.Bytes()
				}
				refused(b.name, s.Do(http.MethodPost, s.Base+"crm.item.add", ct, body))
			}
			// The query string too: Go's default header limit (1 MB) bounds it.
			q := strings.Repeat(deepPair, (900<<10)/len(deepPair))
			refused("GET query", s.Do(http.MethodGet, s.Base+"crm.item.add?"+q, "", nil))
		}
		peak, after, measured := rssGrowth(t, burst)
		t.Logf("%s: resident memory grew %d MB at the peak, %d MB after", dialect, peak>>20, after>>20)
		// One body is held at a time by the client and once by the server, plus at most
		// MaxKeys nodes of tree: tens of MB. The unbounded parsers took GBs.
		if measured && peak > 100<<20 {
			t.Errorf("resident memory grew %d MB during the burst (limit 100 MB)", peak>>20)
		}
		if measured && after > 30<<20 {
			t.Errorf("resident memory stayed %d MB above its baseline after the burst (limit 30 MB)", after>>20)
		}
		if n := apitest.Int(s.Call("crm.item.list", map[string]any{"entityTypeId": etid}).Body, "total"); n != 0 {
			t.Errorf("refused bodies wrote %d items", n)
		}
	})
}
