package automation_test

import (
	"net/http"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/store"
)

// Whatever body smartcrm.automation.set gets, it answers 200 or a client error —
// never a 500 — and a refused document leaves the stored one as it was.
func FuzzAutomationSet(f *testing.F) {
	for _, s := range []string{
		`{"automation":{"entityTypeId":1030,"categoryId":1,"version":0,"stages":{}}}`,
		`{"automation":{"entityTypeId":1030,"categoryId":1,"version":0,"stages":{"DT1030_1:NEW":{"robots":[{"id":"a","type":"comment","params":{"text":"{{title}}"}}]}}}}`,
		`{"automation":{"entityTypeId":1030,"categoryId":1,"version":0,"stages":{"DT1030_1:NEW":{"robots":[{"id":"a","type":"webhook","condition":"id > 1","delay":{"after":"2h","workingHours":true},"params":{"url":"http://x/{{id}}"}}],"triggers":[{"id":"t","type":"fieldChanged","params":{"fields":["title"]}}]}}}}`,
		`{"automation":{"entityTypeId":1030,"stages":{"DT1030_1:NEW":{"robots":[{"id":"w","type":"wait","params":{"condition":"title matches '('"}}]}}}}`,
		`{"automation":[1,2,3]}`, `{"entityTypeId":"x"}`, `{}`,
	} {
		f.Add(s)
	}
	s := apitest.Start(f, store.SQLite)
	s.MustOK("crm.type.add", map[string]any{"fields": map[string]any{"title": "Fuzz", "isStagesEnabled": "Y", "isAutomationEnabled": "Y"}})
	f.Fuzz(func(t *testing.T, body string) {
		s.T = t // report through this input's test
		before := apitest.Int(s.MustOK("smartcrm.automation.get", map[string]any{"entityTypeId": 1030, "categoryId": 1}), "automation.version")
		r := s.Do(http.MethodPost, s.Base+"smartcrm.automation.set", "application/json", []byte(body))
		if r.Status >= 500 {
			t.Fatalf("%s → %d %s", body, r.Status, r.Raw)
		}
		after := apitest.Int(s.MustOK("smartcrm.automation.get", map[string]any{"entityTypeId": 1030, "categoryId": 1}), "automation.version")
		if r.Status != 200 && after != before {
			t.Fatalf("a refused document changed the version %d → %d", before, after)
		}
		if r.Status == 200 && after != before+1 {
			t.Fatalf("a saved document moved the version %d → %d", before, after)
		}
	})
}
