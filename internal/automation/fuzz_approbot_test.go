package automation

import (
	"encoding/json"
	"testing"
)

// bizproc.robot.add's fields, as JSON: ParseAppRobot never panics, and what it
// accepts has a valid code and handler, a name, and named properties with valid keys.
func FuzzParseAppRobot(f *testing.F) {
	for _, s := range []string{
		`{"CODE":"sms","HANDLER":"https://x.example/h","NAME":"SMS","PROPERTIES":{"phone":{"Name":"Phone","Required":"Y"}}}`,
		`{"CODE":"a b","HANDLER":"https://x","NAME":"n"}`,
		`{"code":"x","handler":"http://h/","name":{"en":"X"},"RETURN_PROPERTIES":{"id":{"NAME":"Id"}},"USE_SUBSCRIPTION":"n"}`,
		`{"CODE":"x","HANDLER":"http://h/","NAME":"n","PROPERTIES":[]}`,
		`{"CODE":"x","HANDLER":"http://h/","NAME":"n","DOCUMENT_TYPE":["crm","CCrmDocumentDeal","DEAL"],"FILTER":{"INCLUDE":["b24"]}}`,
		`{}`, `{"CODE":1}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var fields map[string]any
		if json.Unmarshal([]byte(src), &fields) != nil {
			return
		}
		d, err := ParseAppRobot(fields, nil)
		if err != nil {
			return
		}
		if !robotCode.MatchString(d.Code) || d.Handler == "" || !nonEmptyText(d.Name) {
			t.Fatalf("accepted %s as %+v", src, d)
		}
		for _, props := range []map[string]AppRobotProperty{d.Properties, d.Return} {
			for k, p := range props {
				if !propertyKey.MatchString(k) || !nonEmptyText(p.Name) {
					t.Fatalf("accepted property %q %+v", k, p)
				}
			}
		}
		body, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		var back AppRobotDef
		if err := json.Unmarshal(body, &back); err != nil || back.Code != d.Code || len(back.Properties) != len(d.Properties) {
			t.Fatalf("round trip of %s: %v %+v", body, err, back)
		}
	})
}
