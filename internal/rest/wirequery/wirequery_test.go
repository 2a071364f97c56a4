package wirequery

import (
	"errors"
	"strings"
	"testing"

	"smartcrm/internal/field"
	"smartcrm/internal/params"
	"smartcrm/internal/query"
)

var catalog = map[string]*query.Field{
	"id":        {Name: "id", Column: "id", Type: field.Integer{}},
	"title":     {Name: "title", Column: "title", Type: field.Text{}},
	"opened":    {Name: "opened", Column: "opened", Type: field.Flag{}},
	"created":   {Name: "created", Column: "created_time", Type: field.DateTime{}},
	"observers": {Name: "observers", Column: "observers", Type: field.IntList{TypeName: "user"}, NoOrder: true},
	"category":  {Name: "category", Column: "category_id", Type: field.Integer{}, NullMeans: int64(7)},
	"hidden":    {Name: "hidden", Column: "hidden", Type: field.Integer{}, NoFilter: true, NoOrder: true},
}

func resolve(name string) (*query.Field, bool) {
	f, ok := catalog[strings.ToLower(name)]
	return f, ok
}

func tree(t testing.TB, js string) any {
	t.Helper()
	root := params.NewObject()
	if err := params.ParseJSON(root, []byte(`{"v":`+js+`}`)); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	v, _ := root.Get("v")
	return v
}

func TestSplitOp(t *testing.T) {
	for key, want := range map[string]field.Op{
		"id": field.OpEq, "=id": field.OpEq, "!id": field.OpNotEq, "!=id": field.OpNotEq,
		">id": field.OpGt, ">=id": field.OpGte, "<id": field.OpLt, "<=id": field.OpLte,
		"@id": field.OpIn, "!@id": field.OpNotIn, "%id": field.OpContains, "=%id": field.OpLike,
		"%=id": field.OpLike, "!%id": field.OpNotContains, "!=%id": field.OpNotLike, "!%=id": field.OpNotLike,
	} {
		op, name := SplitOp(key)
		if op != want || name != "id" {
			t.Errorf("%s: %s %s", key, op, name)
		}
	}
}

func TestParseFilter(t *testing.T) {
	g, err := ParseFilter(tree(t, `{"0":{"logic":"OR","a":{"id":1},"1":{">=created":"2025-01-01"}},"@id":[1,"2"],"observers":3,"category":null,"!=title":""}`), resolve)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Items) != 5 || g.Or {
		t.Fatalf("top group: %+v", g)
	}
	sub := g.Items[0].(query.Group)
	if !sub.Or || len(sub.Items) != 2 {
		t.Errorf("sub-group: %+v", sub)
	}
	in := g.Items[1].(query.Cond)
	if in.Op != field.OpIn || len(in.Value.([]any)) != 2 || in.Value.([]any)[1] != int64(2) {
		t.Errorf("in: %+v", in)
	}
	if c := g.Items[2].(query.Cond); c.Op != field.OpContainsAny {
		t.Errorf("multiple field equality: %+v", c)
	}
	if c := g.Items[3].(query.Cond); c.Value != int64(7) {
		t.Errorf("null means the default: %+v", c)
	}
	if c := g.Items[4].(query.Cond); c.Op != field.OpNotEq || c.Value != nil {
		t.Errorf("not empty: %+v", c)
	}
	for js, msg := range map[string]string{
		`{"nope":1}`:                      "Invalid filter: field 'nope' is not allowed in filter",
		`{"id":"x"}`:                      "Invalid filter: field 'id' has invalid value",
		`{"%id":"1"}`:                     "Invalid filter: operator '%' is not allowed for field 'id'",
		`{"hidden":1}`:                    "Invalid filter: field 'hidden' is not allowed in filter",
		`{">created":"soon"}`:             "Invalid filter: field 'created' has invalid value",
		`{"0":{"logic":"NAND"}}`:          "Invalid filter: logic must be AND or OR, got 'NAND'",
		`{">observers":1}`:                "Invalid filter: operator '>' is not allowed for field 'observers'",
		`{"@id":[[1]]}`:                   "Invalid filter: field 'id' has invalid value",
		`"text"`:                          "Invalid filter: the filter must be an object",
		`{"opened":"sometimes"}`:          "Invalid filter: field 'opened' has invalid value",
		`{"0":{"0":{"0":{"0":{"x":1}}}}}`: "Invalid filter: field 'x' is not allowed in filter",
		`{"id":1,"any name":{"id":2}}`:    "",
	} {
		_, err := ParseFilter(tree(t, js), resolve)
		if msg == "" {
			if err != nil {
				t.Errorf("%s: %v", js, err)
			}
			continue
		}
		var qe *query.Error
		if !errors.As(err, &qe) || qe.Msg != msg {
			t.Errorf("%s: got %v, want %q", js, err, msg)
		}
	}
}

func TestParseOrder(t *testing.T) {
	o, err := ParseOrder(tree(t, `{"title":"desc","ID":"asc","id":"DESC"}`), resolve)
	if err != nil || len(o) != 2 || !o[0].Desc || o[1].Desc || o[1].Field.Column != "id" {
		t.Fatalf("order: %+v %v", o, err)
	}
	for js, msg := range map[string]string{
		`{"nope":"ASC"}`:      "Invalid order: field 'nope' is not allowed in order",
		`{"observers":"ASC"}`: "Invalid order: field 'observers' is not allowed in order",
		`{"id":"UP"}`:         "Invalid order: allowed sort directions are ASC, DESC. But got 'UP' for field 'id'",
	} {
		if _, err := ParseOrder(tree(t, js), resolve); err == nil || err.Error() != msg {
			t.Errorf("%s: %v", js, err)
		}
	}
	if o, err := ParseOrder(tree(t, `[]`), resolve); err != nil || o != nil {
		t.Errorf("PHP empty array: %v %v", o, err)
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`{"id":1}`, `{"0":{"logic":"OR","0":{"id":1},"1":{"!%title":"x"}}}`, `{"@id":[1,2],"!=title":""}`,
		`{"observers":[1,2],">=created":"2025-01-01T00:00:00+02:00"}`, `[{"logic":"AND"}]`, `{"category":null}`,
		`{"=%title":"a%","!@opened":["Y"]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		root := params.NewObject()
		if params.ParseJSON(root, []byte(`{"v":`+js+`}`)) != nil {
			return
		}
		v, _ := root.Get("v")
		g, err := ParseFilter(v, resolve)
		if err != nil {
			var qe *query.Error
			if !errors.As(err, &qe) {
				t.Fatalf("error of the wrong kind: %v", err)
			}
			return
		}
		var walk func(query.Expr)
		walk = func(e query.Expr) {
			switch x := e.(type) {
			case query.Group:
				for _, i := range x.Items {
					walk(i)
				}
			case query.Cond:
				if x.Field == nil || x.Field.NoFilter || !field.Allows(x.Field.Type, x.Op) && x.Op != field.OpContainsAny && x.Op != field.OpContainsNone {
					t.Fatalf("accepted a condition the field does not allow: %+v", x)
				}
			}
		}
		walk(g)
	})
}
