package automation

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"smartcrm/internal/change"
	"smartcrm/internal/crm"
	"smartcrm/internal/jsonx"
	"smartcrm/internal/store"
)

// Run statuses.
const (
	StatusQueued    = "queued"    // due now or at its scheduled time
	StatusWaiting   = "waiting"   // for the robot before it, or (a wait robot) for its condition
	StatusRunning   = "running"   // talking to the world (an e-mail, a webhook)
	StatusDone      = "done"      // its effect happened
	StatusSkipped   = "skipped"   // its condition was false
	StatusFailed    = "failed"    // a permanent error, or retries ran out
	StatusCancelled = "cancelled" // the item left the stage or was deleted, or a person cancelled it
)

// open reports whether a run may still do its work.
func open(status string) bool {
	return status == StatusQueued || status == StatusWaiting || status == StatusRunning
}

// ItemChanged is crm's write path telling automation about an item change, inside the
// change's transaction: entering a stage records the runs of its robots; leaving it,
// or deletion, cancels the runs that have not started; any other change may be what a
// waiting robot waits for.
func (s *Service) ItemChanged(u *crm.Unit, e *crm.ItemEvent) error {
	t := e.Type
	if !supports(t) {
		return nil
	}
	it := e.After
	switch {
	case e.Kind == change.Deleted:
		_, err := u.Tx().CancelOpenRuns(u.Ctx(), t.EntityTypeID, it.ID, "the item was deleted", s.now())
		return err
	case e.Before == nil:
		return s.enter(u, t, it)
	case e.Before.StageID() != it.StageID() || e.Before.CategoryID() != it.CategoryID():
		if _, err := u.Tx().CancelOpenRuns(u.Ctx(), t.EntityTypeID, it.ID, "the item left the stage", s.now()); err != nil {
			return err
		}
		return s.enter(u, t, it)
	}
	return s.recheckWaits(u, t, it)
}

// enter records the runs of the robots of the stage an item entered. Each robot that
// waits for the one before it is recorded as waiting; the others are queued at the time
// their delay says.
func (s *Service) enter(u *crm.Unit, t *crm.Type, it *crm.Item) error {
	if it.StageID() == "" {
		return nil
	}
	doc, err := s.documentIn(u, t.EntityTypeID, it.CategoryID())
	if err != nil {
		return err
	}
	sa := doc.Stages[it.StageID()]
	if sa == nil || len(sa.Robots) == 0 {
		return nil
	}
	actor := u.Actor()
	if actor.Depth >= MaxDepth {
		return s.note(u, crm.Owner{EntityTypeID: t.EntityTypeID, ID: it.ID}, jsonx.Map{
			{K: "event", V: "loopCut"}, {K: "stageId", V: it.StageID()}, {K: "depth", V: int64(actor.Depth)},
		}, fmt.Sprintf("Automation stopped: %d automated steps in a row led here, which looks like a loop; the robots of this stage did not run", actor.Depth))
	}
	var prev int64
	for i, r := range sa.Robots {
		snapshot, err := json.Marshal(r)
		if err != nil {
			return err
		}
		now := s.now()
		run := &store.AutomationRun{
			EntityTypeID: t.EntityTypeID, ItemID: it.ID, CategoryID: it.CategoryID(), StageID: it.StageID(),
			EntryVersion: it.Version, RobotID: r.ID, RobotType: r.Type, Position: int64(i), Status: StatusWaiting,
			Robot: string(snapshot), UserID: actor.UserID, Depth: int64(actor.Depth + 1), CreatedTime: now,
		}
		if i > 0 && !r.Parallel {
			run.AfterRunID = prev
		} else {
			run.Status, run.ScheduledTime = StatusQueued, s.dueTime(r.Delay, t, it, now)
		}
		if err := u.Tx().InsertRun(u.Ctx(), run); err != nil {
			return err
		}
		prev = run.ID
		if run.Status == StatusQueued {
			if err := s.enqueue(u, run, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// schedule queues a run that may start: now, or when its delay ends. The job is
// inserted in the unit's transaction, so it exists exactly when the unit commits.
func (s *Service) schedule(u *crm.Unit, run *store.AutomationRun, r *Robot, t *crm.Type, it *crm.Item) error {
	now := s.now()
	run.Status = StatusQueued
	run.ScheduledTime = s.dueTime(r.Delay, t, it, now)
	if err := u.Tx().UpdateRun(u.Ctx(), run); err != nil {
		return err
	}
	return s.enqueue(u, run, now)
}

// enqueue inserts a queued run's job in the unit's transaction: it exists exactly when
// the unit commits.
func (s *Service) enqueue(u *crm.Unit, run *store.AutomationRun, now time.Time) error {
	opts := &river.InsertOpts{}
	if run.ScheduledTime.After(now) {
		opts.ScheduledAt = run.ScheduledTime
	}
	_, err := s.river.InsertTx(u.Ctx(), u.Tx().JobTx(), RunArgs{RunID: run.ID}, opts)
	return err
}

// startAfter queues the runs that waited for run to finish; t and it are the item as
// it is now.
func (s *Service) startAfter(u *crm.Unit, run *store.AutomationRun, t *crm.Type, it *crm.Item) error {
	next, err := u.Tx().Runs(u.Ctx(), whereRuns(runFilter{afterRunID: run.ID, status: StatusWaiting}), 100, true)
	if err != nil {
		return err
	}
	for _, n := range next {
		r, err := robotOf(n)
		if err != nil {
			return err
		}
		if err := s.schedule(u, n, r, t, it); err != nil {
			return err
		}
	}
	return nil
}

// recheckWaits lets a wait robot that is waiting go on when the change satisfied its
// condition: it is done in the transaction of the change, and the robots after it
// start.
func (s *Service) recheckWaits(u *crm.Unit, t *crm.Type, it *crm.Item) error {
	if !s.mayWait(t.EntityTypeID) {
		return nil
	}
	runs, err := u.Tx().Runs(u.Ctx(), whereRuns(runFilter{etid: t.EntityTypeID, itemID: it.ID, status: StatusWaiting, robotType: RobotWait}), 100, true)
	if err != nil {
		return err
	}
	for _, run := range runs {
		if run.StartedTime.IsZero() {
			continue // still waiting for the robot before it
		}
		r, err := robotOf(run)
		if err != nil {
			return err
		}
		ok, err := waitRobot{}.satisfied(t, it, r)
		if err != nil || !ok {
			continue // a condition that fails to evaluate is retried at the timeout
		}
		if err := s.finish(u, run, r, StatusDone, map[string]any{"satisfied": true}, ""); err != nil {
			return err
		}
	}
	return nil
}

// robotOf reads the robot a run recorded at the entry.
func robotOf(run *store.AutomationRun) (*Robot, error) {
	r := &Robot{}
	if err := json.Unmarshal([]byte(run.Robot), r); err != nil {
		return nil, fmt.Errorf("run %d: the robot does not decode: %w", run.ID, err)
	}
	if r.Params == nil {
		r.Params = map[string]any{}
	}
	return r, nil
}
