package params

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

func TestParseQueryBrackets(t *testing.T) {
	cases := []struct{ query, want string }{
		{"a=1&b=x", `{"a":"1","b":"x"}`},
		{"fields[TITLE]=x&fields[PHONE][0][VALUE]=1", `{"fields":{"TITLE":"x","PHONE":{"0":{"VALUE":"1"}}}}`},
		{"select[]=id&select[]=title", `{"select":{"0":"id","1":"title"}}`},
		{"filter%5B%3E%3Dopportunity%5D=5", `{"filter":{">=opportunity":"5"}}`},
		{"filter[0][logic]=OR&filter[0][0][%25title]=a", `{"filter":{"0":{"logic":"OR","0":{"%title":"a"}}}}`},
		{"a[5]=x&a[]=y", `{"a":{"5":"x","6":"y"}}`},
		{"a=1&a=2", `{"a":"2"}`},
		{"a=1&a[b]=2", `{"a":{"b":"2"}}`},
		{"a[b]=1&a=2", `{"a":"2"}`},
		{"x=a+b%20c", `{"x":"a b c"}`},
		{"&&a=&b", `{"a":"","b":""}`},
		{"a[b]tail=1", `{"a":{"b":"1"}}`},
		{"=1&a=2", `{"a":"2"}`},
	}
	for _, c := range cases {
		root := NewObject()
		if err := ParseQuery(root, c.query); err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		if got := mustJSON(t, root); got != c.want {
			t.Errorf("%q: got %s, want %s", c.query, got, c.want)
		}
	}
	for _, bad := range []string{"a[b=1", "[x]=1", "a" + strings.Repeat("[x]", MaxDepth+1) + "=1"} {
		if err := ParseQuery(NewObject(), bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", bad, err)
		}
	}
}

// PHP's urldecode keeps a '%' that does not start a two-digit hex escape, and Bitrix24
// parses every query (batch commands included) with it; so must we.
func TestParseQueryDecodesPercentLikePHP(t *testing.T) {
	cases := []struct {
		query, key string
		want       string
	}{
		{"filter[%title]=x", "filter.%title", "x"},
		{"filter[%25title]=x", "filter.%title", "x"},
		{"a=100%", "a", "100%"},
		{"a=%zz", "a", "%zz"},
		{"%zz=1", "%zz", "1"},
		{"a=%2", "a", "%2"},
		{"a=%%41", "a", "%A"},
		{"a=%41%4", "a", "A%4"},
		{"a=x+y%2By", "a", "x y+y"},
		{"a=%e9t%C3%A9", "a", "\xe9t\u00e9"},
		{"a%5Bb%5D=1", "a.b", "1"},
		{"a[%]=1", "a.%", "1"},
	}
	for _, c := range cases {
		root := NewObject()
		if err := ParseQuery(root, c.query); err != nil {
			t.Errorf("%q: %v", c.query, err)
			continue
		}
		var cur any = root
		for _, seg := range strings.Split(c.key, ".") {
			cur, _ = cur.(*Object).Get(seg)
		}
		if cur != c.want {
			t.Errorf("%q: %s = %q, want %q (tree %s)", c.query, c.key, cur, c.want, mustJSON(t, root))
		}
	}
}

func TestParseJSONKeepsOrderAndNumbers(t *testing.T) {
	root := NewObject()
	body := `{"order":{"title":"ASC","id":"DESC"},"n":12345678901234,"f":1.5,"b":true,"z":null,"l":[1,{"a":[]}]}`
	if err := ParseJSON(root, []byte(body)); err != nil {
		t.Fatal(err)
	}
	if got := mustJSON(t, root); got != body {
		t.Errorf("round trip:\n got %s\nwant %s", got, body)
	}
	order, _ := root.Get("order")
	if keys := order.(*Object).Keys(); keys[0] != "title" || keys[1] != "id" {
		t.Errorf("order keys: %v", keys)
	}
	if n, _ := root.Get("n"); n.(json.Number).String() != "12345678901234" {
		t.Errorf("big integer lost precision: %v", n)
	}
	for _, bad := range []string{`{"a":`, `{"a":1}}`, `[1]`, `"str"`, `{"a":1} x`, strings.Repeat("[", 100) + strings.Repeat("]", 100)} {
		if err := ParseJSON(NewObject(), []byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: err %v, want ErrMalformed", bad, err)
		}
	}
	if err := ParseJSON(NewObject(), []byte(`[]`)); err != nil {
		t.Errorf("PHP's empty array as a body: %v", err)
	}
}

func TestParseBodyByContentType(t *testing.T) {
	for _, c := range []struct{ ct, body string }{
		{"application/json; charset=utf-8", `{"a":{"b":"1"}}`},
		{"application/x-www-form-urlencoded", `a[b]=1`},
		{"", `a[b]=1`},
		{"text/plain", `{"a":{"b":"1"}}`},
	} {
		root := NewObject()
		if err := ParseBody(root, c.ct, []byte(c.body)); err != nil {
			t.Errorf("%s: %v", c.ct, err)
			continue
		}
		if got := mustJSON(t, root); got != `{"a":{"b":"1"}}` {
			t.Errorf("%s: %s", c.ct, got)
		}
	}
}

func TestLeafReaders(t *testing.T) {
	if i, ok := Int(json.Number("12")); !ok || i != 12 {
		t.Error("Int json.Number")
	}
	if _, ok := Int("12.5"); ok {
		t.Error("Int accepted a fraction")
	}
	if i, ok := Int(json.Number("3.0")); !ok || i != 3 {
		t.Error("Int 3.0")
	}
	if f, ok := Float("1 234,5"); !ok || f != 1234.5 {
		t.Errorf("Float with spaces and comma: %v", f)
	}
	if _, ok := Float("NaN"); ok {
		t.Error("Float accepted NaN")
	}
	for in, want := range map[any]bool{"Y": true, "N": false, "true": true, "0": false, json.Number("1"): true, false: false} {
		if got, ok := Bool(in); !ok || got != want {
			t.Errorf("Bool(%v) = %v %v", in, got, ok)
		}
	}
	if _, ok := Bool("maybe"); ok {
		t.Error("Bool accepted maybe")
	}
}

func checkTree(t *testing.T, v any, depth int) {
	if depth > MaxDepth+2 {
		t.Fatalf("tree deeper than the limit")
	}
	switch x := v.(type) {
	case *Object:
		if len(x.keys) != len(x.vals) {
			t.Fatalf("object keys and values disagree")
		}
		for i, k := range x.keys {
			if j := x.find(k); j != i {
				t.Fatalf("key %q found at %d, stored at %d", k, j, i)
			}
			checkTree(t, x.vals[i], depth+1)
		}
	case []any:
		for _, e := range x {
			checkTree(t, e, depth+1)
		}
	case string, json.Number, bool, nil:
	default:
		t.Fatalf("unexpected leaf %T", v)
	}
}

// checkParsed: a refusal is always ErrMalformed; an accepted tree is well formed and
// encodes.
func checkParsed(t *testing.T, root *Object, err error) {
	if err != nil {
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("error not marked malformed: %v", err)
		}
		return
	}
	checkTree(t, root, 0)
	if _, err := json.Marshal(root); err != nil {
		t.Fatalf("tree does not encode: %v", err)
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"a=1", "fields[TITLE]=x&select[]=id", "filter[0][logic]=OR&filter[0][0][%25title]=a",
		"a[]=1&a[]=2&a[5]=3&a[]=4", "cmd[x]=crm.item.get%3Fid%3D1", "a[b=1", "%zz", "a[][][]=1",
		"filter[%title]=x", "filter[%25title]=x", "a=100%", "a=%2", "%%41=%41%4", "a=x+y%2By%", "%5B%5D=1", "a[%]=%e9",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		root := NewObject()
		checkParsed(t, root, ParseQuery(root, q))
	})
}

func FuzzParseBody(f *testing.F) {
	for _, s := range []string{`{"a":{"b":[1,2,{"c":null}]}}`, `a[b]=1&c=2`, `[]`, `{"a":1e400}`, `{"a":"\ud800"}`} {
		f.Add("application/json", s)
		f.Add("", s)
	}
	f.Add("multipart/form-data; boundary=X", "--X\r\nContent-Disposition: form-data; name=\"a[b]\"\r\n\r\n1\r\n--X--\r\n")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		root := NewObject()
		checkParsed(t, root, ParseBody(root, contentType, []byte(body)))
	})
}

// FuzzParseJSONAgreesWithEncodingJSON: the hand-written parser accepts exactly the
// documents encoding/json accepts (within the depth limit), with the same values.
func FuzzParseJSONAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":"\u00e9\ud83d\ude00","b":[1,-0.5e+3,true,null]}`, `{"a":01}`, `{"a":"x\ty"}`,
		`{"a":"\xff"}`, `{"a":1.}`, `{"a":-}`, `{} `, ` {"a":{}}`, `{"a":"\ud800"}`, `{"a":[1,]}`, `{"a" 1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		root := NewObject()
		err := ParseJSON(root, []byte(s))
		var std any
		stdErr := json.Unmarshal([]byte(s), &std)
		if _, isObj := std.(map[string]any); stdErr == nil && !isObj {
			return // only objects (and []) are bodies; both refuse the rest differently
		}
		if stdErr != nil {
			if err == nil {
				t.Fatalf("accepted invalid JSON %q", s)
			}
			return
		}
		if err != nil {
			if strings.Contains(err.Error(), "nesting deeper") || errors.Is(err, errTooManyNodes) {
				return // within the limits only
			}
			t.Fatalf("refused valid JSON %q: %v", s, err)
		}
		got, _ := json.Marshal(root)
		var back, want any
		_ = json.Unmarshal(got, &back)
		wantBytes, _ := json.Marshal(std)
		_ = json.Unmarshal(wantBytes, &want)
		if fmt.Sprint(back) != fmt.Sprint(want) {
			t.Fatalf("%q: got %v, want %v", s, back, want)
		}
	})
}

// Appending with `a[]=` must stay linear: a body of many appends is a cheap attack
// (a quadratic append made this input take minutes; the test timeout catches that).
func TestManyAppendsStayLinear(t *testing.T) {
	const n = MaxKeys - 1 // and the object they go into: the whole budget
	q := strings.Repeat("a[]=x&", n)
	root := NewObject()
	if err := ParseQuery(root, q); err != nil {
		t.Fatal(err)
	}
	a, _ := root.Get("a")
	if a.(*Object).Len() != n {
		t.Fatalf("%d elements", a.(*Object).Len())
	}
	if last, _ := a.(*Object).Get(fmt.Sprint(n - 1)); last != "x" {
		t.Errorf("last element: %v", last)
	}
}

// Objects switch from scanning to a hash index past scanLimit keys; order, lookups,
// overwrites and PHP's next index must not notice.
func TestObjectAcrossScanLimit(t *testing.T) {
	o := NewObject()
	const n = 3 * scanLimit
	for i := range n {
		o.Set(fmt.Sprint(i*2), i)
		o.Set("k"+fmt.Sprint(i), -i)
	}
	o.Set("0", "again") // overwrite keeps the first position
	if o.Len() != 2*n || o.Keys()[0] != "0" || o.Keys()[1] != "k0" {
		t.Fatalf("keys %v", o.Keys())
	}
	for i := range n {
		v, ok := o.Get("k" + fmt.Sprint(i))
		if !ok || v != -i {
			t.Errorf("k%d = %v %v", i, v, ok)
		}
	}
	if v, _ := o.Get("0"); v != "again" {
		t.Errorf("overwritten value %v", v)
	}
	if _, ok := o.Get("missing"); ok {
		t.Error("found a missing key")
	}
	if o.nextIndex() != fmt.Sprint(2*(n-1)+1) {
		t.Errorf("next index %s", o.nextIndex())
	}
	if v, ok := Lookup(o, "K5"); !ok || v != -5 {
		t.Errorf("case-insensitive lookup: %v %v", v, ok)
	}
	keys, vals, _ := Entries(o)
	vals[0] = "changed"
	if v, _ := o.Get(keys[0]); v != "again" {
		t.Error("Entries shares its values with the object")
	}
}

// A one-key object must cost about a hundred bytes, not a map's few hundred: a request
// may build MaxKeys of them.
func TestSmallObjectsAreSmall(t *testing.T) {
	q := strings.Repeat("a"+strings.Repeat("[]", MaxDepth)+"=1&", 3000) // ~99,000 objects
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	root := NewObject()
	if err := ParseQuery(root, q); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	perObject := (after.TotalAlloc - before.TotalAlloc) / (3000 * MaxDepth)
	t.Logf("%d bytes allocated per object", perObject)
	if perObject > 160 {
		t.Errorf("%d bytes allocated per object of a bracket path", perObject)
	}
	runtime.KeepAlive(root)
}
