package rest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"sort"
	"testing"
	"time"

	"smartcrm/internal/apitest"
	"smartcrm/internal/field"
	"smartcrm/internal/store"
	"smartcrm/internal/testdb"
)

// The speed targets of the standard-entities issue, measured over HTTP against an
// in-process server whose database is filled directly (filling a million items through
// the API would take longer than the measurement). Each reports p50 and p99 latency.
//
//	go test ./internal/rest -run '^$' -bench 'DealChildren|DealListUF' -benchtime 2000x -timeout 30m

// BenchmarkDealChildren lists the 50 newest children of a deal when ten smart processes
// hold 1,000,000 child items among 10,000 deals.
func BenchmarkDealChildren(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := apitest.Start(b, dialect)
			const deals, types, perType = 10000, 10, 100000
			seedRaw(b, s.App.Store, 2, deals, []store.Column{{Name: "title", Storage: field.StorageText}, {Name: "category_id", Storage: field.StorageInt},
				{Name: "stage_id", Storage: field.StorageText}, {Name: "created_time", Storage: field.StorageTime}},
				func(i int, t time.Time) []any { return []any{fmt.Sprintf("Deal %d", i), int64(0), "NEW", t} })
			for k := 0; k < types; k++ {
				etid := newType(s, map[string]any{"title": fmt.Sprintf("Child type %d", k),
					"relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 2}}}})
				seedRaw(b, s.App.Store, etid, perType, []store.Column{{Name: "title", Storage: field.StorageText},
					{Name: "created_time", Storage: field.StorageTime}, {Name: store.LinkColumn(2), Storage: field.StorageInt}},
					func(i int, t time.Time) []any {
						return []any{fmt.Sprintf("Child %d", i), t, int64(1 + rand.Intn(deals))}
					})
			}
			// About 100 children per deal: every answer is a full page of 50.
			if n := len(apitest.Path(s.MustOK("smartcrm.item.children", map[string]any{"entityTypeId": 2, "id": deals / 2}), "children").([]any)); n != 50 {
				b.Fatalf("children of a deal: %d, want 50", n)
			}
			lat := measure(b, s, func(r *rand.Rand) (string, string) {
				return "smartcrm.item.children", fmt.Sprintf(`{"entityTypeId":2,"id":%d}`, 1+r.Intn(deals))
			})
			report(b, lat)
		})
	}
}

// BenchmarkDealListUFFilter is crm.deal.list filtered by a custom field at 200,000
// deals: first pages (with the total) for one of 50 regions, chosen at random.
func BenchmarkDealListUFFilter(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := apitest.Start(b, dialect)
			s.MustOK("userfieldconfig.add", map[string]any{"moduleId": "crm", "field": map[string]any{
				"entityId": "CRM_DEAL", "fieldName": "UF_CRM_REGION", "userTypeId": "string", "showFilter": "E"}})
			const deals, regions = 200000, 50
			seedRaw(b, s.App.Store, 2, deals, []store.Column{{Name: "title", Storage: field.StorageText}, {Name: "category_id", Storage: field.StorageInt},
				{Name: "stage_id", Storage: field.StorageText}, {Name: "created_time", Storage: field.StorageTime},
				{Name: "opportunity", Storage: field.StorageFloat}, {Name: "uf_crm_region", Storage: field.StorageText}},
				func(i int, t time.Time) []any {
					return []any{fmt.Sprintf("Deal %d", i), int64(0), "NEW", t, float64(i % 1000), fmt.Sprintf("region-%02d", i%regions)}
				})
			if got := s.Call("crm.deal.list", map[string]any{"filter": map[string]any{"UF_CRM_REGION": "region-07"}}); apitest.Int(got.Body, "total") != deals/regions {
				b.Fatalf("deals of one region: %v, want %d", got.Body["total"], deals/regions)
			}
			lat := measure(b, s, func(r *rand.Rand) (string, string) {
				return "crm.deal.list", fmt.Sprintf(`{"filter":{"UF_CRM_REGION":"region-%02d",">OPPORTUNITY":%d},"select":["ID","TITLE","OPPORTUNITY","UF_CRM_REGION"],"order":{"ID":"DESC"}}`,
					r.Intn(regions), r.Intn(900))
			})
			report(b, lat)
		})
	}
}

// seedRaw fills a type's table with n rows built by row(i, createdTime), oldest first.
func seedRaw(b *testing.B, st *store.Store, etid int64, n int, cols []store.Column, row func(i int, t time.Time) []any) {
	b.Helper()
	ctx := context.Background()
	start := time.Now().Add(-time.Duration(n) * time.Second).Truncate(time.Second)
	const chunk = 20000
	for from := 0; from < n; from += chunk {
		rows := make([][]any, 0, chunk)
		for i := from; i < min(from+chunk, n); i++ {
			rows = append(rows, row(i, start.Add(time.Duration(i)*time.Second)))
		}
		if err := st.InTx(ctx, func(tx *store.Tx) error { return tx.SeedItemsRaw(ctx, etid, cols, rows) }); err != nil {
			b.Fatal(err)
		}
	}
}

// measure runs b.N calls one after another (latency, not throughput) and returns each
// call's duration. Every answer must be 200.
func measure(b *testing.B, s *apitest.Server, call func(r *rand.Rand) (method, body string)) []time.Duration {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	r := rand.New(rand.NewSource(1))
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		method, body := call(r)
		t0 := time.Now()
		resp, err := client.Post(s.Base+method, "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			b.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		lat = append(lat, time.Since(t0))
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d %s", method, resp.StatusCode, raw)
		}
	}
	return lat
}

// report prints p50 and p99 in milliseconds.
func report(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
