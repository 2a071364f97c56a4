package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"smartcrm/internal/crm"
	"smartcrm/internal/history"
	"smartcrm/internal/query"
	"smartcrm/internal/stagerules"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// A working day in the browser, on both databases: sign in; add items on the Kanban;
// drag a card and see the counts change and the stage history written; a second
// person sees the move without reloading; a move refused for a field required from
// the target stage is explained on the card, the field filled in place, and the move
// made with the keyboard; the list filtered and exported; a field edited on the card
// appears on the timeline; sign out. Screenshots of the main pages are kept, and
// axe-core finds no serious or critical violation on any of them.
func TestBrowserWorkday(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		v := e.visits()
		cat := v.DefaultCategory().ID
		stages := v.StagesOf(cat)
		newStage, prep, approval := stages[0].StatusID, stages[1].StatusID, stages[2].StatusID
		if err := stagerules.Require(ctx, e.s.App.CRM, admin, v.EntityTypeID, "opportunity", approval); err != nil {
			t.Fatal(err)
		}
		kanban := e.s.HTTP.URL + web.KanbanPath(v.EntityTypeID, cat)
		col := func(stage string) string { return fmt.Sprintf(`.column[data-stage-id="%s"]`, stage) }
		count := func(stage string) string {
			return fmt.Sprintf(`document.querySelector('%s [data-count]').textContent.trim()`, col(stage))
		}

		// Sign in: the Kanban asks for it and comes back after.
		a := tab(t)
		run(t, a, "sign in", desktop(), chromedp.Navigate(kanban), chromedp.WaitVisible(chromedp.ID("login")))
		screenshot(t, a, dialect+"-login")
		checkAxe(t, a, "sign-in")
		run(t, a, "sign in", chromedp.SendKeys(chromedp.ID("login"), "admin"), chromedp.SendKeys(chromedp.ID("password"), "admin-password-1"),
			chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS(".board[data-ready]")))

		// Quick add two visits at the top of the first column.
		run(t, a, "open quick add", chromedp.Click(chromedp.CSS(col(newStage)+" .quick-add summary")))
		for _, title := range []string{"Boiler service", "Window fitting"} {
			run(t, a, "quick add "+title,
				chromedp.SendKeys(chromedp.CSS(col(newStage)+" .quick-add input[name=title]"), title),
				chromedp.Click(chromedp.CSS(col(newStage)+" .quick-add button")),
				waitJS(fmt.Sprintf(`[...document.querySelectorAll('%s .card-title')].some(e => e.textContent === %q)`, col(newStage), title)))
		}
		run(t, a, "counts", waitJS(count(newStage)+` === "2"`))
		boiler := itemByTitle(t, e, v, "Boiler service")

		// A second person watches the same board.
		if _, _, err := e.s.App.Accounts.AddUser(ctx, admin, accountsNewUser("installer", "Ivan")); err != nil {
			t.Fatal(err)
		}
		b := tab(t)
		run(t, b, "second person signs in", desktop(), chromedp.Navigate(e.s.HTTP.URL+"/login?next="+web.KanbanPath(v.EntityTypeID, cat)),
			chromedp.SendKeys(chromedp.ID("login"), "installer"), chromedp.SendKeys(chromedp.ID("password"), "installer-pass"),
			chromedp.Submit(chromedp.ID("password")), chromedp.WaitVisible(chromedp.CSS(".board[data-ready]")),
			waitJS(`document.querySelector('.board').getAttribute('data-live') === 'on'`))

		// Drag the boiler card to Preparation: counts change, history is written,
		// the second person sees it move.
		card := fmt.Sprintf(`.card[data-item-id="%d"]`, boiler.ID)
		run(t, a, "drag", chromedp.DragAndDrop(chromedp.CSS(card+" .card-fields"), chromedp.CSS(col(prep)+" .col-head")),
			waitJS(fmt.Sprintf(`document.querySelector('%s %s') !== null`, col(prep), card)),
			waitJS(count(prep)+` === "1"`), waitJS(count(newStage)+` === "1"`))
		hist, _, err := e.s.App.History.StageMoves(ctx, admin, v.EntityTypeID, history.Query{})
		if err != nil {
			t.Fatal(err)
		}
		moved := false
		for _, h := range hist {
			moved = moved || h.ItemID == boiler.ID && h.FromStageID == newStage && h.StageID == prep && h.CreatedBy == 1
		}
		if !moved {
			t.Errorf("no stage history row for the drag: %+v", hist)
		}
		run(t, b, "the move arrives live", waitJS(fmt.Sprintf(`document.querySelector('%s %s') !== null`, col(prep), card)),
			waitJS(count(prep)+` === "1"`))
		screenshot(t, b, dialect+"-kanban-live")

		// With the keyboard: move to Approval, which needs an amount. The refusal is
		// explained on the card with the amount to fill in; filling it moves the card.
		run(t, a, "keyboard move refused",
			chromedp.SetValue(chromedp.CSS(card+" select[name=stage]"), approval),
			chromedp.Focus(chromedp.CSS(card+" form.move button")), chromedp.KeyEvent("\r"),
			waitJS(fmt.Sprintf(`!document.querySelector('%s .card-error').hidden`, card)),
			waitJS(fmt.Sprintf(`document.querySelector('%s .card-error').textContent.includes('required')`, card)),
			waitJS(fmt.Sprintf(`document.querySelector('%s .card-error input[name=opportunity]') !== null`, card)))
		screenshot(t, a, dialect+"-kanban-refused")
		checkAxe(t, a, "Kanban with a refused move")
		if n := eval[string](t, a, count(approval)); n != "0" {
			t.Errorf("a refused move changed the count of Approval to %s", n)
		}
		run(t, a, "fill in place",
			chromedp.Clear(chromedp.CSS(card+" .card-error input[name=opportunity]")),
			chromedp.SendKeys(chromedp.CSS(card+" .card-error input[name=opportunity]"), "450"),
			chromedp.Click(chromedp.CSS(card+" .card-error form.fill button")),
			waitJS(fmt.Sprintf(`document.querySelector('%s %s') !== null`, col(approval), card)),
			waitJS(count(approval)+` === "1"`))
		_, got, err := e.s.App.CRM.GetItem(ctx, admin, v.EntityTypeID, boiler.ID)
		if err != nil || got.StageID() != approval || got.Get(crm.FieldOpportunity) != 450.0 {
			t.Fatalf("after the fill: stage %s, amount %v, err %v", got.StageID(), got.Get(crm.FieldOpportunity), err)
		}
		run(t, b, "the second person sees that move too", waitJS(fmt.Sprintf(`document.querySelector('%s %s') !== null`, col(approval), card)))

		// The list: filter by title, export the filtered list.
		list := e.s.HTTP.URL + web.ListPath(v.EntityTypeID, -1)
		run(t, a, "filter the list", chromedp.Navigate(list), chromedp.WaitVisible(chromedp.CSS("form.filter")),
			chromedp.SetValue(chromedp.ID("ff-0"), "title"),
			waitJS(`true`), chromedp.SetValue(chromedp.ID("fo-0"), "has"), chromedp.SendKeys(chromedp.ID("fv-0"), "boiler"),
			chromedp.Submit(chromedp.ID("fv-0")), waitJS(`document.querySelectorAll('table.items tbody tr[data-item-id]').length === 1`))
		screenshot(t, a, dialect+"-list")
		checkAxe(t, a, "list")
		csv := eval[string](t, a, `fetch([...document.querySelectorAll('a')].find(l => l.textContent === 'Export CSV').href).then(r => r.text())`)
		if !strings.Contains(csv, "Boiler service") || strings.Contains(csv, "Window fitting") {
			t.Errorf("the export is not the filtered list:\n%s", csv)
		}

		// The card: edit the title inline; the timeline shows the change.
		run(t, a, "edit on the card", chromedp.Navigate(e.s.HTTP.URL+web.DetailsPath(v.EntityTypeID, boiler.ID)),
			chromedp.WaitVisible(chromedp.CSS(`.row[data-field="title"]`)),
			chromedp.Click(chromedp.CSS(`.row[data-field="title"] summary`)),
			chromedp.Clear(chromedp.CSS(`.row[data-field="title"] input[name=title]`)),
			chromedp.SendKeys(chromedp.CSS(`.row[data-field="title"] input[name=title]`), "Boiler service, flat 4"),
			chromedp.Click(chromedp.CSS(`.row[data-field="title"] form button`)),
			waitJS(`document.querySelector('.row[data-field="title"] .val').textContent.includes('flat 4')`),
			chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#timeline")),
			waitJS(`[...document.querySelectorAll('.timeline .entry')].some(e => e.textContent.includes('Boiler service, flat 4') && e.textContent.includes('changed'))`))
		screenshot(t, a, dialect+"-card")
		checkAxe(t, a, "card")
		run(t, a, "analytics", chromedp.Navigate(e.s.HTTP.URL+web.AnalyticsPath(v.EntityTypeID, cat)), chromedp.WaitVisible(chromedp.CSS("svg")))
		screenshot(t, a, dialect+"-analytics")
		checkAxe(t, a, "analytics")
		run(t, a, "users", chromedp.Navigate(e.s.HTTP.URL+"/users"), chromedp.WaitVisible(chromedp.CSS("table.items")))
		checkAxe(t, a, "users")
		run(t, a, "Kanban at phone width", phone(), chromedp.Navigate(kanban), chromedp.WaitVisible(chromedp.CSS(".board")))
		screenshot(t, a, dialect+"-kanban-phone")
		checkAxe(t, a, "Kanban at phone width")
		run(t, a, "card at phone width", chromedp.Navigate(e.s.HTTP.URL+web.DetailsPath(v.EntityTypeID, boiler.ID)), chromedp.WaitVisible(chromedp.CSS("#timeline")))
		screenshot(t, a, dialect+"-card-phone")
		run(t, a, "Kanban at 1366×768", desktop(), chromedp.Navigate(kanban), chromedp.WaitVisible(chromedp.CSS(".board")))
		screenshot(t, a, dialect+"-kanban")
		checkAxe(t, a, "Kanban")

		// Sign out: the session is over, pages ask to sign in again.
		run(t, a, "sign out", chromedp.Click(chromedp.CSS(`.me button`)), chromedp.WaitVisible(chromedp.ID("login")),
			chromedp.Navigate(kanban), chromedp.WaitVisible(chromedp.ID("login")))
	})
}

// itemByTitle finds an item of a type by its title.
func itemByTitle(t *testing.T, e *env, typ *crm.Type, title string) *crm.Item {
	t.Helper()
	f, _ := typ.FieldByName("title")
	_, list, err := e.s.App.CRM.ListItems(context.Background(), admin, typ.EntityTypeID, crm.ItemQuery{
		Where: query.Group{Items: []query.Expr{query.Cond{Field: typ.QueryField(f), Op: "=", Value: title}}}})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("finding %q: %v %v", title, list, err)
	}
	return list.Items[0]
}
