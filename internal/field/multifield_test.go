package field_test

import (
	"encoding/json"
	"strings"
	"testing"

	"smartcrm/internal/field"
)

// FuzzMultifield feeds arbitrary request bodies to the multifield parser and merges
// what it accepts: no input may panic, an accepted entry always has a kind, a value
// type of that kind and a value, and merged entries have distinct ids.
//
//	go test ./internal/field -run '^$' -fuzz FuzzMultifield
func FuzzMultifield(f *testing.F) {
	for _, seed := range []string{
		`{"fm":[{"TYPE_ID":"PHONE","VALUE":"+1 555","VALUE_TYPE":"WORK"}]}`,
		`{"fm":[{"typeId":"EMAIL","value":"a@b.io"},{"ID":1,"DELETE":"Y"}]}`,
		`{"fm":[{"TYPE_ID":"IM","VALUE_TYPE":"TELEGRAM","VALUE":"@x"},{"ID":"2","VALUE":""}]}`,
		`{"fm":"+1 555"}`, `{"fm":[1,2]}`, `{"fm":[{"TYPE_ID":"FAX"}]}`,
	} {
		f.Add(seed)
	}
	stored := []field.MultiValue{{ID: 1, TypeID: "PHONE", ValueType: "WORK", Value: "1"}, {ID: 2, TypeID: "EMAIL", ValueType: "HOME", Value: "x@y.z"}}
	f.Fuzz(func(t *testing.T, body string) {
		var root map[string]any
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&root); err != nil {
			return
		}
		raw := root["fm"]
		v, err := field.Multifield{}.Parse(raw)
		if err != nil {
			return
		}
		patch := v.([]field.MultiValue)
		for _, e := range patch {
			if _, ok := field.MultifieldKinds[e.TypeID]; !ok {
				t.Fatalf("accepted an entry of kind %q", e.TypeID)
			}
			if e.ID == 0 && !e.Delete && e.Value == "" {
				t.Fatalf("accepted a new entry without a value: %+v", e)
			}
		}
		merged, err := field.Multifield{}.Merge(stored, patch)
		if err != nil {
			return
		}
		seen := map[int64]bool{}
		for _, e := range merged {
			if e.ID <= 0 || seen[e.ID] || e.Value == "" {
				t.Fatalf("merged entries: %+v", merged)
			}
			seen[e.ID] = true
		}
	})
}
