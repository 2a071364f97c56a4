package processdef_test

import (
	"bytes"
	"context"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/processdef"
	"smartcrm/internal/testdb"
)

// Every preset applies on an empty server, then plans clean; its export applies on
// another empty server and exports the same bytes there.
func TestPresetsApplyAndPlanClean(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		src := newService(apitest.Start(t, dialect))
		dst := newService(apitest.Start(t, dialect))
		for _, p := range processdef.Presets {
			data, err := processdef.PresetFile(p.Name)
			if err != nil {
				t.Fatal(err)
			}
			etid, err := src.ApplyPreset(ctx, admin, p.Name)
			if err != nil {
				t.Fatalf("%s: %v", p.Name, err)
			}
			if etid == 0 {
				t.Errorf("%s: no entityTypeId", p.Name)
			}
			plan, err := src.Plan(ctx, admin, p.Name, data, processdef.Options{})
			if err != nil {
				t.Fatalf("%s: plan after apply: %v", p.Name, err)
			}
			if !plan.Empty() {
				var b bytes.Buffer
				plan.Write(&b)
				t.Errorf("%s: plans changes after apply:\n%s", p.Name, b.String())
			}
		}
		exported, err := src.Export(ctx, admin, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dst.Apply(ctx, admin, "export.yaml", exported, processdef.Options{}); err != nil {
			t.Fatalf("applying the export: %v\n%s", err, exported)
		}
		again, err := dst.Export(ctx, admin, "")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(exported, again) {
			t.Errorf("export → apply → export differs:\n--- source\n%s\n--- copy\n%s", exported, again)
		}
		plan, err := src.Plan(ctx, admin, "copy.yaml", again, processdef.Options{})
		if err != nil || !plan.Empty() {
			t.Errorf("the copy's export against the source: %v %+v", err, plan)
		}
	})
}
