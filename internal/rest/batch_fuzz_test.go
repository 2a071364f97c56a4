package rest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"smartcrm/internal/params"
)

func FuzzParseBatch(f *testing.F) {
	for _, s := range []string{
		`{"halt":1,"cmd":{"a":"crm.item.add?entityTypeId=1&fields%5Btitle%5D=x","b":"crm.item.get?id=$result[a][item][id]"}}`,
		`{"cmd":["crm.type.list?","crm.item.list"]}`,
		`{"cmd":{"x":1}}`, `{"cmd":"text"}`, `{"halt":"maybe","cmd":[]}`,
		`{"cmd":{"a":"?a[b=1"}}`,
		`{"cmd":{"b":"crm.type.list?x=$result[a]$result[a]$result[a][item]&y[]=$result[a][item][list][1]","c":"x?filter[%title]=$result[a][item][id]%"}}`,
		`{"cmd":["m?a=$result[0]","m?a=$result[a][item][list]$result[nope]&b=$result[a"]}`,
	} {
		f.Add(s, `{"a":{"item":{"id":5,"list":[1,{"x":"y"}]}}}`)
	}
	f.Fuzz(func(t *testing.T, body, earlier string) {
		p := params.NewObject()
		if params.ParseJSON(p, []byte(body)) != nil {
			return
		}
		cmds, _, err := ParseBatch(p)
		if err != nil {
			var api *APIError
			if !errors.As(err, &api) || api.Status < 400 {
				t.Fatalf("batch error without a wire form: %v", err)
			}
			return
		}
		if len(cmds) > MaxBatchCommands {
			t.Fatalf("%d commands accepted", len(cmds))
		}
		done := map[string]*doneResult{}
		if prev := params.NewObject(); params.ParseJSON(prev, []byte(earlier)) == nil {
			for _, k := range prev.Keys() {
				v, _ := prev.Get(k)
				done[k] = &doneResult{value: v}
			}
		}
		refs := newReferences(done)
		for _, c := range cmds {
			if c.Method != strings.ToLower(c.Method) {
				t.Fatalf("method not lower-cased: %q", c.Method)
			}
			if err := refs.resolve(c.Key, c.Params); err != nil && err.Code != "ERROR_BATCH_REFERENCES_TOO_LARGE" {
				t.Fatalf("resolving references: %v", err)
			}
		}
	})
}

func TestResolveReferences(t *testing.T) {
	done := map[string]*doneResult{"add": {value: map[string]any{"item": map[string]any{"id": 7, "title": "T"}}},
		"list": {value: map[string]any{"items": []any{map[string]any{"id": 1}, map[string]any{"id": 2}}}}}
	p := params.NewObject()
	_ = params.ParseQuery(p, "id=$result[add][item][id]&t=Copy+of+$result[add][item][title]&x=$result[list][items][1][id]&m=$result[nope][id]&deep[a]=$result[add][item]")
	if err := newReferences(done).resolve("x", p); err != nil {
		t.Fatal(err)
	}
	got, _ := p.MarshalJSON()
	want := `{"id":7,"t":"Copy of T","x":2,"m":"$result[nope][id]","deep":{"a":{"id":7,"title":"T"}}}`
	if string(got) != want {
		t.Errorf("got %s\nwant %s", got, want)
	}

	// A reference to a command that has not run yet stays as written, and resolves in
	// a later command once that command has run: misses are not remembered.
	refs := newReferences(done)
	early, later := params.NewObject(), params.NewObject()
	_ = params.ParseQuery(early, "a=$result[b][id]")
	_ = params.ParseQuery(later, "a=$result[b][id]")
	if err := refs.resolve("early", early); err != nil {
		t.Fatal(err)
	}
	done["b"] = &doneResult{value: map[string]any{"id": 9}}
	if err := refs.resolve("later", later); err != nil {
		t.Fatal(err)
	}
	if a, _ := early.Get("a"); a != "$result[b][id]" {
		t.Errorf("a reference to a command that has not run: %v", a)
	}
	if a, _ := later.Get("a"); fmt.Sprint(a) != "9" {
		t.Errorf("the same reference once the command ran: %v", a)
	}
}
