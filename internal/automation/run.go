package automation

import (
	"encoding/json"
	"time"

	"smartcrm/internal/crm"
	"smartcrm/internal/field"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/query"
	"smartcrm/internal/store"
	"smartcrm/internal/timeline"
)

// runFilter selects runs; zero fields select anything.
type runFilter struct {
	etid, itemID, entryVersion, afterRunID, before int64
	status, robotType, robotID                     string
}

var runFields = func() map[string]*query.Field {
	m := map[string]*query.Field{}
	for _, f := range store.RunQueryFields() {
		m[f.Name] = &f
	}
	return m
}()

func whereRuns(f runFilter) query.Group {
	var g query.Group
	eq := func(name string, v any) {
		g.Items = append(g.Items, query.Cond{Field: runFields[name], Op: field.OpEq, Value: v})
	}
	if f.etid != 0 {
		eq("entityTypeId", f.etid)
	}
	if f.itemID != 0 {
		eq("itemId", f.itemID)
	}
	if f.entryVersion != 0 {
		eq("entryVersion", f.entryVersion)
	}
	if f.afterRunID != 0 {
		eq("afterRunId", f.afterRunID)
	}
	if f.status != "" {
		eq("status", f.status)
	}
	if f.robotType != "" {
		eq("robotType", f.robotType)
	}
	if f.robotID != "" {
		eq("robotId", f.robotID)
	}
	if f.before != 0 {
		g.Items = append(g.Items, query.Cond{Field: runFields["id"], Op: field.OpLt, Value: f.before})
	}
	return g
}

// dueTime is when a robot with delay d, starting now, comes due for item it. A delay
// relative to an empty date field, or one already past, is due now.
func (s *Service) dueTime(d *Delay, t *crm.Type, it *crm.Item, now time.Time) time.Time {
	if d == nil {
		return now
	}
	at := now
	if d.After != "" {
		if dur, err := parseDuration(d.After); err == nil {
			at = at.Add(dur)
		}
	}
	if d.Field != "" {
		if f, ok := t.FieldByName(d.Field); ok {
			if v, ok := it.Get(f.Name).(time.Time); ok {
				if off, err := parseDuration(d.Offset); err == nil || d.Offset == "" {
					if v = v.Add(off); v.After(at) {
						at = v
					}
				}
			}
		}
	}
	if d.WorkingHours {
		at = s.opts.Calendar.Next(at)
	}
	return at
}

// finish ends a run in the unit: it records the outcome, puts done, failed and skipped
// runs on the item's timeline, and starts the robots that waited for this one (a
// failed robot does not stop the stage's others, as in Bitrix24).
func (s *Service) finish(u *crm.Unit, run *store.AutomationRun, r *Robot, status string, result map[string]any, errText string) error {
	run.Status, run.Error = status, errText
	run.FinishedTime = s.now()
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			return err
		}
		run.Result = string(b)
	}
	if err := u.Tx().UpdateRun(u.Ctx(), run); err != nil {
		return err
	}
	if run.RobotType == RobotApp {
		// A finished run waits for nothing: its token is good no more.
		if err := u.Tx().DeleteEventTokens(u.Ctx(), run.ID); err != nil {
			return err
		}
	}
	// The item as it is now, read once for the timeline entry and the next robots.
	t, err := u.TypeOf(run.EntityTypeID)
	if crm.KindOf(err) == crm.ErrTypeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	it, err := u.LoadItem(t, run.ItemID)
	if crm.KindOf(err) == crm.ErrItemNotFound {
		return nil // deleted: its runs were cancelled with it, and it has no timeline to write on
	}
	if err != nil {
		return err
	}
	if status != StatusCancelled {
		data := jsonx.Map{{K: "event", V: "run"}, {K: "runId", V: run.ID}, {K: "robotId", V: run.RobotID},
			{K: "robotType", V: run.RobotType}, {K: "title", V: r.Title}, {K: "stageId", V: run.StageID}, {K: "status", V: status}}
		if errText != "" {
			data = append(data, jsonx.KV{K: "error", V: errText})
		}
		if _, err := s.timeline.RecordOn(u, timeline.KindAutomation, t, it, data, nil); err != nil {
			return err
		}
	}
	return s.startAfter(u, run, t, it)
}

// note writes an automation entry on an item's timeline.
func (s *Service) note(u *crm.Unit, o crm.Owner, data jsonx.Map, text string) error {
	var tp *string
	if text != "" {
		tp = &text
	}
	_, err := s.timeline.Record(u, timeline.KindAutomation, o, data, tp)
	if crm.KindOf(err) == crm.ErrOwnerNotFound {
		return nil // the item is gone: nothing to write on
	}
	return err
}
