package processdef

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
)

// docs/process.schema.json is what editors check files with: it must say what the
// loader reads. Every preset validates against it, and its properties are the model's.

func readSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../docs/process.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPresetsValidateAgainstSchema(t *testing.T) {
	schema := readSchema(t)
	for _, p := range Presets {
		data, err := PresetFile(p.Name)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		v := &validator{root: schema}
		v.check(schema, doc, p.Name)
		for _, e := range v.errs {
			t.Error(e)
		}
	}
	// The validator does refuse: an unknown key, a bad stage code.
	v := &validator{root: schema}
	v.check(schema, map[string]any{"version": 1, "processes": []any{map[string]any{"code": "x", "title": "X", "colour": "red",
		"funnels": []any{map[string]any{"code": "f", "name": "F", "stages": []any{map[string]any{"code": "new", "name": "N"}}}}}}}, "bad")
	if len(v.errs) != 2 {
		t.Errorf("a bad file: %v", v.errs)
	}
}

func TestSchemaMatchesModel(t *testing.T) {
	schema := readSchema(t)
	defs := schema["$defs"].(map[string]any)
	models := map[string]any{"process": Process{}, "relations": Relations{}, "relation": Relation{}, "field": Field{},
		"labels": Labels{}, "item": Item{}, "funnel": Funnel{}, "stage": Stage{}, "requirement": Requirement{},
		"automation": Automation{}, "stageAutomation": StageAutomation{}, "robot": Robot{}, "delay": Delay{},
		"trigger": Trigger{}, "section": Section{}}
	check := func(name string, props map[string]any, model any) {
		var tags, keys []string
		rt := reflect.TypeOf(model)
		for i := 0; i < rt.NumField(); i++ {
			if tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("yaml"), ","); tag != "" {
				tags = append(tags, tag)
			}
		}
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(tags)
		sort.Strings(keys)
		if !reflect.DeepEqual(tags, keys) {
			t.Errorf("%s: the model reads %v, the schema has %v", name, tags, keys)
		}
	}
	check("file", schema["properties"].(map[string]any), File{})
	for name, model := range models {
		def := defs[name].(map[string]any)
		check(name, def["properties"].(map[string]any), model)
	}
	var flags []string
	for _, f := range crm.AllFlags() {
		if f.Settable() {
			flags = append(flags, string(f))
		}
	}
	sort.Strings(flags)
	var schemaFlags []string
	for k := range defs["process"].(map[string]any)["properties"].(map[string]any)["flags"].(map[string]any)["properties"].(map[string]any) {
		schemaFlags = append(schemaFlags, k)
	}
	sort.Strings(schemaFlags)
	if !reflect.DeepEqual(flags, schemaFlags) {
		t.Errorf("flags: the CRM has %v, the schema %v", flags, schemaFlags)
	}
	var kinds []any
	for _, k := range field.Kinds() {
		kinds = append(kinds, k.ID())
	}
	if got := defs["field"].(map[string]any)["properties"].(map[string]any)["type"].(map[string]any)["enum"]; !reflect.DeepEqual(got, kinds) {
		t.Errorf("field types: the CRM has %v, the schema %v", kinds, got)
	}
}

// validator checks a value against the part of JSON Schema the file's schema uses.
type validator struct {
	root map[string]any
	errs []string
}

func (v *validator) fail(path, format string, a ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, a...))
}

func (v *validator) check(s map[string]any, x any, path string) {
	if ref, ok := s["$ref"].(string); ok {
		def := v.root["$defs"].(map[string]any)[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		v.check(def, x, path)
		return
	}
	if want, ok := s["const"]; ok && fmt.Sprint(want) != fmt.Sprint(x) {
		v.fail(path, "is %v, not %v", x, want)
	}
	if enum, ok := s["enum"].([]any); ok {
		found := false
		for _, e := range enum {
			found = found || fmt.Sprint(e) == fmt.Sprint(x)
		}
		if !found {
			v.fail(path, "%v is not one of %v", x, enum)
		}
	}
	switch s["type"] {
	case "object":
		m, ok := x.(map[string]any)
		if !ok {
			v.fail(path, "is not an object")
			return
		}
		props, _ := s["properties"].(map[string]any)
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				v.fail(path, "lacks %s", r)
			}
		}
		for k, e := range m {
			if p, ok := props[k].(map[string]any); ok {
				v.check(p, e, path+"."+k)
			} else if ap, ok := s["additionalProperties"].(map[string]any); ok {
				v.check(ap, e, path+"."+k)
			} else if s["additionalProperties"] == false {
				v.fail(path, "has %s, which the schema does not", k)
			}
		}
	case "array":
		list, ok := x.([]any)
		if !ok {
			v.fail(path, "is not a list")
			return
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range list {
				v.check(items, e, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	case "string":
		str, ok := x.(string)
		if !ok {
			v.fail(path, "is not text")
			return
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			v.fail(path, "%q does not match %s", str, p)
		}
	case "integer":
		if _, ok := x.(int); !ok {
			v.fail(path, "is not a whole number")
		}
	case "boolean":
		if _, ok := x.(bool); !ok {
			v.fail(path, "is not true or false")
		}
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}
