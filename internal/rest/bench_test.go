package rest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// BenchmarkHTTPAdd measures crm.item.add through the whole HTTP stack, 8 clients on
// keep-alive connections (client and server share the process and its cores).
//
//	go test ./internal/rest -run '^$' -bench HTTPAdd -benchtime 20000x
func BenchmarkHTTPAdd(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := apitest.Start(b, dialect)
			etid := newType(s, map[string]any{"isStagesEnabled": "Y", "isLinkWithProductsEnabled": "Y"})
			body := []byte(fmt.Sprintf(`{"entityTypeId":%d,"fields":{"title":"Bench item","opportunity":123.5,"assignedById":1,"stageId":"DT%d_1:CLIENT"}}`, etid, etid))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			url := s.Base + "crm.item.add"
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Post(url, "application/json", bytes.NewReader(body))
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}
