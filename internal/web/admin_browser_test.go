package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// The administrators' pages in Chromium, on both databases. Interactions are what a
// person does — a click, a value typed into a field, a choice in a list, a drag — and
// are counted: the effort figures come from these tests (run with -v).

// effort counts a person's interactions in a browser test.
type effort struct {
	t   *testing.T
	ctx context.Context
	n   int
}

// do runs steps that are `interactions` actions of the person.
func (ef *effort) do(what string, interactions int, steps ...chromedp.Action[chromedp.Void]) {
	ef.t.Helper()
	ef.n += interactions
	run(ef.t, ef.ctx, what, steps...)
}

// signedIn opens a tab signed in as the administrator (not counted: the person is
// at work already).
func signedIn(t *testing.T, e *env) context.Context {
	t.Helper()
	a := tab(t)
	run(t, a, "sign in", desktop(), chromedp.Navigate(e.s.HTTP.URL+"/login"), chromedp.WaitVisible(chromedp.ID("login")),
		chromedp.SendKeys(chromedp.ID("login"), "admin"), chromedp.SendKeys(chromedp.ID("password"), "admin-password-1"),
		chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS(".board")))
	return a
}

// A preset creates the whole process and opens its Kanban in at most 3 interactions;
// an item is then moved through it, and the preset's robot runs.
func TestBrowserPresetProcess(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		e.s.App.Web.SetProcesses(&fakeProcesses{e: e})
		a := signedIn(t, e)
		ef := &effort{t: t, ctx: a}
		ef.do("open the smart processes", 1, chromedp.Navigate(e.s.HTTP.URL+web.TypesPath), chromedp.WaitVisible(chromedp.CSS(`button[data-preset="installation-visit"]`)))
		screenshot(t, a, dialect+"-admin-types")
		checkAxe(t, a, "smart processes")
		began := time.Now()
		ef.do("create from the preset", 1, chromedp.Click(chromedp.CSS(`button[data-preset="installation-visit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".board[data-ready]")))
		took := time.Since(began)
		t.Logf("effort: preset → Kanban in %d interactions, %v from the click to a usable Kanban (%s)", ef.n, took.Round(time.Millisecond), dialect)
		if ef.n > 3 {
			t.Errorf("the preset took %d interactions", ef.n)
		}
		types, _ := e.s.App.CRM.AllTypes(context.Background(), admin)
		if len(types) != 1 || types[0].Title != "Installation visits" {
			t.Fatalf("types after the preset: %v", types)
		}
		v := types[0]
		stages := v.StagesOf(v.DefaultCategory().ID)
		col := func(i int) string { return fmt.Sprintf(`.column[data-stage-id="%s"]`, stages[i].StatusID) }
		run(t, a, "quick add", chromedp.Click(chromedp.CSS(col(0)+" .quick-add summary")),
			chromedp.SendKeys(chromedp.CSS(col(0)+" .quick-add input[name=title]"), "Boiler at Elm St 4"),
			chromedp.Click(chromedp.CSS(col(0)+" .quick-add button")), waitJS(`document.querySelector('.card') !== null`))
		it := itemByTitle(t, e, v, "Boiler at Elm St 4")
		card := fmt.Sprintf(`.card[data-item-id="%d"]`, it.ID)
		for i := 1; i < 4; i++ {
			if i == 2 {
				// The preset's robot on Preparation writes to the item: let it finish, and
				// the board catch up with the item's version, before the next move.
				waitRun(t, e, v.EntityTypeID, it.ID, "confirm")
			}
			_, cur, err := e.s.App.CRM.GetItem(context.Background(), admin, v.EntityTypeID, it.ID)
			if err != nil {
				t.Fatal(err)
			}
			run(t, a, "the board has the item's version", waitJS(fmt.Sprintf(`document.querySelector('%s') && document.querySelector('%s').getAttribute('data-version') === "%d"`, card, card, cur.Version)))
			// The card's move control, chosen and sent in one step: the live stream may
			// replace the card between two steps.
			run(t, a, "move to "+stages[i].Name, waitJS(fmt.Sprintf(`document.querySelector('%s form.move') !== null`, card)),
				chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const c = document.querySelector('%s');
				c.querySelector('select[name=stage]').value = %q; c.querySelector('form.move button').click(); })()`, card, stages[i].StatusID)),
				waitJS(fmt.Sprintf(`document.querySelector('%s %s') !== null`, col(i), card)))
		}
		_, got, err := e.s.App.CRM.GetItem(context.Background(), admin, v.EntityTypeID, it.ID)
		if err != nil || got.StageID() != stages[3].StatusID {
			t.Fatalf("the item is in %v (%v)", got.StageID(), err)
		}
	})
}

// The shipped installation-visit preset (processes as code, not the stand-in above)
// from the smart processes page to its usable Kanban: at most 3 interactions.
func TestBrowserShippedPreset(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		a := signedIn(t, e)
		ef := &effort{t: t, ctx: a}
		ef.do("open the smart processes", 1, chromedp.Navigate(e.s.HTTP.URL+web.TypesPath), chromedp.WaitVisible(chromedp.CSS(`button[data-preset="installation-visit"]`)))
		began := time.Now()
		ef.do("create from the preset", 1, chromedp.Click(chromedp.CSS(`button[data-preset="installation-visit"]`)),
			chromedp.WaitVisible(chromedp.CSS(".board[data-ready]")))
		took := time.Since(began)
		t.Logf("effort: shipped preset → Kanban in %d interactions, %v from the click to a usable Kanban (%s)", ef.n, took.Round(time.Millisecond), dialect)
		if ef.n > 3 {
			t.Errorf("the preset took %d interactions", ef.n)
		}
		types, _ := e.s.App.CRM.AllTypes(context.Background(), admin)
		if len(types) != 1 || types[0].Code != "installation_visit" || len(types[0].StagesOf(types[0].DefaultCategory().ID)) < 4 {
			t.Fatalf("types after the preset: %v", types)
		}
		doc, err := e.s.App.Automation.Get(context.Background(), admin, types[0].EntityTypeID, types[0].DefaultCategory().ID)
		robots := 0
		for _, sa := range doc.Stages {
			robots += len(sa.Robots)
		}
		if err != nil || robots == 0 {
			t.Errorf("the preset's robots: %d (%v)", robots, err)
		}
	})
}

// waitRun polls, with a deadline, until the item's run of a robot is done.
func waitRun(t *testing.T, e *env, etid, id int64, robot string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs, _, err := e.s.App.Automation.Runs(context.Background(), admin, automation.RunQuery{EntityTypeID: etid, ItemID: id})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range runs {
			if r.RobotID == robot && r.Status == automation.StatusDone {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("robot %s did not run on item %d: %+v", robot, id, runs)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// A blank process with three fields, a funnel of five stages and a robot, built
// entirely in the browser; then an item enters the robot's stage and the robot runs.
func TestBrowserBlankProcess(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		a := signedIn(t, e)
		ef := &effort{t: t, ctx: a}
		ef.do("open the smart processes", 1, chromedp.Navigate(e.s.HTTP.URL+web.TypesPath), chromedp.WaitVisible(chromedp.ID("nt-title")))
		ef.do("name it", 1, chromedp.SendKeys(chromedp.ID("nt-title"), "Service requests"))
		ef.do("create it", 1, chromedp.Click(chromedp.CSS(".blank-type button[type=submit]")), chromedp.WaitVisible(chromedp.ID("af-kind")))
		for i, f := range []struct{ kind, label string }{{"double", "Amount due"}, {"date", "Visit date"}, {"string", "Address"}} {
			if i > 0 {
				ef.do("back to the fields", 1, chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/fields/"]`)), chromedp.WaitVisible(chromedp.ID("af-kind")))
			}
			ef.do("choose the kind", 1, chromedp.SetValue(chromedp.ID("af-kind"), f.kind))
			ef.do("name the field", 1, chromedp.SendKeys(chromedp.ID("af-label"), f.label))
			ef.do("add it", 1, chromedp.Click(chromedp.CSS(".add-field button[type=submit]")), chromedp.WaitVisible(chromedp.CSS(".field-form")))
		}
		screenshot(t, a, dialect+"-admin-field")
		checkAxe(t, a, "a field's page")
		types, _ := e.s.App.CRM.AllTypes(ctx, admin)
		if len(types) != 1 {
			t.Fatalf("types: %v", types)
		}
		v := types[0]
		cat := v.DefaultCategory().ID
		stages := v.StagesOf(cat)
		ef.do("open the funnels", 1, chromedp.Click(chromedp.CSS(`nav.tabs a[href$="/funnels/"]`)), chromedp.WaitVisible(chromedp.CSS(".stage-row")))
		for i, name := range []string{"Requested", "Scheduled", "Visited"} {
			row := fmt.Sprintf(`.stage-row[data-stage-id="%s"]`, stages[i].StatusID)
			ef.do("rename "+stages[i].Name, 1, chromedp.SetValue(chromedp.CSS(row+" input[name=name]"), name))
			ef.do("save "+name, 1, chromedp.Click(chromedp.CSS(row+" .stage-edit button")),
				// The page the save answers with: its input's value attribute is the new name
				// (the old page's input has the typed value, not the attribute).
				waitJS(fmt.Sprintf(`document.querySelector('%s input[name=name]') && document.querySelector('%s input[name=name]').defaultValue === %q`, row, row, name)))
		}
		screenshot(t, a, dialect+"-admin-funnels")
		checkAxe(t, a, "funnels and stages")
		scheduled := stages[1].StatusID
		column := fmt.Sprintf(`.auto-column[data-stage-id="%s"]`, scheduled)
		ef.do("open the automation", 1, chromedp.Click(chromedp.CSS(`nav.tabs a[href*="/automation/category/"]`)), chromedp.WaitVisible(chromedp.CSS(column)))
		ef.do("choose a comment robot", 1, chromedp.SetValue(chromedp.CSS(column+" [data-add-robot-type]"), automation.RobotComment))
		ef.do("add it", 1, chromedp.Click(chromedp.CSS(column+" [data-add-robot]")), chromedp.WaitVisible(chromedp.CSS(column+` .robot [data-param="text"]`)))
		ef.do("write the comment", 1, chromedp.SendKeys(chromedp.CSS(column+` .robot [data-param="text"]`), "Visit on "))
		// The placeholder picker lists the item's fields: choose the visit date.
		dateName := ""
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		for _, f := range v.Fields() {
			if f.Title == "Visit date" {
				dateName = string(f.Name)
			}
		}
		ef.do("pick the visit date", 1, chromedp.SetValue(chromedp.CSS(column+` .robot [data-placeholder]`), "{{"+dateName+"}}"))
		ef.do("insert it", 1, chromedp.Click(chromedp.CSS(column+` .robot [data-insert-placeholder]`)))
		ef.do("save", 1, chromedp.Click(chromedp.CSS("[data-save-automation]")),
			waitJS(fmt.Sprintf(`document.querySelector('%s .robot .summary') && document.querySelector('%s .robot .summary').textContent.includes('Comment “Visit on {{%s}}”')`, column, column, dateName)))
		screenshot(t, a, dialect+"-admin-automation")
		checkAxe(t, a, "the automation editor")
		doc, err := e.s.App.Automation.Get(ctx, admin, v.EntityTypeID, cat)
		if err != nil || doc.Version != 1 || len(doc.Stages[scheduled].Robots) != 1 {
			t.Fatalf("saved automation: %+v %v", doc, err)
		}
		robotID := doc.Stages[scheduled].Robots[0].ID

		// An item enters the stage on the Kanban and the robot runs.
		ef.do("open the items", 1, chromedp.Click(chromedp.CSS(`nav.views a`)), chromedp.WaitVisible(chromedp.CSS(".board[data-ready]")))
		first := fmt.Sprintf(`.column[data-stage-id="%s"]`, stages[0].StatusID)
		ef.do("open quick add", 1, chromedp.Click(chromedp.CSS(first+" .quick-add summary")))
		ef.do("title", 1, chromedp.SendKeys(chromedp.CSS(first+" .quick-add input[name=title]"), "Leaking tap"))
		ef.do("add", 1, chromedp.Click(chromedp.CSS(first+" .quick-add button")), waitJS(`document.querySelector('.card') !== null`))
		it := itemByTitle(t, e, v, "Leaking tap")
		ef.do("drag it to Scheduled", 1, chromedp.DragAndDrop(chromedp.CSS(fmt.Sprintf(`.card[data-item-id="%d"] .card-title`, it.ID)),
			chromedp.CSS(fmt.Sprintf(`.column[data-stage-id="%s"] .col-head`, scheduled))),
			waitJS(fmt.Sprintf(`document.querySelector('.column[data-stage-id="%s"] .card[data-item-id="%d"]') !== null`, scheduled, it.ID)))
		waitRun(t, e, v.EntityTypeID, it.ID, robotID)
		ef.do("open the item", 1, chromedp.Click(chromedp.CSS(fmt.Sprintf(`.card[data-item-id="%d"] .card-title`, it.ID))),
			chromedp.WaitVisible(chromedp.CSS("#automation-runs")))
		run(t, a, "the robot's run and comment are on the card", waitJS(`document.querySelector('#automation-runs').textContent.includes('done')`),
			waitJS(`[...document.querySelectorAll('.timeline .entry')].some(e => e.textContent.includes('Visit on'))`))
		t.Logf("effort: a blank process with 3 fields, 5 stages and a robot, and an item through it: %d interactions (%s)", ef.n, dialect)
		if ef.n >= 40 {
			t.Errorf("the blank process took %d interactions", ef.n)
		}
	})
}

// Editing a process that exists: stages reordered by drag; a field with data deleted
// after the warning; the condition builder writes an expression; a save with an
// invalid condition shows the error on the robot's card and stores nothing; the card
// layout edited and the card and Kanban changed. axe-core checks every settings page.
func TestBrowserAdminEdits(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		title := "Visits"
		v, err := e.s.App.CRM.AddType(ctx, admin, crm.TypeSpec{Title: &title, Flags: crm.Flags{crm.FlagStages: true, crm.FlagAutomation: true,
			crm.FlagLinkWithProducts: true}})
		if err != nil {
			t.Fatal(err)
		}
		cf := customfield.New(e.s.App.CRM)
		serial, err := cf.Add(ctx, admin, v.EntityTypeID, customfield.Spec{Name: v.UFPrefix() + "SERIAL", Kind: "string",
			Labels: crm.Labels{EditForm: map[string]string{"en": "Serial"}}})
		if err != nil {
			t.Fatal(err)
		}
		// Floor is not in the list, so Kanban cards do not show it until the layout says so.
		notInList := false
		floor, err := cf.Add(ctx, admin, v.EntityTypeID, customfield.Spec{Name: v.UFPrefix() + "FLOOR", Kind: "integer", ShowInList: &notInList,
			Labels: crm.Labels{EditForm: map[string]string{"en": "Floor"}}})
		if err != nil {
			t.Fatal(err)
		}
		floorName := crm.FieldName(crm.CamelUFName(floor.Name))
		cat := v.DefaultCategory().ID
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		stages := v.StagesOf(cat)
		_, err = e.s.App.Automation.Set(ctx, admin, &automation.Document{EntityTypeID: v.EntityTypeID, CategoryID: cat,
			Stages: map[string]*automation.StageAutomation{stages[1].StatusID: {Robots: []*automation.Robot{
				{ID: "notify", Type: automation.RobotComment, Params: map[string]any{"text": "Prepare {{title}}"}}}}}})
		if err != nil {
			t.Fatal(err)
		}
		serialName := crm.FieldName(crm.CamelUFName(serial.Name))
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Boiler", serialName: "B-1", floorName: int64(3)})
		e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Window", serialName: "W-7"})
		a := signedIn(t, e)
		base := e.s.HTTP.URL

		// The general page and the list of types pass axe.
		run(t, a, "general settings", chromedp.Navigate(base+web.SettingsPath(v.EntityTypeID, "")), chromedp.WaitVisible(chromedp.ID("ts-title")))
		checkAxe(t, a, "general settings")
		screenshot(t, a, dialect+"-admin-general")

		// Drag Approval above Preparation: the funnel's new order is saved at once.
		run(t, a, "funnels", chromedp.Navigate(base+web.SettingsPath(v.EntityTypeID, "funnels/")), chromedp.WaitVisible(chromedp.CSS(".stage-row")))
		row := func(i int) string { return fmt.Sprintf(`.stage-row[data-stage-id="%s"]`, stages[i].StatusID) }
		run(t, a, "drag a stage", chromedp.DragAndDrop(chromedp.CSS(row(2)+" .grip"), chromedp.CSS(row(0)+" .grip")),
			waitJS(`document.querySelector('.funnel').hasAttribute('data-saved')`))
		dom := eval[string](t, a, `[...document.querySelectorAll('.funnel .stage-row')].map(r => r.dataset.stageId).join(" ")`)
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		var saved []string
		for _, st := range v.StagesOf(cat) {
			saved = append(saved, st.StatusID)
		}
		if got := names(v.StagesOf(cat)); strings.Join(saved, " ") != dom || strings.Index(dom, stages[2].StatusID) > strings.Index(dom, stages[1].StatusID) {
			t.Errorf("after dragging Approval up: saved %v, the page shows %s", got, dom)
		}

		// Delete the serial number: the warning counts the two items first.
		fields := base + web.SettingsPath(v.EntityTypeID, "fields/")
		run(t, a, "the field", chromedp.Navigate(fields), chromedp.WaitVisible(chromedp.CSS("table.items")))
		checkAxe(t, a, "fields")
		run(t, a, "open the field", chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-field-id="%d"] a`, serial.ID))), chromedp.WaitVisible(chromedp.CSS(".field-form")),
			chromedp.Click(chromedp.CSS(`a[href$="/delete"]`)), chromedp.WaitVisible(chromedp.CSS(".warning")))
		if w := eval[string](t, a, `document.querySelector('.warning').textContent`); !strings.Contains(w, "2 items hold a value") {
			t.Errorf("the warning says %q", w)
		}
		checkAxe(t, a, "deleting a field")
		run(t, a, "delete it", chromedp.Click(chromedp.CSS(".danger button")), waitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Deleted')`))
		if _, err := cf.Get(ctx, admin, serial.ID); err == nil {
			t.Errorf("the field was not deleted")
		}

		// The automation: the builder writes a condition; an invalid typed one is shown
		// on the robot's card and nothing is stored.
		robot := `.robot[data-robot-id="notify"]`
		run(t, a, "automation", chromedp.Navigate(base+web.AutomationPath(v.EntityTypeID, cat)), chromedp.WaitVisible(chromedp.CSS(robot)),
			chromedp.Click(chromedp.CSS(robot+" .robot-edit summary")), chromedp.Click(chromedp.CSS(robot+" [data-cond-add]")),
			chromedp.SetValue(chromedp.CSS(robot+" [data-cond-field]"), "opportunity"), chromedp.SetValue(chromedp.CSS(robot+" [data-cond-op]"), ">"),
			chromedp.SendKeys(chromedp.CSS(robot+" [data-cond-value]"), "10000"), chromedp.Click(chromedp.CSS(robot+" [data-cond-write]")))
		if got := eval[string](t, a, `document.querySelector('`+robot+` [data-robot="condition"]').value`); got != "opportunity > 10000" {
			t.Errorf("the builder wrote %q", got)
		}
		run(t, a, "an invalid condition", chromedp.SetValue(chromedp.CSS(robot+` [data-robot="condition"]`), "opportunity >>> 5"),
			chromedp.Click(chromedp.CSS("[data-save-automation]")),
			waitJS(`!document.querySelector('`+robot+` .robot-error').hidden`))
		if msg := eval[string](t, a, `document.querySelector('`+robot+` .robot-error').textContent`); !strings.Contains(msg, "condition") {
			t.Errorf("the robot's card says %q", msg)
		}
		screenshot(t, a, dialect+"-admin-automation-invalid")
		checkAxe(t, a, "the automation editor with a problem")
		if doc, _ := e.s.App.Automation.Get(ctx, admin, v.EntityTypeID, cat); doc.Version != 1 || doc.Stages[stages[1].StatusID].Robots[0].Condition != "" {
			t.Errorf("the invalid save stored something: %+v", doc.Stages[stages[1].StatusID].Robots[0])
		}
		run(t, a, "a valid condition", chromedp.Click(chromedp.CSS(robot+" [data-cond-write]")), chromedp.Click(chromedp.CSS("[data-save-automation]")),
			waitJS(`document.querySelector('`+robot+` .summary') && document.querySelector('`+robot+` .summary').textContent.startsWith('If Amount > 10000: comment')`))
		run(t, a, "runs", chromedp.Navigate(base+web.RunsPath(v.EntityTypeID)), chromedp.WaitVisible(chromedp.CSS("table.runs")))
		checkAxe(t, a, "automation runs")

		// List indexes: build one on Floor from the form and see it listed; delete it,
		// the confirmation accepted. The page passes axe with and without one.
		e.s.MustOK("crm.item.list", map[string]any{"entityTypeId": v.EntityTypeID, "filter": map[string]any{">" + string(floorName): 1}, "order": map[string]string{"title": "ASC"}})
		indexes := base + web.SettingsPath(v.EntityTypeID, "indexes/")
		run(t, a, "list indexes", chromedp.Navigate(indexes), chromedp.WaitVisible(chromedp.ID("ix-field-1")), chromedp.WaitVisible(chromedp.CSS("table[data-seen] button")))
		checkAxe(t, a, "list indexes")
		run(t, a, "build an index", chromedp.SetValue(chromedp.ID("ix-field-1"), string(floorName)),
			chromedp.Click(chromedp.CSS(`form[action$="indexes/add"] button[type=submit]`)),
			waitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Built the index on Floor')`))
		checkAxe(t, a, "list indexes with one")
		screenshot(t, a, dialect+"-admin-list-indexes")
		if _, ixs, err := e.s.App.Indexes.List(ctx, admin, v.EntityTypeID); err != nil || len(ixs) != 1 {
			t.Fatalf("indexes after building one: %v %v", ixs, err)
		}
		eval[bool](t, a, `(window.confirm = () => true) && true`)
		run(t, a, "delete the index", chromedp.Click(chromedp.CSS(`tr[data-index] .danger button`)),
			waitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Deleted the index')`))
		if _, ixs, err := e.s.App.Indexes.List(ctx, admin, v.EntityTypeID); err != nil || len(ixs) != 0 {
			t.Errorf("indexes after deleting it: %v %v", ixs, err)
		}

		// The card layout: rename the first section, drag Floor into it, show Floor on
		// Kanban cards; the card and the Kanban follow.
		run(t, a, "card layout", chromedp.Navigate(base+web.SettingsPath(v.EntityTypeID, "card/")), chromedp.WaitVisible(chromedp.CSS(".layout-section")))
		checkAxe(t, a, "card layout")
		floorLi := fmt.Sprintf(`.layout-field[data-field="%s"]`, floorName)
		run(t, a, "edit the layout", chromedp.SetValue(chromedp.ID("title-s0"), "The visit"),
			chromedp.DragAndDrop(chromedp.CSS(floorLi+" .fname"), chromedp.CSS(`[data-section-key="s0"] .layout-field .fname`)),
			waitJS(fmt.Sprintf(`document.querySelector('[data-section-key="s0"] %s') !== null`, floorLi)),
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`input[name=kanban][value="%s"]`, floorName))),
			chromedp.Click(chromedp.CSS(".card-layout button[type=submit]:not([name])")),
			waitJS(`document.querySelector('.flash') && document.querySelector('.flash').textContent.includes('Saved')`))
		screenshot(t, a, dialect+"-admin-card-layout")
		if shown, scope, _ := e.s.App.CardLayout.KanbanFields(ctx, admin, v.EntityTypeID, 1); len(shown) != 1 || shown[0].Name != floorName || scope != cardlayout.ScopeCommon {
			t.Errorf("the Kanban fields saved: %v %q", shown, scope)
		}
		run(t, a, "the card", chromedp.Navigate(base+web.DetailsPath(v.EntityTypeID, it.ID)), chromedp.WaitVisible(chromedp.CSS("section.fields")))
		if got := eval[string](t, a, `document.querySelector('section.fields').textContent`); !strings.Contains(got, "The visit") || !strings.Contains(got, "Floor") {
			t.Errorf("the card's first section: %q", got)
		}
		run(t, a, "the Kanban", chromedp.Navigate(base+web.KanbanPath(v.EntityTypeID, cat)), chromedp.WaitVisible(chromedp.CSS(".board")))
		if got := eval[string](t, a, fmt.Sprintf(`document.querySelector('.card[data-item-id="%d"] .card-fields').textContent`, it.ID)); !strings.Contains(got, "Floor3") {
			t.Errorf("the Kanban card shows %q", got)
		}
	})
}
