package automation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// runWorker works the queue's jobs: each is one run coming due.
type runWorker struct {
	river.WorkerDefaults[RunArgs]
	s *Service
}

// errFinished stops a unit that found its run no longer open: another worker (or a
// person, or the item leaving the stage) finished it first.
var errFinished = errors.New("the run is no longer open")

func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	s := w.s
	run, err := s.st.Run(ctx, job.Args.RunID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !open(run.Status) {
		return nil
	}
	r, err := robotOf(run)
	if err != nil {
		return s.failNow(ctx, run.ID, err)
	}
	if job.Args.Timeout {
		return s.timeOut(ctx, actorOf(run), run.ID)
	}
	kind, ok := robotKinds[r.Type]
	if !ok {
		return s.failNow(ctx, run.ID, fmt.Errorf("unknown robot type %q", r.Type))
	}
	last := job.Attempt >= job.MaxAttempts
	actor := actorOf(run)
	switch k := kind.(type) {
	case internalRobot:
		err = s.runInternal(ctx, actor, run.ID, k, job.Attempt)
	case externalRobot:
		err = s.runExternal(ctx, actor, run, k, job.Attempt)
	case waitRobot:
		err = s.startWait(ctx, actor, run.ID, job.Attempt)
	}
	if err == nil || errors.Is(err, errFinished) {
		return nil
	}
	if isPermanent(err) || last {
		return s.failNow(ctx, run.ID, err)
	}
	if rerr := s.recordAttempt(ctx, run.ID, job.Attempt, err); rerr != nil {
		s.log.Error("recording a failed attempt", "run", run.ID, "err", rerr)
	}
	return err // the queue tries again after its backoff
}

// actorOf is who a run acts as: the person whose change set it off, as a robot, one
// automated step further. Robots do what the funnel's administrator configured, so
// they act with an administrator's rights.
func actorOf(run *store.AutomationRun) access.Actor {
	return access.Actor{UserID: run.UserID, IsAdmin: true, Origin: access.OriginRobot, Depth: int(run.Depth)}
}

// begin locks an open run in the unit and loads its item. A run whose item is gone or
// left the stage is cancelled; one whose condition is false is skipped: ok is false
// then and the unit should commit.
func (s *Service) begin(u *crm.Unit, id int64) (rc *runCtx, ok bool, err error) {
	run, err := u.Tx().LockRun(u.Ctx(), id)
	if err != nil {
		return nil, false, err
	}
	if !open(run.Status) {
		return nil, false, errFinished
	}
	r, err := robotOf(run)
	if err != nil {
		return nil, false, err
	}
	t, err := u.TypeOf(run.EntityTypeID)
	if crm.KindOf(err) == crm.ErrTypeNotFound {
		return nil, false, s.finish(u, run, r, StatusCancelled, nil, "the type was deleted")
	}
	if err != nil {
		return nil, false, err
	}
	it, err := u.LoadItem(t, run.ItemID)
	if crm.KindOf(err) == crm.ErrItemNotFound {
		return nil, false, s.finish(u, run, r, StatusCancelled, nil, "the item was deleted")
	}
	if err != nil {
		return nil, false, err
	}
	if it.StageID() != run.StageID || it.CategoryID() != run.CategoryID {
		return nil, false, s.finish(u, run, r, StatusCancelled, nil, "the item left the stage")
	}
	rc = &runCtx{s: s, run: run, robot: r, t: t, it: it, actor: u.Actor()}
	rc.r = s.rendererFor(rc, unitSource{u})
	if held, err := holds(t, it, r.Condition); err != nil {
		return nil, false, s.finish(u, run, r, StatusFailed, nil, err.Error())
	} else if !held {
		return nil, false, s.finish(u, run, r, StatusSkipped, nil, "")
	}
	return rc, true, nil
}

// runInternal applies a robot that changes CRM data, in the unit that marks its run
// done: the effect and the record of it commit together or not at all.
func (s *Service) runInternal(ctx context.Context, actor access.Actor, id int64, k internalRobot, attempt int) error {
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		rc, ok, err := s.begin(u, id)
		if !ok {
			return err
		}
		// Running, so that the robot's own stage move, which cancels the stage's open
		// runs, leaves this one to finish.
		rc.run.Status, rc.run.Attempts, rc.run.StartedTime = StatusRunning, int64(attempt), s.now()
		if err := u.Tx().UpdateRun(u.Ctx(), rc.run); err != nil {
			return err
		}
		result, err := k.apply(rc, u)
		if err != nil {
			return classify(err)
		}
		return s.finish(u, rc.run, rc.robot, StatusDone, result, "")
	})
}

// runExternal talks to the world and records the outcome. A crash between the call
// and the record makes the queue try again: the receiver sees the same
// Idempotency-Key (an e-mail, the same Message-ID). A run recorded done is never called
// again.
//
// Most calls take milliseconds, so the run is not written before the call: a call that
// is still going after markRunningAfter is marked running then, so that slow ones show.
// The checks before the call (is the item still in the stage? does the condition
// hold?) read without a transaction; when one fails, the run is ended in a unit that
// checks again.
func (s *Service) runExternal(ctx context.Context, actor access.Actor, queued *store.AutomationRun, k externalRobot, attempt int) error {
	rc := s.precheck(ctx, queued)
	if rc == nil {
		// Something to record first (cancelled, skipped, a condition that fails):
		// begin decides in a unit; a run it lets through is marked running there.
		err := s.crm.Run(ctx, actor, func(u *crm.Unit) error {
			var ok bool
			var err error
			rc, ok, err = s.begin(u, queued.ID)
			if !ok {
				rc = nil
				return err
			}
			return s.markRunning(u, rc.run, attempt)
		})
		if err != nil || rc == nil {
			return err
		}
	}
	started := s.now()
	marked := make(chan struct{})
	timer := time.AfterFunc(markRunningAfter, func() {
		defer close(marked)
		err := s.crm.Run(context.WithoutCancel(ctx), actor, func(u *crm.Unit) error {
			run, err := u.Tx().LockRun(u.Ctx(), queued.ID)
			if err != nil || run.Status != StatusQueued {
				return err
			}
			run.StartedTime = started
			return s.markRunning(u, run, attempt)
		})
		if err != nil {
			s.log.Warn("marking a run running", "run", queued.ID, "err", err)
		}
	})
	rc.r = s.rendererFor(rc, poolSource{c: ctx, s: s})
	result, callErr := k.call(ctx, rc)
	if !timer.Stop() {
		<-marked // the mark is being written: let it finish first
	}
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		run, err := u.Tx().LockRun(u.Ctx(), queued.ID)
		if err != nil {
			return err
		}
		if run.Status != StatusQueued && run.Status != StatusRunning {
			return errFinished // cancelled by a person while the call went on
		}
		run.Attempts = int64(attempt)
		if run.StartedTime.IsZero() {
			run.StartedTime = started
		}
		if callErr == nil {
			if a, ok := k.(awaitingRobot); ok && a.awaits(rc) {
				return s.await(u, run, rc.robot, result)
			}
			return s.finish(u, run, rc.robot, StatusDone, result, "")
		}
		if result != nil {
			b, _ := json.Marshal(result)
			run.Result = string(b)
		}
		if isPermanent(callErr) {
			return s.finish(u, run, rc.robot, StatusFailed, result, callErr.Error())
		}
		// Transient: back to the queue; Work decides between retrying and failing.
		run.Status, run.Error = StatusQueued, callErr.Error()
		run.ScheduledTime = s.retry.next(attempt, s.now())
		return u.Tx().UpdateRun(u.Ctx(), run)
	})
	if err != nil {
		return err
	}
	return callErr
}

// markRunningAfter is how long a call goes on before its run shows as running.
const markRunningAfter = 250 * time.Millisecond

func (s *Service) markRunning(u *crm.Unit, run *store.AutomationRun, attempt int) error {
	run.Status, run.Attempts = StatusRunning, int64(attempt)
	if run.StartedTime.IsZero() {
		run.StartedTime = s.now()
	}
	return u.Tx().UpdateRun(u.Ctx(), run)
}

// precheck reads, without a transaction, what a run needs before its call: nil when
// the item is gone or left the stage, or the condition does not hold — begin then
// records that in a unit.
func (s *Service) precheck(ctx context.Context, run *store.AutomationRun) *runCtx {
	r, err := robotOf(run)
	if err != nil {
		return nil
	}
	t, it, err := s.crm.GetItem(ctx, access.System, run.EntityTypeID, run.ItemID)
	if err != nil || it.StageID() != run.StageID || it.CategoryID() != run.CategoryID {
		return nil
	}
	if ok, err := holds(t, it, r.Condition); err != nil || !ok {
		return nil
	}
	return &runCtx{s: s, run: run, robot: r, t: t, it: it, actor: actorOf(run)}
}

// startWait begins a wait robot's waiting: done at once when the item already
// satisfies the condition; otherwise waiting, re-checked at every change of the item,
// with a job that ends the waiting at the timeout.
func (s *Service) startWait(ctx context.Context, actor access.Actor, id int64, attempt int) error {
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		rc, ok, err := s.begin(u, id)
		if !ok {
			return err
		}
		run := rc.run
		run.Attempts, run.StartedTime = int64(attempt), s.now()
		if done, err := (waitRobot{}).satisfied(rc.t, rc.it, rc.robot); err != nil {
			return s.finish(u, run, rc.robot, StatusFailed, nil, err.Error())
		} else if done {
			return s.finish(u, run, rc.robot, StatusDone, map[string]any{"satisfied": true}, "")
		}
		run.Status = StatusWaiting
		if timeout, _ := rc.robot.Params["timeout"].(string); timeout != "" {
			d, err := parseDuration(timeout)
			if err == nil {
				run.ScheduledTime = s.now().Add(d)
				if _, err := s.river.InsertTx(u.Ctx(), u.Tx().JobTx(), RunArgs{RunID: id, Timeout: true},
					&river.InsertOpts{ScheduledAt: run.ScheduledTime}); err != nil {
					return err
				}
			}
		}
		return u.Tx().UpdateRun(u.Ctx(), run)
	})
}

// timeOut ends a wait robot that is still waiting: it fails, and the chain goes on.
func (s *Service) timeOut(ctx context.Context, actor access.Actor, id int64) error {
	return s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		run, err := u.Tx().LockRun(u.Ctx(), id)
		if err != nil || run.Status != StatusWaiting || run.StartedTime.IsZero() {
			return err
		}
		r, err := robotOf(run)
		if err != nil {
			return err
		}
		why := "the condition did not hold before the timeout"
		if r.Type == RobotApp {
			why = "the application did not answer (bizproc.event.send) before the timeout"
		}
		return s.finish(u, run, r, StatusFailed, nil, why)
	})
}

// failNow fails a run for good.
func (s *Service) failNow(ctx context.Context, id int64, cause error) error {
	err := s.crm.Run(ctx, access.System, func(u *crm.Unit) error {
		run, err := u.Tx().LockRun(u.Ctx(), id)
		if err != nil {
			return err
		}
		if !open(run.Status) {
			return errFinished
		}
		r, err := robotOf(run)
		if err != nil {
			r = &Robot{ID: run.RobotID, Type: run.RobotType}
		}
		return s.finish(u, run, r, StatusFailed, nil, cause.Error())
	})
	if errors.Is(err, errFinished) {
		return nil
	}
	return err
}

// recordAttempt notes a failed attempt that will be retried.
func (s *Service) recordAttempt(ctx context.Context, id int64, attempt int, cause error) error {
	err := s.crm.Run(ctx, access.System, func(u *crm.Unit) error {
		run, err := u.Tx().LockRun(u.Ctx(), id)
		if err != nil {
			return err
		}
		if !open(run.Status) {
			return errFinished
		}
		run.Status, run.Attempts, run.Error = StatusQueued, int64(attempt), cause.Error()
		run.ScheduledTime = s.retry.next(attempt, s.now())
		return u.Tx().UpdateRun(u.Ctx(), run)
	})
	if errors.Is(err, errFinished) {
		return nil
	}
	return err
}

// classify makes the domain's refusals permanent (a required field a stage move
// lacks will not appear by retrying); a lost race stays transient.
func classify(err error) error {
	switch k := crm.KindOf(err); {
	case k == 0, k == crm.ErrConflict, isPermanent(err):
		return err
	}
	return permanent(err)
}

// source reads what placeholders name: in the unit of an internal robot, from the
// pool for an external one.
type source interface {
	item(etid, id int64) (*crm.Type, *crm.Item, error)
	runs(f runFilter) ([]*store.AutomationRun, error)
	ctx() context.Context
}

type unitSource struct{ u *crm.Unit }

func (us unitSource) item(etid, id int64) (*crm.Type, *crm.Item, error) {
	t, err := us.u.TypeOf(etid)
	if err != nil {
		return nil, nil, err
	}
	it, err := us.u.LoadItem(t, id)
	return t, it, err
}

func (us unitSource) runs(f runFilter) ([]*store.AutomationRun, error) {
	return us.u.Tx().Runs(us.u.Ctx(), whereRuns(f), 1, false)
}

func (us unitSource) ctx() context.Context { return us.u.Ctx() }

type poolSource struct {
	c context.Context
	s *Service
}

func (ps poolSource) item(etid, id int64) (*crm.Type, *crm.Item, error) {
	return ps.s.crm.GetItem(ps.c, access.System, etid, id)
}

func (ps poolSource) runs(f runFilter) ([]*store.AutomationRun, error) {
	return ps.s.st.Runs(ps.c, whereRuns(f), 1, false)
}

func (ps poolSource) ctx() context.Context { return ps.c }

// rendererFor fills a run's placeholders from src.
func (s *Service) rendererFor(rc *runCtx, src source) *renderer {
	return &renderer{t: rc.t, it: rc.it, lookup: func(name string) string {
		head, rest, _ := strings.Cut(name, ".")
		switch {
		case name == "url":
			return s.itemURL(rc.t.EntityTypeID, rc.it.ID)
		case name == "stageName":
			if st := rc.t.Stage(rc.it.CategoryID(), rc.it.StageID()); st != nil {
				return st.Name
			}
			return rc.it.StageID()
		case head == "assignedBy":
			u, err := s.user(src.ctx(), rc.it.AssignedByID())
			if err != nil || u == nil {
				return ""
			}
			switch rest {
			case "name":
				return u.Name
			case "lastName":
				return u.LastName
			case "fullName":
				return strings.TrimSpace(u.Name + " " + u.LastName)
			case "email":
				return u.Email
			case "id":
				return strconv.FormatInt(u.ID, 10)
			}
		case strings.HasPrefix(head, "parent"):
			etid, _ := strconv.ParseInt(strings.TrimPrefix(head, "parent"), 10, 64)
			pid := parentID(rc.t, rc.it, etid)
			if pid == 0 {
				return ""
			}
			pt, parent, err := src.item(etid, pid)
			if err != nil {
				return ""
			}
			f, ok := pt.FieldByName(rest)
			if !ok {
				return ""
			}
			if f.Name == crm.FieldID {
				return strconv.FormatInt(parent.ID, 10)
			}
			return text(f, parent.Get(f.Name))
		case head == "robot":
			robotID, key, _ := strings.Cut(rest, ".")
			runs, err := src.runs(runFilter{etid: rc.run.EntityTypeID, itemID: rc.run.ItemID, entryVersion: rc.run.EntryVersion, robotID: robotID})
			if err != nil || len(runs) == 0 || runs[0].Result == "" {
				return ""
			}
			var res map[string]any
			if json.Unmarshal([]byte(runs[0].Result), &res) != nil {
				return ""
			}
			if key == "" {
				return runs[0].Result
			}
			if v, ok := res[key]; ok && v != nil {
				if s, isText := v.(string); isText {
					return s
				}
				b, _ := json.Marshal(v)
				return string(b)
			}
		}
		return ""
	}}
}

// parentID is the id of an item's parent of type etid: a parent link, or the company
// and first contact of a client-enabled type.
func parentID(t *crm.Type, it *crm.Item, etid int64) int64 {
	switch {
	case t.Has(crm.ParentField(etid)):
		id, _ := it.Get(crm.ParentField(etid)).(int64)
		return id
	case etid == 4 && t.Has(crm.FieldCompanyID):
		id, _ := it.Get(crm.FieldCompanyID).(int64)
		return id
	case etid == 3 && t.Has(crm.FieldContactIDs):
		if ids, _ := it.Get(crm.FieldContactIDs).([]int64); len(ids) > 0 {
			return ids[0]
		}
	}
	return 0
}

// itemURL is an item's page in the web UI.
func (s *Service) itemURL(etid, id int64) string {
	base := strings.TrimSuffix(s.publicURL(), "/")
	switch etid {
	case 1:
		return fmt.Sprintf("%s/crm/lead/details/%d/", base, id)
	case 2:
		return fmt.Sprintf("%s/crm/deal/details/%d/", base, id)
	case 3:
		return fmt.Sprintf("%s/crm/contact/details/%d/", base, id)
	case 4:
		return fmt.Sprintf("%s/crm/company/details/%d/", base, id)
	}
	return fmt.Sprintf("%s/crm/type/%d/details/%d/", base, etid, id)
}
