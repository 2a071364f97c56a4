package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"smartcrm/internal/automation"
	"smartcrm/internal/crm"
	"smartcrm/internal/customfield"
	"smartcrm/internal/field"
	"smartcrm/internal/stagerules"
	"smartcrm/internal/testdb"
	"smartcrm/internal/web"
)

// The administrators' pages over plain HTTP, as a browser without the script sends
// their forms: each page answers, each change goes through the domain, each refusal is
// shown beside its form with the domain's reason and changes nothing.

// postPage posts a form and follows the redirect; it returns the status and the page.
func (b *browser) postPage(path string, form url.Values) (int, string) {
	b.e.t.Helper()
	resp := b.post(path, form)
	if resp.StatusCode == http.StatusSeeOther {
		loc := resp.Header.Get("Location")
		return http.StatusOK, b.page(loc)
	}
	return resp.StatusCode, readAll(resp)
}

func TestAdminTypeSettings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		b := e.signIn("admin", "admin-password-1")

		// Create a blank type: it lands on its fields page.
		status, page := b.postPage(web.TypesPath, url.Values{"title": {"Visits"}, "isStagesEnabled": {"Y"}, "isAutomationEnabled": {"Y"}})
		if status != http.StatusOK || !strings.Contains(page, "Created “Visits”") {
			t.Fatalf("creating a type: %d %.400s", status, page)
		}
		types, err := e.s.App.CRM.AllTypes(ctx, admin)
		if err != nil || len(types) != 1 {
			t.Fatalf("types: %v %v", types, err)
		}
		v := types[0]
		if !v.Flag(crm.FlagStages) || !v.Flag(crm.FlagAutomation) || v.Flag(crm.FlagCategories) {
			t.Errorf("flags of the new type: %v", v.Flags)
		}
		// An empty name is refused, beside the form, and creates nothing.
		status, page = b.postPage(web.TypesPath, url.Values{"title": {" "}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, `role="alert"`) || !strings.Contains(page, "Title") {
			t.Errorf("an empty name: %d %.300s", status, page)
		}

		// The list shows the item count from the counters.
		e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Boiler"})
		list := b.page(web.TypesPath)
		if !strings.Contains(list, fmt.Sprintf(`<tr data-entity-type-id="%d">`, v.EntityTypeID)) || !strings.Contains(list, "<td data-items>1</td>") {
			t.Errorf("the list of types: %.800s", list)
		}

		// Every flag with its explanation; rename and switch on several funnels.
		settings := web.SettingsPath(v.EntityTypeID, "")
		page = b.page(settings)
		for _, f := range crm.AllFlags() {
			if !strings.Contains(page, "<code>"+string(f)+"</code>") {
				t.Errorf("the settings page does not show %s", f)
			}
		}
		status, page = b.postPage(settings+"save", url.Values{"title": {"Installation visits"}, "isStagesEnabled": {"Y"},
			"isAutomationEnabled": {"Y"}, "isCategoriesEnabled": {"Y"}})
		if status != http.StatusOK || !strings.Contains(page, "Saved the settings") {
			t.Fatalf("saving the settings: %d %.300s", status, page)
		}
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		if v.Title != "Installation visits" || !v.Flag(crm.FlagCategories) {
			t.Errorf("after the save: %q %v", v.Title, v.Flags)
		}

		// Relations: deals as a parent shown in the card, with the effect explained.
		status, page = b.postPage(settings+"relations", url.Values{"side": {"parent"}, "add": {"2"}, "add-card": {"Y"}})
		if status != http.StatusOK || !strings.Contains(page, "gets a “Deals” field") || !strings.Contains(page, "Their cards list their Installation visits items") {
			t.Errorf("adding a parent: %d %.2000s", status, page)
		}
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		if len(v.Relations.Parent) != 1 || v.Relations.Parent[0].EntityTypeID != 2 || !v.Relations.Parent[0].IsChildrenListEnabled {
			t.Errorf("relations after adding: %+v", v.Relations)
		}
		if _, page = b.postPage(settings+"relations", url.Values{"remove": {"parent-2"}}); strings.Contains(page, "gets a “Deals” field") {
			t.Errorf("the parent was not removed")
		}

		// Deleting a type that holds items is refused with the reason and the count.
		status, page = b.postPage(settings+"delete", url.Values{})
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, "holds 1 items") {
			t.Errorf("deleting a type with items: %d %.400s", status, page)
		}
		if _, err := e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID); err != nil {
			t.Errorf("the refused delete deleted the type: %v", err)
		}

		// Export is offered only with processes as code plugged in.
		e.s.App.Web.SetProcesses(nil)
		if page = b.page(settings); strings.Contains(page, "Export as a process file") {
			t.Errorf("export offered without processes")
		}
		e.s.App.Web.SetProcesses(&fakeProcesses{e: e})
		page = b.page(settings)
		if !strings.Contains(page, "Export as a process file") {
			t.Errorf("export not offered with processes")
		}
		resp := b.get(settings + "export")
		if body := readAll(resp); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), ".yaml") ||
			!strings.Contains(body, "title: Installation visits") {
			t.Errorf("export: %d %v %s", resp.StatusCode, resp.Header, body)
		}
	})
}

// Fields of every kind are added through the page and their settings saved back
// unchanged; list items are added, renamed, reordered and deleted; a field becomes
// required from a stage; deleting a field with data says how many items lose it.
func TestAdminFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		v := e.visits()
		b := e.signIn("admin", "admin-password-1")
		fields := web.SettingsPath(v.EntityTypeID, "fields/")
		for _, k := range field.Kinds() {
			status, page := b.postPage(fields+"add", url.Values{"kind": {k.ID()}, "label": {"F " + k.ID()}})
			if status != http.StatusOK || !strings.Contains(page, "Added the field") {
				t.Fatalf("adding a %s field: %d %.400s", k.ID(), status, page)
			}
			// Saving the page as shown changes nothing and is accepted.
			form := formOf(t, page, "field-form")
			if status, page = b.postPage(pathOfForm(t, b, page), form); status != http.StatusOK || !strings.Contains(page, "Saved the field") {
				t.Errorf("saving a %s field as shown: %d %.600s", k.ID(), status, errorIn(page))
			}
		}
		ufs, err := e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		if err != nil {
			t.Fatal(err)
		}
		byKind := map[string]*crm.UserField{}
		for _, f := range ufs.Fields() {
			if uf := f.UserField(); uf != nil {
				byKind[uf.Kind] = uf
			}
		}
		if len(byKind) != len(field.Kinds()) {
			t.Fatalf("fields made: %v", byKind)
		}

		// A string field: limits and a pattern; a bad pattern is refused with the reason.
		str := byKind["string"]
		path := fields + itoa(str.ID)
		form := url.Values{"label": {"Serial number"}, "s-MAX_LENGTH": {"12"}, "s-REGEXP": {"^[A-Z0-9]+$"}, "showInList": {"Y"}}
		if status, page := b.postPage(path, form); status != http.StatusOK {
			t.Fatalf("saving limits: %d %s", status, errorIn(page))
		}
		if st := settingsOf(t, e, str.ID); st["MAX_LENGTH"] != 12.0 || st["REGEXP"] != "^[A-Z0-9]+$" {
			t.Errorf("stored settings: %v", st)
		}
		form.Set("s-REGEXP", "([")
		if status, page := b.postPage(path, form); status != http.StatusUnprocessableEntity || !strings.Contains(errorIn(page), "Invalid settings") {
			t.Errorf("a bad pattern: %d %s", status, errorIn(page))
		}

		// A list: add two items, then rename one, swap their order, delete the other.
		list := byKind["enumeration"]
		path = fields + itoa(list.ID)
		if status, page := b.postPage(path, url.Values{"label": {"Kind"}, "enums": {"2"}, "e0-id": {"0"}, "e0-value": {"Boiler"}, "e0-sort": {"10"},
			"e1-id": {"0"}, "e1-value": {"Window"}, "e1-sort": {"20"}}); status != http.StatusOK {
			t.Fatalf("adding items: %d %s", status, errorIn(page))
		}
		enums := enumsOf(t, e, v.EntityTypeID, list.ID)
		if len(enums) != 2 {
			t.Fatalf("items: %+v", enums)
		}
		if status, page := b.postPage(path, url.Values{"label": {"Kind"}, "enums": {"2"},
			"e0-id": {itoa(enums[0].ID)}, "e0-value": {"Gas boiler"}, "e0-sort": {"30"},
			"e1-id": {itoa(enums[1].ID)}, "e1-value": {"Window"}, "e1-sort": {"20"}, "e1-def": {"Y"}}); status != http.StatusOK {
			t.Fatalf("renaming and reordering: %d %s", status, errorIn(page))
		}
		got := enumsOf(t, e, v.EntityTypeID, list.ID)
		if got[0].Value != "Window" || !got[0].Def || got[1].Value != "Gas boiler" {
			t.Errorf("after rename and reorder: %+v", got)
		}
		if status, page := b.postPage(path, url.Values{"label": {"Kind"}, "enums": {"1"}, "e0-id": {itoa(enums[1].ID)}, "e0-value": {"Window"}, "e0-del": {"Y"}}); status != http.StatusOK {
			t.Fatalf("deleting an item: %d %s", status, errorIn(page))
		}
		if got := enumsOf(t, e, v.EntityTypeID, list.ID); len(got) != 1 || got[0].Value != "Gas boiler" {
			t.Errorf("after deleting: %+v", got)
		}

		// A CRM link: the types it may link to.
		link := byKind["crm"]
		if status, page := b.postPage(fields+itoa(link.ID), url.Values{"label": {"Deal"}, "s-types-DEAL": {"Y"}}); status != http.StatusOK {
			t.Fatalf("link types: %d %s", status, errorIn(page))
		}
		if st := settingsOf(t, e, link.ID); st["DEAL"] != "Y" || st["CONTACT"] != "N" {
			t.Errorf("link settings: %v", st)
		}
		if status, page := b.postPage(fields+itoa(link.ID), url.Values{"label": {"Deal"}}); status != http.StatusUnprocessableEntity ||
			!strings.Contains(errorIn(page), "at least one type") {
			t.Errorf("a link to nothing: %d %s", status, errorIn(page))
		}

		// Required from a stage on, per funnel.
		cat := v.DefaultCategory().ID
		approval := v.StagesOf(cat)[2]
		file := byKind["file"]
		if status, page := b.postPage(fields+itoa(file.ID), url.Values{"label": {"Photo"}, "s-MAX_ALLOWED_SIZE": {"1000000"}, "s-EXTENSIONS": {"jpg, png"},
			"from-" + itoa(cat): {approval.StatusID}}); status != http.StatusOK {
			t.Fatalf("required from: %d %s", status, errorIn(page))
		}
		reqs, _ := stagerules.List(ctx, e.s.App.CRM, admin, v.EntityTypeID)
		if len(reqs) != 1 || reqs[0].FromStageID != approval.StatusID {
			t.Errorf("requirements: %+v", reqs)
		}
		if st := settingsOf(t, e, file.ID); fmt.Sprint(st["EXTENSIONS"]) != "[jpg png]" || st["MAX_ALLOWED_SIZE"] != 1e6 {
			t.Errorf("file settings: %v", st)
		}
		if page := b.page(fields); !strings.Contains(page, "from "+approval.Name+" on") {
			t.Errorf("the list does not say from which stage the photo is required")
		}

		// Deleting a field with data: the page says how many items lose a value.
		name := crm.CamelUFName(str.Name)
		e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "A", crm.FieldName(name): "X1"})
		e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "B", crm.FieldName(name): "X2"})
		e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "C"})
		page := b.page(fields + itoa(str.ID) + "/delete")
		if !strings.Contains(page, `data-items="2"`) || !strings.Contains(page, "2 items hold a value") {
			t.Errorf("the warning: %.1500s", page)
		}
		if status, page := b.postPage(fields+itoa(str.ID)+"/delete", url.Values{}); status != http.StatusOK || !strings.Contains(page, "Deleted the field") {
			t.Errorf("deleting: %d %s", status, errorIn(page))
		}
		if _, err := customfield.New(e.s.App.CRM).Get(ctx, admin, str.ID); err == nil {
			t.Errorf("the field is still there")
		}
	})
}

// settingsOf reads a custom field's stored settings.
func settingsOf(t *testing.T, e *env, id int64) map[string]any {
	t.Helper()
	rec, err := e.s.App.CRM.Store().UserField(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(rec.Settings), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func enumsOf(t *testing.T, e *env, etid, id int64) []field.EnumItem {
	t.Helper()
	typ, err := e.s.App.CRM.ItemType(context.Background(), admin, etid)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range typ.Fields() {
		if uf := f.UserField(); uf != nil && uf.ID == id {
			out := append([]field.EnumItem(nil), uf.Enums...)
			for i := range out {
				for j := i + 1; j < len(out); j++ {
					if out[j].Sort < out[i].Sort {
						out[i], out[j] = out[j], out[i]
					}
				}
			}
			return out
		}
	}
	t.Fatalf("no field %d", id)
	return nil
}

// Funnels and stages: added, renamed, recoloured, reordered; the funnel's rules
// refused beside the form; a stage with items asks where they go.
func TestAdminFunnels(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		e := start(t, dialect)
		ctx := context.Background()
		v := e.visits()
		cat := v.DefaultCategory().ID
		b := e.signIn("admin", "admin-password-1")
		funnels := web.SettingsPath(v.EntityTypeID, "funnels/")
		page := b.page(funnels)
		for _, g := range []string{"In progress", "Success", "Failure"} {
			if !strings.Contains(page, "<h3>"+g+"</h3>") {
				t.Errorf("no group %s", g)
			}
		}
		// Add an in-progress stage: it goes last of its group.
		if status, page := b.postPage(funnels+itoa(cat)+"/stages/add", url.Values{"semantics": {"P"}, "name": {"On site"}, "color": {"#123456"}}); status != http.StatusOK {
			t.Fatalf("adding a stage: %d %s", status, errorIn(page))
		}
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		stages := v.StagesOf(cat)
		if stages[3].Name != "On site" || stages[3].Color != "#123456" || stages[4].Semantics != crm.Success {
			t.Errorf("stages after adding: %v", names(stages))
		}
		// A second success stage is refused beside its form; nothing is added.
		status, page := b.postPage(funnels+itoa(cat)+"/stages/add", url.Values{"semantics": {"S"}, "name": {"Paid"}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(page, `role="alert">A pipeline has exactly one success stage`) {
			t.Errorf("a second success stage: %d %s", status, errorIn(page))
		}
		if v2, _ := e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID); len(v2.StagesOf(cat)) != 6 {
			t.Errorf("the refused stage was added")
		}
		// Rename and recolour.
		if status, page := b.postPage(funnels+"stage/"+itoa(stages[0].ID)+"/save", url.Values{"name": {"Requested"}, "color": {"#00aa00"}}); status != http.StatusOK {
			t.Fatalf("renaming: %d %s", status, errorIn(page))
		}
		// Reorder with the keyboard's buttons, and as the script sends it.
		if status, page := b.postPage(funnels+itoa(cat)+"/order", url.Values{"move": {stages[3].StatusID + ":up"}}); status != http.StatusOK {
			t.Fatalf("moving up: %d %s", status, errorIn(page))
		}
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		if got := names(v.StagesOf(cat)); got[0] != "Requested" || got[2] != "On site" || got[3] != "Approval" {
			t.Errorf("after moving up: %v", got)
		}
		// An order putting a stage in progress after success is refused, as JSON for the
		// script, and changes nothing.
		bad := url.Values{}
		for _, st := range v.StagesOf(cat) {
			if st.Semantics != crm.Success {
				bad.Add("order", st.StatusID)
			}
		}
		bad.Add("order", v.StagesOf(cat)[4].StatusID)
		code, ans := b.fetch(funnels+itoa(cat)+"/order", bad)
		if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(ans["error"]), "success stage") {
			t.Errorf("a bad order: %d %v", code, ans)
		}
		// A funnel: added, its deletion refused while it holds items.
		if status, page := b.postPage(funnels+"add", url.Values{"name": {"Warranty"}}); status != http.StatusOK {
			t.Fatalf("adding a funnel: %d %s", status, errorIn(page))
		}
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		var warranty *crm.Category
		for _, c := range v.Categories() {
			if c.Name == "Warranty" {
				warranty = c
			}
		}
		if warranty == nil {
			t.Fatalf("no Warranty funnel: %v", v.Categories())
		}
		e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "In warranty", crm.FieldCategoryID: warranty.ID})
		if status, page := b.postPage(funnels+itoa(warranty.ID)+"/delete", url.Values{}); status != http.StatusUnprocessableEntity ||
			!strings.Contains(page, "cannot be deleted while it has items") {
			t.Errorf("deleting a funnel with items: %d %s", status, errorIn(page))
		}
		// Deleting a stage with items asks where they go, then moves them.
		first := v.StagesOf(cat)[0]
		it := e.add(v.EntityTypeID, crm.Patch{crm.FieldTitle: "Waiting", crm.FieldStageID: first.StatusID})
		status, page = b.postPage(funnels+"stage/"+itoa(first.ID)+"/delete", url.Values{})
		if status != http.StatusOK || !strings.Contains(page, "Where do the items of “Requested” go?") {
			t.Fatalf("deleting a stage with items: %d %.500s", status, errorIn(page))
		}
		to := v.StagesOf(cat)[1].StatusID
		if status, page = b.postPage(funnels+"stage/"+itoa(first.ID)+"/delete", url.Values{"to": {to}}); status != http.StatusOK {
			t.Fatalf("moving and deleting: %d %s", status, errorIn(page))
		}
		if _, got, _ := e.s.App.CRM.GetItem(ctx, admin, v.EntityTypeID, it.ID); got.StageID() != to {
			t.Errorf("the item is in %s", got.StageID())
		}
		v, _ = e.s.App.CRM.ItemType(ctx, admin, v.EntityTypeID)
		if v.Stage(cat, first.StatusID) != nil {
			t.Errorf("the stage is still there")
		}
	})
}

func names(stages []*crm.Stage) []string {
	out := make([]string, len(stages))
	for i, s := range stages {
		out[i] = s.Name
	}
	return out
}

// errorIn is the refusal a page shows, for failure messages.
func errorIn(page string) string {
	i := strings.Index(page, `role="alert">`)
	if i < 0 {
		return "(no error shown)"
	}
	j := strings.Index(page[i:], "</")
	return page[i+len(`role="alert">`) : i+j]
}

// fakeProcesses stands in for processes as code (issue 15): one preset that builds
// an installation-visit process through the domain, and an export that writes the
// type's title.
type fakeProcesses struct{ e *env }

func (f *fakeProcesses) Presets() []web.PresetInfo {
	return []web.PresetInfo{{Name: "installation-visit", Title: "Installation visit", Description: "Visits to install equipment, with a confirmation e-mail"}}
}

func (f *fakeProcesses) ApplyPreset(ctx context.Context, actor accessActor, name string) (int64, error) {
	if name != "installation-visit" {
		return 0, crm.NewError(crm.ErrInvalidArg, "No preset %q", name)
	}
	title := "Installation visits"
	t, err := f.e.s.App.CRM.AddType(ctx, actor, crm.TypeSpec{Title: &title, Flags: crm.Flags{crm.FlagStages: true, crm.FlagAutomation: true}})
	if err != nil {
		return 0, err
	}
	if _, err := customfield.New(f.e.s.App.CRM).Add(ctx, actor, t.EntityTypeID, customfield.Spec{Name: t.UFPrefix() + "VISIT_DATE", Kind: "date",
		Labels: crm.Labels{EditForm: map[string]string{"en": "Visit date"}}}); err != nil {
		return 0, err
	}
	cat := t.DefaultCategory().ID
	prep := t.StagesOf(cat)[1].StatusID
	_, err = f.e.s.App.Automation.Set(ctx, actor, &automation.Document{EntityTypeID: t.EntityTypeID, CategoryID: cat,
		Stages: map[string]*automation.StageAutomation{prep: {Robots: []*automation.Robot{
			{ID: "confirm", Type: automation.RobotComment, Title: "Confirm the visit", Params: map[string]any{"text": "Visit {{title}} confirmed"}}}}}})
	return t.EntityTypeID, err
}

func (f *fakeProcesses) Export(ctx context.Context, actor accessActor, etid int64) ([]byte, error) {
	t, err := f.e.s.App.CRM.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	return []byte("types:\n  - title: " + t.Title + "\n"), nil
}
