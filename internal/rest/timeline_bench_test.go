package rest_test

import (
	"fmt"
	"math/rand"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// BenchmarkTimelineRead reads the newest 50 entries of a deal whose timeline holds
// 10,000 entries: its own changes and those of its ten child items, all written through
// the API (batch), so every entry is what the write path produces. Half the reads are
// the first page, half a page further back by cursor. Reports p50 and p99.
//
//	go test ./internal/rest -run '^$' -bench TimelineRead -benchtime 2000x
func BenchmarkTimelineRead(b *testing.B) {
	for _, dialect := range testdb.Dialects {
		b.Run(dialect, func(b *testing.B) {
			s := apitest.Start(b, dialect)
			visits := newType(s, map[string]any{"title": "Visits", "relations": map[string]any{"parent": []any{map[string]any{"entityTypeId": 2}}}})
			deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Big deal"}}), "")
			var children []int64
			for i := 0; i < 10; i++ {
				children = append(children, apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": visits,
					"fields": map[string]any{"title": fmt.Sprintf("Visit %d", i), "parentId2": deal}}), "item.id"))
			}
			// 11 entries so far; 9,989 more in batches of 50 updates.
			for n := 11; n < 10000; {
				cmd := map[string]any{}
				for k := 0; k < 50 && n < 10000; k, n = k+1, n+1 {
					if n%2 == 0 {
						cmd[fmt.Sprintf("c%d", k)] = fmt.Sprintf("crm.deal.update?id=%d&fields[OPPORTUNITY]=%d", deal, n)
					} else {
						cmd[fmt.Sprintf("c%d", k)] = fmt.Sprintf("crm.item.update?entityTypeId=%d&id=%d&fields[title]=Visit+%d", visits, children[n%10], n)
					}
				}
				s.MustOK("batch", map[string]any{"halt": 1, "cmd": cmd})
			}
			res := s.MustOK("smartcrm.timeline.list", map[string]any{"entityTypeId": 2, "id": deal})
			if len(apitest.Path(res, "entries").([]any)) != 50 || apitest.Path(res, "next") == nil {
				b.Fatalf("first page: %v", res)
			}
			first := apitest.Int(res, "entries.49.id")
			lat := measure(b, s, func(r *rand.Rand) (string, string) {
				if r.Intn(2) == 0 {
					return "smartcrm.timeline.list", fmt.Sprintf(`{"entityTypeId":2,"id":%d}`, deal)
				}
				return "smartcrm.timeline.list", fmt.Sprintf(`{"entityTypeId":2,"id":%d,"cursor":%d}`, deal, first-int64(r.Intn(9000)))
			})
			report(b, lat)
		})
	}
}
