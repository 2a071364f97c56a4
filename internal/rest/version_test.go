package rest_test

import (
	"fmt"
	"sync"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/testdb"
)

// Eight clients each read a counter, add one and write it back, 500 times, sending the
// version they read: an update that lost the race is refused with 409 and retried, so
// every acknowledged increment is kept — 4,000, not the last writer's view.
func TestConcurrentIncrementsLoseNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		s := apitest.Start(t, dialect)
		etid := newType(s, map[string]any{"title": "Counters"})
		addField(s, map[string]any{"fieldName": "UF_CRM_1_HITS", "userTypeId": "integer"})
		id := apitest.Int(s.MustOK("crm.item.add", map[string]any{"entityTypeId": etid, "fields": map[string]any{"ufCrm1Hits": 0}}), "item.id")

		const clients, rounds = 8, 500
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		conflicts := make(chan int, clients)
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				seen := 0
				for done := 0; done < rounds; {
					item := s.Call("crm.item.get", map[string]any{"entityTypeId": etid, "id": id})
					if item.Status != 200 {
						errs <- fmt.Errorf("get: %d %v", item.Status, item.Body)
						return
					}
					hits := apitest.Int(item.Result(), "item.ufCrm1Hits")
					version := apitest.Int(item.Result(), "item.version")
					r := s.Call("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "version": version,
						"fields": map[string]any{"ufCrm1Hits": hits + 1}})
					switch code, _ := r.Error(); {
					case r.Status == 200:
						done++
					case r.Status == 409 && code == "VERSION_CONFLICT":
						seen++ // someone else's increment came first: read again
					default:
						errs <- fmt.Errorf("update: %d %v", r.Status, r.Body)
						return
					}
				}
				conflicts <- seen
			}()
		}
		wg.Wait()
		close(errs)
		close(conflicts)
		for err := range errs {
			t.Fatal(err)
		}
		total := 0
		for n := range conflicts {
			total += n
		}
		got := apitest.Int(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}), "item.ufCrm1Hits")
		if got != clients*rounds {
			t.Fatalf("counter %d after %d acknowledged increments (%d refused as stale)", got, clients*rounds, total)
		}
		if total == 0 {
			t.Errorf("no update was ever refused: the test did not race")
		}
		t.Logf("%d increments kept, %d stale updates refused and retried", got, total)

		// A stale version changes nothing; the legacy methods take VERSION too.
		item := s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id})
		v := apitest.Int(item, "item.version")
		s.MustFail("crm.item.update", map[string]any{"entityTypeId": etid, "id": id, "version": v - 1,
			"fields": map[string]any{"title": "stale"}}, 409, "VERSION_CONFLICT")
		if apitest.Int(s.MustOK("crm.item.get", map[string]any{"entityTypeId": etid, "id": id}), "item.version") != v {
			t.Errorf("a refused update changed the item")
		}
		deal := apitest.Int(s.MustOK("crm.deal.add", map[string]any{"fields": map[string]any{"TITLE": "Boiler"}}), "")
		dv := apitest.Str(s.MustOK("crm.deal.get", map[string]any{"id": deal}), "VERSION") // a string, as legacy numbers are
		s.MustOK("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"TITLE": "Boiler 2", "VERSION": dv}})
		s.MustFail("crm.deal.update", map[string]any{"id": deal, "fields": map[string]any{"TITLE": "Boiler 3", "VERSION": dv}}, 409, "VERSION_CONFLICT")
		if got := apitest.Str(s.MustOK("crm.deal.get", map[string]any{"id": deal}), "TITLE"); got != "Boiler 2" {
			t.Errorf("deal title after a stale update: %q", got)
		}
	})
}
