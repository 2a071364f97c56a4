package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"smartcrm/internal/automation"
	"smartcrm/internal/crm"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// The card shows the item's automation runs: the robot's title, the stage by name and
// how it went.
func TestCardShowsAutomationRuns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		title := "Approvals"
		v, err := e.s.App.CRM.AddType(ctx, admin, crm.TypeSpec{Title: &title, Flags: crm.Flags{crm.FlagStages: true, crm.FlagAutomation: true}})
		if err != nil {
			t.Fatal(err)
		}
		cat := v.Categories()[0].ID
		prep := v.StagesOf(cat)[1]
		_, err = e.s.App.Automation.Set(ctx, admin, &automation.Document{EntityTypeID: v.EntityTypeID, CategoryID: cat,
			Stages: map[string]*automation.StageAutomation{prep.StatusID: {Robots: []*automation.Robot{
				{ID: "hello", Type: automation.RobotComment, Title: "Greet the approver", Params: map[string]any{"text": "Please approve {{title}}"}},
			}}}})
		if err != nil {
			t.Fatal(err)
		}
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "New laptop", crm.FieldStageID: prep.StatusID})
		b := e.signIn("admin", "admin-password-1")
		deadline := time.Now().Add(20 * time.Second)
		for {
			page := b.page(web.DetailsPath(v.EntityTypeID, it.ID))
			section := page[strings.Index(page, `id="automation-runs"`):]
			if strings.Contains(section, "<td>Greet the approver</td><td>"+prep.Name+"</td><td>done</td>") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the card does not show the run: %.600s", section)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}
