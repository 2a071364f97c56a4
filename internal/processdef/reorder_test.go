package processdef_test

import (
	"strings"
	"testing"

	"smartcrm/internal/processdef"
	"smartcrm/internal/testdb"
)

// Reordering fields, enumeration items and funnels is told as a reorder and keeps
// every field, item and funnel with its data.
func TestReorder(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		two := strings.Replace(base, "        default: true\n", "        default: true\n        sort: 100\n", 1) +
			"      - code: second\n        name: Second\n        stages:\n          - {code: NEW, name: New}\n" +
			"          - {code: SUCCESS, name: Done, semantics: success}\n          - {code: FAIL, name: Lost, semantics: failure}\n"
		f.mustApply(two)
		id := f.addItem("NEW", "still here")
		moved := strings.NewReplacer(
			"      - {key: NOTE, type: string, label: Note}\n      - {key: HOURS, type: double, label: Hours}\n",
			"      - {key: HOURS, type: double, label: Hours}\n      - {key: NOTE, type: string, label: Note}\n",
			"[{key: A, value: Alpha}, {key: B, value: Beta}]", "[{key: B, value: Beta}, {key: A, value: Alpha}]",
			"        sort: 100\n", "        sort: 300\n").Replace(two)
		plan := f.plan(moved, processdef.Options{})
		for _, want := range []string{"reorder field visit: HOURS, NOTE, KIND", "update field visit.KIND: items [A=Alpha, B=Beta] → [B=Beta, A=Alpha]",
			"reorder funnel visit: second, main"} {
			if !strings.Contains(plan, want) {
				t.Errorf("plan lacks %q:\n%s", want, plan)
			}
		}
		f.mustApply(moved)
		if p := f.plan(moved, processdef.Options{}); !strings.Contains(p, "No changes") {
			t.Errorf("re-plan: %s", p)
		}
		if stage, note := f.item(id); !strings.HasSuffix(stage, ":NEW") || note != "still here" {
			t.Errorf("after the reorder the item is in %s with %q", stage, note)
		}
		out := f.export()
		if strings.Index(out, "key: HOURS") > strings.Index(out, "key: NOTE") || strings.Index(out, "key: B") > strings.Index(out, "key: A\n") ||
			strings.Index(out, "code: second") > strings.Index(out, "code: main") {
			t.Errorf("the export is not in the new order:\n%s", out)
		}
	})
}
