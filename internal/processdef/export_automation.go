package processdef

import (
	"encoding/json"
	"strconv"

	"smartcrm/internal/automation"
	"smartcrm/internal/crm"
)

// automationToFile writes a funnel's automation document with stage codes and names
// without ids; nil when it has no robots or triggers.
func automationToFile(doc *automation.Document, t *crm.Type, reg *registry) *Automation {
	out := &Automation{Stages: map[string]*StageAutomation{}}
	for statusID, sa := range doc.Stages {
		if sa == nil || len(sa.Robots)+len(sa.Triggers) == 0 {
			continue
		}
		fsa := &StageAutomation{}
		for _, r := range sa.Robots {
			fr := &Robot{ID: r.ID, Type: r.Type, Title: r.Title, Condition: reg.toFile(t.EntityTypeID, r.Condition), Parallel: r.Parallel,
				Params: paramsToFile(r.Type, r.Params, t.EntityTypeID, reg)}
			if d := r.Delay; d != nil {
				fr.Delay = &Delay{After: d.After, Field: reg.toFile(t.EntityTypeID, d.Field), Offset: d.Offset, WorkingHours: d.WorkingHours}
			}
			fsa.Robots = append(fsa.Robots, fr)
		}
		for _, tr := range sa.Triggers {
			fsa.Triggers = append(fsa.Triggers, &Trigger{ID: tr.ID, Type: tr.Type, Condition: reg.toFile(t.EntityTypeID, tr.Condition),
				AllowBackwards: tr.AllowBackwards, Params: paramsToFile(tr.Type, tr.Params, t.EntityTypeID, reg)})
		}
		out.Stages[stageCode(statusID)] = fsa
	}
	if len(out.Stages) == 0 {
		return nil
	}
	return out
}

// paramsToFile writes a robot's or trigger's params without ids: entityTypeId becomes
// type (a code), a stage its code, field names lose their type's number (those of the
// item a createItem robot creates, that item's type's).
func paramsToFile(kind string, p map[string]any, etid int64, reg *registry) map[string]any {
	if len(p) == 0 {
		return nil
	}
	out := map[string]any{}
	target := etid
	if n, ok := intOf(p["entityTypeId"]); ok {
		target = n
	}
	for k, v := range p {
		switch {
		case k == "entityTypeId":
			out["type"] = reg.codeFor(target)
		case k == "stageId" && kind == automation.RobotStage:
			s, _ := v.(string)
			out[k] = stageCode(s)
		case k == "fields" && kind == automation.RobotCreateItem:
			out[k] = walkNames(reg.enumChoices(target, v, true), func(s string) string { return reg.toFile(target, s) })
		case k == "fields" && kind == automation.RobotFields:
			out[k] = walkNames(reg.enumChoices(etid, v, true), func(s string) string { return reg.toFile(etid, s) })
		default:
			out[k] = walkNames(v, func(s string) string { return reg.toFile(etid, s) })
		}
	}
	return canonicalJSON(out).(map[string]any)
}

// walkNames rewrites every text and map key of a free-form value.
func walkNames(v any, fn func(string) string) any {
	switch x := v.(type) {
	case string:
		return fn(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fn(k)] = walkNames(e, fn)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = walkNames(e, fn)
		}
		return out
	}
	return v
}

func intOf(v any) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return int64(x), x == float64(int64(x))
	case int64:
		return x, true
	case int:
		return int64(x), true
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		n, err := strconv.ParseInt(x, 10, 64)
		return n, err == nil
	}
	return 0, false
}
