package processdef

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/query"
)

// Options change what plan and apply allow.
type Options struct {
	// Prune allows changes that lose data: deleting a field or stage that holds values,
	// changing a field's type. Without it they are refused.
	Prune bool
}

// Plan is what applying a file would change on a server.
type Plan struct {
	Changes []Change `json:"changes"`

	name  string
	file  *File
	want  []*Process // canonical, in file order
	raw   map[string]*Process
	st    *state
	prune bool
}

// Empty reports whether the server already is as the file says.
func (p *Plan) Empty() bool { return len(p.Changes) == 0 }

// Write prints the plan as a readable diff.
func (p *Plan) Write(w io.Writer) {
	if p.Empty() {
		fmt.Fprintln(w, "No changes: the server is as the file describes.")
		return
	}
	for _, c := range p.Changes {
		fmt.Fprintln(w, c.String())
	}
	destructive := 0
	for _, c := range p.Changes {
		if c.Destructive {
			destructive++
		}
	}
	fmt.Fprintf(w, "%d change(s)", len(p.Changes))
	if destructive > 0 {
		fmt.Fprintf(w, ", %d of them losing data", destructive)
	}
	fmt.Fprintln(w, ".")
}

// errDryRun rolls a plan's trial apply back.
var errDryRun = errors.New("processdef: dry run")

// Plan reads a file and says what applying it would change. Every problem — in the
// file, against the server, and those the CRM raises when the changes are tried in a
// transaction that is then rolled back — is listed at once in an *Error.
func (s *Service) Plan(ctx context.Context, actor access.Actor, name string, data []byte, opts Options) (*Plan, error) {
	plan, err := s.plan(ctx, actor, name, data, opts)
	if err != nil || plan.Empty() {
		return plan, err
	}
	// Try the changes, so that what only the CRM can check (a condition's field types,
	// a required field missing on items that move) is told now, not at apply.
	err = s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		if err := s.execute(u, plan); err != nil {
			return err
		}
		return errDryRun
	})
	if errors.Is(err, errDryRun) {
		return plan, nil
	}
	return nil, asProblems(name, err)
}

// Apply makes the changes a plan of the file lists, in one transaction: all of them or
// none. The plan it applied is returned; an empty one changed nothing.
func (s *Service) Apply(ctx context.Context, actor access.Actor, name string, data []byte, opts Options) (*Plan, error) {
	plan, err := s.plan(ctx, actor, name, data, opts)
	if err != nil || plan.Empty() {
		return plan, err
	}
	if err := s.crm.Run(ctx, actor, func(u *crm.Unit) error { return s.execute(u, plan) }); err != nil {
		return nil, asProblems(name, err)
	}
	return plan, nil
}

// asProblems turns an error of a trial or an apply into the problem list.
func asProblems(name string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ce *crm.Error
	if errors.As(err, &ce) {
		return &Error{Problems: []Problem{{File: name, Message: err.Error()}}}
	}
	return err
}

// plan loads the file, reads the server, checks one against the other and diffs them.
func (s *Service) plan(ctx context.Context, actor access.Actor, name string, data []byte, opts Options) (*Plan, error) {
	f, ps := load(name, data)
	if f == nil {
		return nil, ps.err()
	}
	st, err := s.read(ctx, actor)
	if err != nil {
		return nil, err
	}
	plan := &Plan{name: name, file: f, raw: map[string]*Process{}, st: st, prune: opts.Prune}
	// Codes of the file's new processes count as known from here on.
	for _, p := range f.Processes {
		if p != nil && st.procs[p.Code] == nil {
			st.reg.etidOf[p.Code] = -1
		}
	}
	d := &differ{}
	for _, p := range f.Processes {
		if p == nil {
			continue
		}
		cur := st.procs[p.Code]
		want := canonical(p, cur)
		plan.want = append(plan.want, want)
		plan.raw[p.Code] = p
		s.checkAgainstServer(ctx, actor, p, want, cur, st, ps)
		d.diffProcess(want, cur)
	}
	plan.Changes = d.changes
	s.weigh(ctx, actor, plan, ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return plan, nil
}

// checkAgainstServer checks what the file names on other servers' terms: codes of
// processes, stages whose meaning would change.
func (s *Service) checkAgainstServer(ctx context.Context, actor access.Actor, p, want, cur *Process, st *state, ps *problems) {
	where := "process " + p.Code
	known := func(code string) bool { _, ok := st.reg.etidOf[code]; return ok }
	if p.Relations != nil {
		for _, list := range [][]*Relation{p.Relations.Parents, p.Relations.Children} {
			for _, r := range list {
				if r != nil && !known(r.Type) {
					ps.add(r.at, where, "relation: no process has the code %q, here or on the server", r.Type)
				}
			}
		}
	}
	for _, f := range p.Fields {
		if f == nil || f.Type != "crm" {
			continue
		}
		for k := range f.Settings {
			if _, std := standardBindingKey(k); !std && !known(k) {
				ps.add(f.at, where+", field "+f.Key, "settings: %q is neither LEAD, DEAL, CONTACT, COMPANY nor a process code", k)
			}
		}
	}
	for _, fn := range p.Funnels {
		if fn == nil || fn.Automation == nil {
			continue
		}
		for code, sa := range fn.Automation.Stages {
			if sa == nil {
				continue
			}
			for _, r := range sa.Robots {
				if r != nil && r.Type == "createItem" {
					if t, _ := r.Params["type"].(string); !known(t) {
						ps.add(r.at, where+", robot "+r.ID, "type: no process has the code %q (stage %s)", t, code)
					}
				}
			}
			for _, t := range sa.Triggers {
				if t != nil && t.Type == "childReached" {
					if c, _ := t.Params["type"].(string); !known(c) {
						ps.add(t.at, where+", trigger "+t.ID, "type: no process has the code %q (stage %s)", c, code)
					}
				}
			}
		}
	}
	if cur == nil {
		return
	}
	match := matchFunnels(want.Funnels, cur.Funnels)
	for _, fn := range want.Funnels {
		old := match[fn]
		if old == nil {
			continue
		}
		have := map[string]*Stage{}
		for _, s := range old.Stages {
			have[s.Code] = s
		}
		for _, s := range fn.Stages {
			if o := have[s.Code]; o != nil && o.Semantics != s.Semantics {
				ps.add(s.at, where+", funnel "+fn.Code+", stage "+s.Code,
					"a stage's meaning is fixed (%s on the server): give the stage a new code", orDefault(o.Semantics, "in progress"))
			}
		}
	}
}

// weigh counts the items each change that loses data touches, names where a deleted
// stage's items go, and refuses those changes without Prune.
func (s *Service) weigh(ctx context.Context, actor access.Actor, plan *Plan, ps *problems) {
	for i := range plan.Changes {
		c := &plan.Changes[i]
		code, rest, _ := strings.Cut(c.Path, ".")
		switch {
		case c.Kind == "field" && (c.Action == "delete" || c.Action == "replace"):
			t := plan.st.types[code]
			n, err := s.countFilled(ctx, actor, t, rest)
			if err != nil {
				ps.add(pos{}, c.Path, "counting the items that hold the field: %v", err)
				continue
			}
			c.Items, c.Destructive = n, n > 0
		case c.Kind == "item" && c.Action == "delete":
			fieldKey, itemKey, _ := strings.Cut(rest, ".")
			n, err := s.countChosen(ctx, actor, plan.st.types[code], fieldKey, itemKey)
			if err != nil {
				ps.add(pos{}, c.Path, "counting the items that chose it: %v", err)
				continue
			}
			c.Items, c.Destructive = n, n > 0
		case c.Kind == "stage" && c.Action == "delete":
			parts := strings.Split(c.Path, "/")
			t := plan.st.types[parts[0]]
			n, err := s.countInStage(ctx, actor, t, plan.st.procs[parts[0]], parts[1], parts[2])
			if err != nil {
				ps.add(pos{}, c.Path, "counting the items in the stage: %v", err)
				continue
			}
			c.Items, c.Destructive = n, n > 0
			if n > 0 {
				c.MoveTo = itemsTarget(plan.raw[parts[0]], parts[1], parts[2], plan.st.procs[parts[0]])
				if c.MoveTo == "" {
					ps.add(pos{}, c.Path, "%d item(s) are in the stage: name a stage of the funnel to take them (itemsFrom: [%s])", n, parts[2])
				}
			}
		case c.Kind == "funnel" && c.Action == "delete":
			parts := strings.Split(c.Path, "/")
			if n, err := s.countInFunnel(ctx, actor, plan.st.types[parts[0]], plan.st.procs[parts[0]], parts[1]); err == nil && n > 0 {
				ps.add(pos{}, c.Path, "%d item(s) are in the funnel: move them to another funnel first", n)
			}
		}
		if c.Destructive && !plan.prune {
			ps.add(pos{}, c.Path, "%s %s would lose the data of %d item(s): refused without --prune", c.Action, c.Kind, c.Items)
		}
	}
}

// itemsTarget finds the stage of the file's funnel whose itemsFrom names a deleted
// stage of the server's funnel fcode (the default funnels match whatever their codes).
func itemsTarget(p *Process, fcode, stage string, cur *Process) string {
	if p == nil {
		return ""
	}
	curDefault := false
	for _, f := range cur.Funnels {
		curDefault = curDefault || (f.Code == fcode && f.Default)
	}
	for _, fn := range p.Funnels {
		if fn != nil && (fn.Code == fcode || curDefault && fn.Default) {
			return itemsTargetIn(fn, stage)
		}
	}
	return ""
}

// countFilled counts the items whose field with key holds a value.
func (s *Service) countFilled(ctx context.Context, actor access.Actor, t *crm.Type, key string) (int, error) {
	f, ok := t.FieldByName(t.UFPrefix() + key)
	if !ok || t.QueryField(f) == nil {
		return 0, nil
	}
	return s.count(ctx, actor, t, query.Cond{Field: t.QueryField(f), Op: field.OpNotEq, Value: nil})
}

// countChosen counts the items whose enumeration field with key holds the item key.
func (s *Service) countChosen(ctx context.Context, actor access.Actor, t *crm.Type, key, item string) (int, error) {
	f, ok := t.FieldByName(t.UFPrefix() + key)
	if !ok || f.UserField() == nil || t.QueryField(f) == nil {
		return 0, nil
	}
	for _, e := range f.UserField().Enums {
		if e.XMLID != item {
			continue
		}
		cond := query.Cond{Field: t.QueryField(f), Op: field.OpEq, Value: e.ID}
		if f.Multiple {
			cond.Op, cond.Value = field.OpContainsAny, []any{e.ID}
		}
		return s.count(ctx, actor, t, cond)
	}
	return 0, nil
}

func (s *Service) countInStage(ctx context.Context, actor access.Actor, t *crm.Type, cur *Process, fcode, stage string) (int, error) {
	c := categoryByCode(t, fcode)
	if c == nil {
		return 0, nil
	}
	return s.count(ctx, actor, t,
		query.Cond{Field: t.QueryField(mustField(t, crm.FieldCategoryID)), Op: field.OpEq, Value: c.ID},
		query.Cond{Field: t.QueryField(mustField(t, crm.FieldStageID)), Op: field.OpEq, Value: t.StagePrefix(c.ID) + ":" + stage})
}

func (s *Service) countInFunnel(ctx context.Context, actor access.Actor, t *crm.Type, cur *Process, fcode string) (int, error) {
	c := categoryByCode(t, fcode)
	if c == nil {
		return 0, nil
	}
	return s.count(ctx, actor, t, query.Cond{Field: t.QueryField(mustField(t, crm.FieldCategoryID)), Op: field.OpEq, Value: c.ID})
}

func mustField(t *crm.Type, name crm.FieldName) *crm.Field {
	f, _ := t.FieldByName(string(name))
	return f
}

func (s *Service) count(ctx context.Context, actor access.Actor, t *crm.Type, conds ...query.Expr) (int, error) {
	_, list, err := s.crm.ListItems(ctx, actor, t.EntityTypeID, crm.ItemQuery{Where: query.Group{Items: conds}, Limit: 1})
	if err != nil {
		return 0, err
	}
	return list.Total, nil
}

// categoryByCode finds a type's funnel by the code export gives it.
func categoryByCode(t *crm.Type, code string) *crm.Category {
	for _, c := range t.Categories() {
		if funnelCode(c) == code {
			return c
		}
	}
	return nil
}
