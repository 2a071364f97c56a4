package events

import (
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/jsonx"
)

// Event names from event.bind: whatever comes in, a name is accepted only in a form
// that Canonical gives back unchanged and that upper-cases to itself.
func FuzzEventName(f *testing.F) {
	for _, s := range []string{"onCrmDynamicItemAdd", "ONCRMDYNAMICITEMUPDATE_1030", "oncrmdynamicitemdelete_0", "ONCRMDYNAMICITEMADD_+5",
		"ONCRMDYNAMICITEMADD_007", "ONTASKADD", " ONCRMDEALADD ", "", "ONCRMDYNAMICITEMADD_99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		c, typeID, ok := Canonical(name)
		if !ok {
			if c != "" || typeID != 0 {
				t.Fatalf("%q refused but gave %q %d", name, c, typeID)
			}
			return
		}
		if c != strings.ToUpper(c) || typeID < 0 {
			t.Fatalf("%q → %q %d", name, c, typeID)
		}
		again, id2, ok2 := Canonical(c)
		if !ok2 || again != c || id2 != typeID {
			t.Fatalf("%q → %q is not stable: %q %d", name, c, again, id2)
		}
	})
}

// Handler URLs: what is accepted parses as an absolute http(s) URL with a host.
func FuzzHandlerURL(f *testing.F) {
	for _, s := range []string{"https://erp.example.com/hook?x=1", "http://127.0.0.1:8080/", "ftp://x/", "javascript:alert(1)", "/relative",
		"http://user:pw@host/", "HTTPS://HOST", "http://[::1]:80/x", "http:///nohost", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if CheckHandlerURL(raw) != nil {
			return
		}
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Host == "" || (strings.ToLower(u.Scheme) != "http" && strings.ToLower(u.Scheme) != "https") {
			t.Fatalf("%q accepted: %v %+v", raw, err, u)
		}
	})
}

// The event form: whatever the keys and values, a handler decoding the form as PHP
// or url.ParseQuery does gets each value back under its bracketed name.
func FuzzForm(f *testing.F) {
	f.Add("FIELDS", "ID", "24")
	f.Add("a b", "c&d", "e=f%")
	f.Fuzz(func(t *testing.T, outer, inner, value string) {
		if strings.ContainsAny(outer+inner, "[]") || outer == "" || inner == "" {
			return // PHP's bracket syntax has no escape for brackets in names
		}
		form := Form(jsonx.Map{{K: "data", V: jsonx.Map{{K: outer, V: jsonx.Map{{K: inner, V: value}}}}}})
		got, err := url.ParseQuery(form)
		if err != nil {
			t.Fatalf("%q: %v", form, err)
		}
		if v := got.Get("data[" + outer + "][" + inner + "]"); v != value {
			t.Fatalf("%q: got %q, want %q", form, v, value)
		}
	})
}
