package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// Markup in everything an administrator names — a type, a field and its list items, a
// funnel, a stage, a robot's title and text, a trigger, a card section — is shown as
// text on every settings page; the pages refuse posts without the CSRF token and
// people who are not administrators.
func TestAdminPagesEscapeAndRefuse(t *testing.T) {
	const payload = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		name := payload
		v, err := e.s.App.CRM.AddType(ctx, admin, crm.TypeSpec{Title: &name, Flags: crm.Flags{crm.FlagStages: true, crm.FlagAutomation: true,
			crm.FlagCategories: true}})
		if err != nil {
			t.Fatal(err)
		}
		cat := v.DefaultCategory().ID
		if _, err := e.s.App.CRM.AddCategory(ctx, admin, v.EntityTypeID, crm.CategorySpec{Name: &name}); err != nil {
			t.Fatal(err)
		}
		st := v.StagesOf(cat)[0]
		if err := e.s.App.CRM.UpdateStage(ctx, admin, st.ID, crm.StageSpec{Name: &name}); err != nil {
			t.Fatal(err)
		}
		uf, err := customfield.New(e.s.App.CRM).Add(ctx, admin, v.EntityTypeID, customfield.Spec{Name: v.UFPrefix() + "LIST", Kind: "enumeration",
			Labels: crm.Labels{EditForm: map[string]string{"en": payload}}, Enums: []customfield.EnumChange{{Value: &name}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.App.Automation.Set(ctx, admin, &automation.Document{EntityTypeID: v.EntityTypeID, CategoryID: cat,
			Stages: map[string]*automation.StageAutomation{st.StatusID: {
				Robots:   []*automation.Robot{{ID: "x", Type: automation.RobotComment, Title: payload, Params: map[string]any{"text": payload}}},
				Triggers: []*automation.Trigger{{ID: "hook", Type: automation.TriggerWebhook}}}}}); err != nil {
			t.Fatal(err)
		}
		if err := e.s.App.CardLayout.Set(ctx, admin, v.EntityTypeID, cardlayout.ScopeCommon, 0, []cardlayout.Section{{Name: "s", Title: payload,
			Fields: []crm.FieldName{crm.FieldTitle}}}); err != nil {
			t.Fatal(err)
		}
		e.s.App.Web.SetProcesses(&fakeProcesses{e: e})
		b := e.signIn("admin", "admin-password-1")
		pages := []string{web.TypesPath, web.SettingsPath(v.EntityTypeID, ""), web.SettingsPath(v.EntityTypeID, "fields/"),
			web.SettingsPath(v.EntityTypeID, "fields/"+itoa(uf.ID)), web.SettingsPath(v.EntityTypeID, "fields/"+itoa(uf.ID)+"/delete"),
			web.SettingsPath(v.EntityTypeID, "funnels/"), web.SettingsPath(v.EntityTypeID, "card/"), web.AutomationPath(v.EntityTypeID, cat),
			web.RunsPath(v.EntityTypeID)}
		for _, p := range pages {
			page := b.page(p)
			if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
				t.Errorf("%s shows markup unescaped", p)
			}
			if !strings.Contains(page, "&lt;script&gt;") {
				t.Errorf("%s does not show the name as text", p)
			}
		}
		// The webhook trigger's URL names the trigger and the type's items.
		if page := b.page(web.AutomationPath(v.EntityTypeID, cat)); !strings.Contains(page, "crm.automation.trigger/?target=DYNAMIC_"+itoa(v.EntityTypeID)+"_{ID}&amp;code=hook") {
			t.Errorf("no webhook trigger URL on the editor")
		}

		// Without the CSRF token: refused, nothing changed.
		resp := b.post(web.SettingsPath(v.EntityTypeID, "")+"save", url.Values{"csrf": {"wrong"}, "title": {"Renamed"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a save without the token: %d", resp.StatusCode)
		}
		resp = b.do(http.MethodPost, web.AutomationPath(v.EntityTypeID, cat), strings.NewReader(`{"version":1,"stages":{}}`),
			http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("an automation save without the token: %d", resp.StatusCode)
		}
		if got, _ := e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID); got.Title != payload {
			t.Errorf("the type was renamed to %q", got.Title)
		}
		if doc, _ := e.s.App.Automation.Get(ctx, admin, v.EntityTypeID, cat); doc.Version != 1 {
			t.Errorf("the automation changed: version %d", doc.Version)
		}

		// Someone who is not an administrator sees none of it but the card layout
		// editor, which saves only their own layout (TestCardLayout).
		if _, _, err := e.s.App.Accounts.AddUser(ctx, admin, accountsNewUser("worker", "Ivan")); err != nil {
			t.Fatal(err)
		}
		w := e.signIn("worker", "worker-pass")
		for _, p := range pages {
			if p == web.SettingsPath(v.EntityTypeID, "card/") {
				continue
			}
			if resp := w.get(p); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s answers %d to a worker", p, resp.StatusCode)
			}
		}
		if resp := w.post(web.TypesPath, url.Values{"title": {"Mine"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a worker creating a type: %d", resp.StatusCode)
		}
		if resp := w.post(web.TypesPath, url.Values{"preset": {"installation-visit"}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("a worker applying a preset: %d", resp.StatusCode)
		}
	})
}
