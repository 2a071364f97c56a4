package processdef

import (
	"strconv"

	"smartcrm/internal/automation"
	"smartcrm/internal/cardlayout"
	"smartcrm/internal/crm"
)

// applyAutomation sets the automation of every funnel whose document differs.
func (a *applier) applyAutomation(want, cur *Process) error {
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	curByCode := map[string]*Funnel{}
	if cur != nil {
		for fn, c := range matchFunnels(want.Funnels, cur.Funnels) {
			curByCode[fn.Code] = c
		}
	}
	pairs := a.funnelPairs(t, want.Funnels)
	for _, fn := range want.Funnels {
		var before *Automation
		if c := curByCode[fn.Code]; c != nil {
			before = c.Automation
		}
		if jsonText(before) == jsonText(fn.Automation) {
			continue
		}
		if a.s.auto == nil {
			return crm.NewError(crm.ErrNotSupported, "automation is not available here")
		}
		c := pairs[fn]
		doc, err := a.s.auto.GetIn(a.u, t.EntityTypeID, c.ID)
		if err != nil {
			return err
		}
		doc.Stages = map[string]*automation.StageAutomation{}
		if fn.Automation != nil {
			for code, sa := range fn.Automation.Stages {
				doc.Stages[t.StagePrefix(c.ID)+":"+code] = a.stageToServer(t, c, sa)
			}
		}
		if len(a.ps.list) > 0 {
			continue
		}
		if _, err := a.s.auto.SetIn(a.u, doc); err != nil {
			inv, ok := err.(*automation.InvalidError)
			if !ok {
				return err
			}
			for _, p := range inv.Problems {
				p.Stage = stageCode(p.Stage)
				p.Message = a.reg.toFile(t.EntityTypeID, p.Message)
				a.ps.add(fn.at, "process "+want.Code+", funnel "+fn.Code+", automation", "%s", p.String())
			}
		}
	}
	return nil
}

// stageToServer writes a stage's robots and triggers with the server's ids.
func (a *applier) stageToServer(t *crm.Type, c *crm.Category, sa *StageAutomation) *automation.StageAutomation {
	out := &automation.StageAutomation{Robots: []*automation.Robot{}, Triggers: []*automation.Trigger{}}
	where := "process " + a.reg.codeFor(t.EntityTypeID)
	name := func(at pos, s string) string {
		v, err := a.reg.toServer(t.EntityTypeID, s)
		if err != nil {
			a.ps.add(at, where, "%v", err)
		}
		return v
	}
	for _, r := range sa.Robots {
		sr := &automation.Robot{ID: r.ID, Type: r.Type, Title: r.Title, Condition: name(r.at, r.Condition), Parallel: r.Parallel,
			Params: a.paramsToServer(r.at, r.Type, r.Params, t, c)}
		if d := r.Delay; d != nil {
			sr.Delay = &automation.Delay{After: d.After, Field: name(r.at, d.Field), Offset: d.Offset, WorkingHours: d.WorkingHours}
		}
		out.Robots = append(out.Robots, sr)
	}
	for _, tr := range sa.Triggers {
		out.Triggers = append(out.Triggers, &automation.Trigger{ID: tr.ID, Type: tr.Type, Condition: name(tr.at, tr.Condition),
			AllowBackwards: tr.AllowBackwards, Params: a.paramsToServer(tr.at, tr.Type, tr.Params, t, c)})
	}
	return out
}

// paramsToServer is paramsToFile's inverse.
func (a *applier) paramsToServer(at pos, kind string, p map[string]any, t *crm.Type, c *crm.Category) map[string]any {
	out := map[string]any{}
	target := t.EntityTypeID
	codeParam := kind == automation.RobotCreateItem || kind == automation.TriggerChildReached
	if code, ok := p["type"].(string); ok && codeParam {
		target = a.reg.etidOf[code]
	}
	name := func(etid int64) func(string) string {
		return func(s string) string {
			v, err := a.reg.toServer(etid, s)
			if err != nil {
				a.ps.add(at, "process "+a.reg.codeFor(t.EntityTypeID), "%v", err)
			}
			return v
		}
	}
	for k, v := range p {
		switch {
		case k == "type" && codeParam:
			out["entityTypeId"] = target
		case k == "stageId" && kind == automation.RobotStage:
			s, _ := v.(string)
			out[k] = t.StagePrefix(c.ID) + ":" + s
		case k == "fields" && kind == automation.RobotCreateItem:
			out[k] = a.reg.enumChoices(target, walkNames(v, name(target)), false)
		case k == "fields" && kind == automation.RobotFields:
			out[k] = a.reg.enumChoices(t.EntityTypeID, walkNames(v, name(t.EntityTypeID)), false)
		default:
			out[k] = walkNames(v, name(t.EntityTypeID))
		}
	}
	return out
}

// applyLayout sets the common card layout when it differs.
func (a *applier) applyLayout(want, cur *Process) error {
	if cur != nil && jsonText(layoutOf(want)) == jsonText(layoutOf(cur)) {
		return nil
	}
	if cur == nil && want.Layout == nil {
		return nil
	}
	t, err := a.typeOf(want.Code)
	if err != nil {
		return err
	}
	var secs []cardlayout.Section
	for _, sec := range want.Layout {
		cs := cardlayout.Section{Name: sec.Name, Title: sec.Title, Options: map[crm.FieldName]cardlayout.ElementOptions{}}
		always := map[string]bool{}
		for _, n := range sec.AlwaysShow {
			always[n] = true
		}
		for _, n := range sec.Fields {
			name, err := a.reg.toServer(t.EntityTypeID, n)
			if err != nil {
				return crm.NewError(crm.ErrInvalidArg, "layout: %v", err)
			}
			cs.Fields = append(cs.Fields, crm.FieldName(name))
			if always[n] {
				cs.Options[crm.FieldName(name)] = cardlayout.ElementOptions{Flags: 1}
			}
		}
		secs = append(secs, cs)
	}
	return cardlayout.SetCommonIn(a.u, t.EntityTypeID, secs)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
