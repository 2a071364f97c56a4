package jsonx

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestAppendMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, "", "plain", "quote \" slash \\ tab \t nl \n cr \r bell \a <>&", "Договор №1", "bad \xff utf8", "sep \u2028 \u2029",
		true, false, 0, -7, int64(1) << 60, 0.1, 1e21, 1e-7, -0.5, 12.0, json.Number("12.50"),
		[]any{1, "a", nil, []any{}}, []int64{1, 2}, []int64{}, map[string]any{"b": 1, "a": []any{"x"}},
		time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	for _, v := range values {
		got, err := Append(nil, v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v)
		if string(got) != string(bytes.TrimSuffix(want.Bytes(), []byte("\n"))) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got, want.Bytes())
		}
	}
}

func TestOrderedObjects(t *testing.T) {
	b, _ := Append(nil, Map{{"z", 1}, {"a", Obj{{"k", []Obj{{{"x", nil}}}}}}, {"e", Obj{}}, {"m", Map{}}})
	if string(b) != `{"z":1,"a":{"k":[{"x":null}]},"e":[],"m":{}}` {
		t.Errorf("got %s", b)
	}
	if _, err := Append(nil, Map{{"nan", 0.0 / zero()}}); err == nil {
		t.Error("NaN encoded")
	}
}

func zero() float64 { return 0 }

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\x00\x1f", "\xff\xfe", "\u2028", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, _ := Append(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%q encoded as invalid JSON %s: %v", s, got, err)
		}
		want, _ := json.Marshal(s)
		var wantBack string
		_ = json.Unmarshal(want, &wantBack)
		if back != wantBack {
			t.Fatalf("%q round-trips to %q, encoding/json gives %q", s, back, wantBack)
		}
	})
}
