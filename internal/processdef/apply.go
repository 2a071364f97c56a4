package processdef

import (
	"fmt"
	"reflect"

	"smartcrm/internal/crm"
)

// execute makes a plan's changes inside one unit, in an order in which each step finds
// what it needs: rules that go are dropped before their fields, types exist before
// fields and relations, relations before the layouts and robots that name parent
// links, stages before the rules and robots on them.
func (s *Service) execute(u *crm.Unit, plan *Plan) error {
	a := &applier{s: s, u: u, plan: plan, reg: plan.st.reg, etid: map[string]int64{}, ps: problems{file: plan.name}}
	a.reg.typeOf = func(etid int64) *crm.Type {
		t, err := u.TypeOf(etid)
		if err != nil {
			return nil
		}
		return t
	}
	for _, want := range plan.want {
		if cur := plan.st.procs[want.Code]; cur != nil {
			a.etid[want.Code] = plan.st.types[want.Code].EntityTypeID
			if err := a.dropRules(want, cur); err != nil {
				return a.wrap(want.Code, err)
			}
		}
	}
	steps := []struct {
		name string
		fn   func(want, cur *Process) error
	}{
		{"type", a.applyType},
		{"fields", a.applyFields},
		{"relations", a.applyRelations},
		{"funnels", a.applyFunnels},
		{"automation", a.applyAutomation},
		{"layout", a.applyLayout},
	}
	for _, step := range steps {
		for _, want := range plan.want {
			if err := step.fn(want, plan.st.procs[want.Code]); err != nil {
				return a.wrap(want.Code+", "+step.name, err)
			}
		}
		if len(a.ps.list) > 0 {
			return a.ps.err()
		}
	}
	return nil
}

type applier struct {
	s    *Service
	u    *crm.Unit
	plan *Plan
	reg  *registry
	etid map[string]int64 // the file's processes by code
	// ps collects the problems automation documents have, so all are told at once.
	ps problems
}

// wrap names where an error of the CRM happened.
func (a *applier) wrap(where string, err error) error {
	if _, ok := err.(*Error); ok {
		return err
	}
	if crm.KindOf(err) != 0 {
		return &Error{Problems: []Problem{{File: a.ps.file, Path: "process " + where, Message: err.Error()}}}
	}
	return fmt.Errorf("process %s: %w", where, err)
}

func (a *applier) typeOf(code string) (*crm.Type, error) { return a.u.TypeOf(a.etid[code]) }

// applyType creates the type or changes its title and settings.
func (a *applier) applyType(want, cur *Process) error {
	flags := crm.Flags{}
	for k, v := range want.Flags {
		flags[crm.Flag(k)] = v
	}
	linked := map[string]bool{}
	for _, k := range crm.LinkedUserFieldKeys {
		linked[k] = false
	}
	for _, k := range want.LinkedUserFields {
		linked[k] = true
	}
	if cur == nil {
		code := want.Code
		t, err := a.u.AddType(crm.TypeSpec{Title: &want.Title, Code: &code, Flags: flags, LinkedUserFields: linked})
		if err != nil {
			return err
		}
		a.etid[want.Code] = t.EntityTypeID
		a.reg.add(want.Code, t.EntityTypeID, t.ID)
		return nil
	}
	if want.Title == cur.Title && reflect.DeepEqual(want.Flags, cur.Flags) && reflect.DeepEqual(want.LinkedUserFields, cur.LinkedUserFields) {
		return nil
	}
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	_, err = a.u.UpdateType(t.ID, crm.TypeSpec{Title: &want.Title, Flags: flags, LinkedUserFields: linked})
	return err
}

// applyRelations replaces the type's relations when they differ.
func (a *applier) applyRelations(want, cur *Process) error {
	if cur != nil && relationText(want.Relations) == relationText(cur.Relations) {
		return nil
	}
	if cur == nil && want.Relations == nil {
		return nil
	}
	rel := crm.Relations{Parent: []crm.Relation{}, Child: []crm.Relation{}}
	if want.Relations != nil {
		for _, r := range want.Relations.Parents {
			rel.Parent = append(rel.Parent, crm.Relation{EntityTypeID: a.reg.etidOf[r.Type], IsChildrenListEnabled: r.ShowInCard})
		}
		for _, r := range want.Relations.Children {
			rel.Child = append(rel.Child, crm.Relation{EntityTypeID: a.reg.etidOf[r.Type], IsChildrenListEnabled: r.ShowInCard})
		}
	}
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	_, err = a.u.UpdateType(t.ID, crm.TypeSpec{Relations: &rel})
	return err
}
