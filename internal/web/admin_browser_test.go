package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"smartcrm/internal/automation"
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
		waitRun(t, e, v.EntityTypeID, it.ID, "confirm")
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
