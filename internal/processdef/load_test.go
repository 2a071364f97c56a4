package processdef

import (
	"runtime"
	"strings"
	"testing"
)

// A broken file gets every problem at once, each at its line and column.
func TestLoadListsEveryProblem(t *testing.T) {
	src := `version: 1
processes:
  - code: visit
    title: Visit
    colour: red
    fields:
      - key: AMOUNT
        type: double
      - key: AMOUNT
        type: string
      - key: KIND
        type: enumeration
        items:
          - key: A
            value: One
          - key: A
            value: Two
    funnels:
      - code: main
        name: Main
        stages:
          - code: NEW
            name: New
          - code: SUCCESS
            name: Done
            semantics: success
          - code: FAIL
            name: Lost
            semantics: failure
        required:
          - field: ufCrmMissing
            from: NOWHERE
        automation:
          stages:
            GONE:
              robots:
                - id: r1
                  type: comment
                  condition: "ufCrmAmount > (1"
                  params:
                    text: hi
                - id: r2
                  type: stage
                  params:
                    stageId: LATER
`
	_, err := Load("visit.yaml", []byte(src))
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("want *Error, got %v", err)
	}
	text := err.Error()
	for _, want := range []string{
		`visit.yaml:5:5: processes[0]: unknown key "colour"`,
		`visit.yaml:9:9: process visit, field AMOUNT: two fields have the key "AMOUNT"`,
		`two items have the key "A"`,
		`field "ufCrmMissing" is not defined`,
		`stage "NOWHERE" is not defined in this funnel`,
		`stage "GONE" is not defined in this funnel`,
		`robot r1: the condition does not compile`,
		`stageId "LATER" is not defined in this funnel`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	if len(e.Problems) < 8 {
		t.Errorf("%d problems: %s", len(e.Problems), text)
	}
}

// Kinds of bad input, one each, with where they are reported.
func TestLoadRefuses(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"not yaml", "version: 1\nprocesses: [\n", "not YAML"},
		{"empty", "", "the file is empty"},
		{"two documents", "version: 1\nprocesses: []\n---\nversion: 1\n", "one YAML document"},
		{"wrong kind", "version: one\nprocesses: []\n", "1:10: version: a whole number is expected"},
		{"no processes", "version: 1\nprocesses: []\n", "describes no process"},
		{"bad code", "version: 1\nprocesses:\n  - code: Bad Code\n    title: X\n    funnels: []\n", "a process code is a-z"},
		{"success code", `version: 1
processes:
  - code: x
    title: X
    funnels:
      - code: f
        name: F
        stages:
          - {code: NEW, name: New}
          - {code: WON, name: Won, semantics: success}
          - {code: FAIL, name: Lost, semantics: failure}
`, "the success stage's code is SUCCESS"},
		{"stage order", `version: 1
processes:
  - code: x
    title: X
    funnels:
      - code: f
        name: F
        stages:
          - {code: FAIL, name: Lost, semantics: failure}
          - {code: NEW, name: New}
          - {code: SUCCESS, name: Won, semantics: success}
`, "stages in progress come first"},
		{"unknown field type", "version: 1\nprocesses:\n  - code: x\n    title: X\n    fields:\n      - {key: A, type: blob}\n    funnels: []\n", `type "blob" is not a field type`},
		{"half a relation", `version: 1
processes:
  - code: a
    title: A
    relations: {children: [{type: b}]}
    funnels: []
  - code: b
    title: B
    funnels: []
`, "child b must list a among its parents"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load("f.yaml", []byte(c.src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("want %q, got %v", c.want, err)
			}
		})
	}
}

// Anchors that expand to gigabytes are refused after a bounded amount of work and
// memory, with an error, not an out-of-memory crash.
func TestLoadYAMLBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nprocesses:\n  - code: bomb\n    title: Bomb\n    funnels: []\n    fields:\n      - key: A\n        type: string\n        settings:\n          a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 12; i++ {
		b.WriteString("          a" + itoa(int64(i)) + ": &a" + itoa(int64(i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(int64(i-1)))
		}
		b.WriteString("]\n")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Load("bomb.yaml", []byte(b.String()))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "expands to more than") {
		t.Fatalf("a YAML bomb (10^13 values): %v", err)
	}
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 64<<20 {
		t.Errorf("reading the bomb allocated %d MB", grown>>20)
	}
}

// Field names in the file lose the type's number and get it back.
func TestNames(t *testing.T) {
	r := newRegistry()
	r.add("visit", 1030, 7)
	r.add("request", 1032, 8)
	for _, c := range []struct{ server, file string }{
		{"ufCrm7Amount > 10 && ufCrm7_1747 == 2", "ufCrmAmount > 10 && ufCrm_1747 == 2"},
		{"{{ufCrm_7_DIGIT10}} {{parent1032.title}} parentId1032 parentId2", "{{ufCrm__DIGIT10}} {{parent_request.title}} parentId_request parentId2"},
		{"ufCrm17Other", "ufCrm17Other"},
	} {
		if got := r.toFile(1030, c.server); got != c.file {
			t.Errorf("toFile(%q) = %q, want %q", c.server, got, c.file)
		}
		if got, err := r.toServer(1030, c.file); err != nil || got != c.server {
			if c.server != "ufCrm17Other" {
				t.Errorf("toServer(%q) = %q %v, want %q", c.file, got, err, c.server)
			}
		}
	}
	if fieldName("VISIT_DATE") != "ufCrmVisitDate" {
		t.Errorf("fieldName: %s", fieldName("VISIT_DATE"))
	}
}
