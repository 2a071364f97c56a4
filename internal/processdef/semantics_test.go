package processdef_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"smartcrm/internal/apitest"
	"smartcrm/internal/crm"
	"smartcrm/internal/processdef"
	"smartcrm/internal/testdb"
)

// base is a small process: a field holding data, three stages in progress.
const base = `version: 1
processes:
  - code: visit
    title: Visit
    flags: {isStagesEnabled: true, isAutomationEnabled: true, isCategoriesEnabled: true}
    fields:
      - {key: NOTE, type: string, label: Note}
      - {key: HOURS, type: double, label: Hours}
      - key: KIND
        type: enumeration
        label: Kind
        items: [{key: A, value: Alpha}, {key: B, value: Beta}]
    funnels:
      - code: main
        name: Main
        default: true
        stages:
          - {code: NEW, name: New}
          - {code: MID, name: Middle}
          - {code: LATE, name: Late}
          - {code: SUCCESS, name: Done, semantics: success}
          - {code: FAIL, name: Lost, semantics: failure}
`

type fixture struct {
	t   *testing.T
	srv *apitest.Server
	svc *processdef.Service
	ctx context.Context
}

func newFixture(t *testing.T, dialect string) *fixture {
	srv := apitest.Start(t, dialect)
	return &fixture{t: t, srv: srv, svc: newService(srv), ctx: context.Background()}
}

func (f *fixture) apply(src string, opts processdef.Options) (*processdef.Plan, error) {
	return f.svc.Apply(f.ctx, admin, "f.yaml", []byte(src), opts)
}

func (f *fixture) mustApply(src string) {
	f.t.Helper()
	if _, err := f.apply(src, processdef.Options{}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) plan(src string, opts processdef.Options) string {
	f.t.Helper()
	p, err := f.svc.Plan(f.ctx, admin, "f.yaml", []byte(src), opts)
	if err != nil {
		return "error: " + err.Error()
	}
	var b bytes.Buffer
	p.Write(&b)
	return b.String()
}

func (f *fixture) export() string {
	f.t.Helper()
	b, err := f.svc.Export(f.ctx, admin, "")
	if err != nil {
		f.t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) visitType() *crm.Type {
	f.t.Helper()
	types, err := f.srv.App.CRM.AllTypes(f.ctx, admin)
	if err != nil || len(types) == 0 {
		f.t.Fatalf("types: %v %v", types, err)
	}
	return types[0]
}

// addItem adds an item in a stage with a note.
func (f *fixture) addItem(stage, note string) int64 {
	f.t.Helper()
	t := f.visitType()
	_, it, err := f.srv.App.CRM.AddItem(f.ctx, admin, t.EntityTypeID, crm.Patch{crm.FieldTitle: "Visit 1",
		crm.FieldStageID: t.StagePrefix(t.DefaultCategory().ID) + ":" + stage, crm.FieldName(crm.CamelUFName(t.UFPrefix() + "NOTE")): note})
	if err != nil {
		f.t.Fatal(err)
	}
	return it.ID
}

func (f *fixture) item(id int64) (stage, note string) {
	f.t.Helper()
	t := f.visitType()
	_, it, err := f.srv.App.CRM.GetItem(f.ctx, admin, t.EntityTypeID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	n, _ := it.Get(crm.FieldName(crm.CamelUFName(t.UFPrefix() + "NOTE"))).(string)
	return it.StageID(), n
}

// Renames are keyed by the stable codes: the type, field, funnel and stage keep their
// rows, so the items keep their values and stages.
func TestRenameKeepsData(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		f.mustApply(base)
		id := f.addItem("MID", "keep me")
		renamed := strings.NewReplacer("title: Visit", "title: Site visit", "label: Note", "label: Remark",
			"name: Middle", "name: Halfway", "name: Main", "name: Pipeline").Replace(base)
		plan := f.plan(renamed, processdef.Options{})
		for _, want := range []string{`rename type visit: "Visit" → "Site visit"`, `rename field visit.NOTE: "Note" → "Remark"`,
			`rename stage visit/main/MID: "Middle" → "Halfway"`, `rename funnel visit/main: "Main" → "Pipeline"`, "4 change(s)"} {
			if !strings.Contains(plan, want) {
				t.Errorf("plan lacks %q:\n%s", want, plan)
			}
		}
		f.mustApply(renamed)
		if stage, note := f.item(id); !strings.HasSuffix(stage, ":MID") || note != "keep me" {
			t.Errorf("after the renames the item is in %s with %q", stage, note)
		}
		if p := f.plan(renamed, processdef.Options{}); !strings.Contains(p, "No changes") {
			t.Errorf("re-plan: %s", p)
		}
		// Reordering stages is a reorder, and keeps the items where they are.
		reordered := strings.Replace(renamed, "          - {code: MID, name: Halfway}\n          - {code: LATE, name: Late}\n",
			"          - {code: LATE, name: Late}\n          - {code: MID, name: Halfway}\n", 1)
		if p := f.plan(reordered, processdef.Options{}); !strings.Contains(p, "reorder stage visit/main: NEW, LATE, MID, SUCCESS, FAIL") {
			t.Errorf("reorder plan: %s", p)
		}
		f.mustApply(reordered)
		if out := f.export(); strings.Index(out, "code: LATE") > strings.Index(out, "code: MID") {
			t.Errorf("the export does not show the new order:\n%s", f.export())
		}
		if stage, note := f.item(id); !strings.HasSuffix(stage, ":MID") || note != "keep me" {
			t.Errorf("after the reorder the item is in %s with %q", stage, note)
		}
	})
}

// A change that would lose data is refused without --prune and leaves everything as
// it was; with --prune the plan counts the items, names where a deleted stage's items
// go, and apply moves them there.
func TestDestructiveChangesNeedPrune(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		f.mustApply(base)
		id := f.addItem("MID", "precious")
		before := f.export()
		chooseB(f, id)
		// The note goes, the hours become text, item B goes, MID goes and its items move
		// to LATE.
		changed := strings.NewReplacer("items: [{key: A, value: Alpha}, {key: B, value: Beta}]", "items: [{key: A, value: Alpha}]", "      - {key: NOTE, type: string, label: Note}\n", "",
			"{key: HOURS, type: double, label: Hours}", "{key: HOURS, type: string, label: Hours}",
			"          - {code: MID, name: Middle}\n", "",
			"{code: LATE, name: Late}", "{code: LATE, name: Late, itemsFrom: [MID]}").Replace(base)
		for _, try := range []func() error{
			func() error {
				_, err := f.svc.Plan(f.ctx, admin, "f.yaml", []byte(changed), processdef.Options{})
				return err
			},
			func() error { _, err := f.apply(changed, processdef.Options{}); return err },
		} {
			err := try()
			if err == nil || !strings.Contains(err.Error(), "delete field would lose the data of 1 item(s): refused without --prune") ||
				!strings.Contains(err.Error(), "delete stage would lose the data of 1 item(s)") ||
				!strings.Contains(err.Error(), "visit.KIND.B: delete item would lose the data of 1 item(s)") {
				t.Errorf("without --prune: %v", err)
			}
		}
		if after := f.export(); after != before {
			t.Errorf("a refused change changed the server:\n%s\n---\n%s", before, after)
		}
		if stage, note := f.item(id); !strings.HasSuffix(stage, ":MID") || note != "precious" {
			t.Errorf("a refused change moved the item to %s with %q", stage, note)
		}
		plan := f.plan(changed, processdef.Options{Prune: true})
		for _, want := range []string{"delete field visit.NOTE: string [loses data: 1 item(s)]",
			"replace field visit.HOURS: double → string", "delete stage visit/main/MID: \"Middle\" [loses data: 1 item(s); they move to LATE]"} {
			if !strings.Contains(plan, want) {
				t.Errorf("prune plan lacks %q:\n%s", want, plan)
			}
		}
		if _, err := f.apply(changed, processdef.Options{Prune: true}); err != nil {
			t.Fatal(err)
		}
		if stage, _ := f.item(id); !strings.HasSuffix(stage, ":LATE") {
			t.Errorf("the deleted stage's item is in %s", stage)
		}
		if p := f.plan(changed, processdef.Options{}); !strings.Contains(p, "No changes") {
			t.Errorf("re-plan: %s", p)
		}
	})
}

// chooseB sets item id's KIND to the choice B.
func chooseB(f *fixture, id int64) {
	f.t.Helper()
	t := f.visitType()
	fld, _ := t.FieldByName(t.UFPrefix() + "KIND")
	var b int64
	for _, e := range fld.UserField().Enums {
		if e.XMLID == "B" {
			b = e.ID
		}
	}
	if _, _, err := f.srv.App.CRM.UpdateItem(f.ctx, admin, t.EntityTypeID, id, crm.Patch{fld.Name: b}, crm.WriteOptions{}); err != nil {
		f.t.Fatal(err)
	}
}

// Everything wrong with a file against a server is told at once, and nothing is
// applied: an unknown key, a field key given twice, a stage named but not defined, a
// condition that does not parse, a type change that loses data.
func TestBadInputAllAtOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		f.mustApply(base)
		f.addItem("NEW", "x")
		before := f.export()
		bad := strings.NewReplacer(
			"    title: Visit\n", "    title: Visit\n    colour: red\n",
			"{key: NOTE, type: string, label: Note}", "{key: NOTE, type: integer, label: Note}\n      - {key: HOURS, type: string}",
			"          - {code: FAIL, name: Lost, semantics: failure}\n", "          - {code: FAIL, name: Lost, semantics: failure}\n        required: [{field: ufCrmHours, from: NOPE}]\n        automation:\n          stages:\n            NEW:\n              robots:\n                - {id: r, type: comment, condition: 'ufCrmHours >', params: {text: hi}}\n").Replace(base)
		_, err := f.apply(bad, processdef.Options{})
		if err == nil {
			t.Fatal("a bad file applied")
		}
		for _, want := range []string{`f.yaml:5:5: processes[0]: unknown key "colour"`, `two fields have the key "HOURS"`,
			`stage "NOPE" is not defined`, "the condition does not compile", "replace field would lose the data of 1 item(s)"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("missing %q in\n%v", want, err)
			}
		}
		if after := f.export(); after != before {
			t.Errorf("a refused file changed the server")
		}
	})
}

// A condition that parses but does not type-check against the fields, or a robot
// naming a user who does not exist, is found by the plan's trial run; apply is all or
// nothing, so the type made before the bad robot is not there either.
func TestApplyIsAllOrNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		bad := base + `        automation:
          stages:
            NEW:
              robots:
                - {id: r1, type: comment, condition: 'ufCrmNote > 5', params: {text: hi}}
                - {id: r2, type: responsible, params: {users: [999]}}
`
		_, perr := f.svc.Plan(f.ctx, admin, "f.yaml", []byte(bad), processdef.Options{})
		_, aerr := f.apply(bad, processdef.Options{})
		for _, err := range []error{perr, aerr} {
			if err == nil || !strings.Contains(err.Error(), "mismatched types") || !strings.Contains(err.Error(), "user 999 does not exist") {
				t.Errorf("want both robot problems, got %v", err)
			}
		}
		if types, _ := f.srv.App.CRM.AllTypes(f.ctx, admin); len(types) != 0 {
			t.Errorf("a failed apply left %d type(s)", len(types))
		}
	})
}

// Processes of one file name each other by code: a relation, a createItem robot, a
// childReached trigger, a crm link field; robots name enumeration choices by key. The
// whole file round-trips to a server where every id differs.
func TestCrossProcessReferences(t *testing.T) {
	const two = `version: 1
processes:
  - code: request
    title: Request
    flags: {isStagesEnabled: true, isAutomationEnabled: true}
    relations:
      children: [{type: visit, showInCard: true}]
    fields:
      - key: VISIT
        type: crm
        label: Visit
        settings: {visit: "Y", DEAL: "Y"}
    funnels:
      - code: main
        name: Main
        stages:
          - {code: NEW, name: New}
          - {code: SUCCESS, name: Done, semantics: success}
          - {code: FAIL, name: Lost, semantics: failure}
        automation:
          stages:
            NEW:
              robots:
                - id: make-visit
                  type: createItem
                  params:
                    type: visit
                    link: child
                    fields: {title: "Visit for {{title}}", ufCrmSite: "{{title}}", ufCrmKind: [B]}
              triggers:
                - {id: visit-done, type: childReached, params: {type: visit, semantics: S}}
  - code: visit
    title: Visit
    flags: {isStagesEnabled: true, isAutomationEnabled: true}
    relations:
      parents: [{type: request, showInCard: true}]
    fields:
      - {key: SITE, type: string, label: Site}
      - {key: KIND, type: enumeration, label: Kind, multiple: true, items: [{key: A, value: Alpha}, {key: B, value: Beta}]}
    funnels:
      - code: main
        name: Main
        stages:
          - {code: NEW, name: New}
          - {code: SUCCESS, name: Done, semantics: success}
          - {code: FAIL, name: Lost, semantics: failure}
        automation:
          stages:
            NEW:
              robots:
                - {id: note, type: comment, params: {text: "For {{parent_request.title}}"}, condition: 'parentId_request > 0'}
                - {id: kind, type: fields, params: {fields: {ufCrmKind: [A]}}}
    layout:
      - {name: main, title: Visit, fields: [title, parentId_request, ufCrmSite]}
`
	testdb.Each(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect)
		f.mustApply(two)
		if p := f.plan(two, processdef.Options{}); !strings.Contains(p, "No changes") {
			t.Fatalf("re-plan: %s", p)
		}
		out := f.export()
		for _, want := range []string{"type: visit", "visit: \"Y\"", "parent_request.title", "parentId_request", "- B", "- A"} {
			if !strings.Contains(out, want) {
				t.Errorf("export lacks %q:\n%s", want, out)
			}
		}
		g := newFixture(t, dialect)
		// A type made first on the other server shifts its numbers: codes still match.
		if _, err := g.apply(strings.Replace(base, "code: visit", "code: other", 1), processdef.Options{}); err != nil {
			t.Fatal(err)
		}
		g.mustApply(out)
		if again, err := g.svc.Export(g.ctx, admin, "request"); err != nil || !strings.Contains(out, string(again)[len("version: 1\nprocesses:\n"):]) {
			t.Errorf("the copy's export differs: %v\n%s", err, again)
		}
	})
}
