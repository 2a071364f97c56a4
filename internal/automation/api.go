package automation

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// Limits of one document: an editor shows a stage's robots on one screen, and a
// process file is read by people.
const (
	maxRobotsPerStage   = 100
	maxTriggersPerStage = 100
)

// errNotEnabled answers for a type whose automation is off.
const errNotEnabled = "Automation is not enabled for %s: set isAutomationEnabled on the type"

// funnel finds the type and funnel a document is for, checking that the type runs
// automation.
func (s *Service) funnel(ctx context.Context, actor access.Actor, etid, cat int64) (*crm.Type, error) {
	t, err := s.crm.ItemType(ctx, actor, etid)
	if err != nil {
		return nil, err
	}
	return automated(t, cat)
}

// automated checks that a type runs automation and has the funnel.
func automated(t *crm.Type, cat int64) (*crm.Type, error) {
	if !supports(t) {
		return nil, crm.NewError(crm.ErrNotSupported, errNotEnabled, t.Title)
	}
	if t.Category(cat) == nil {
		return nil, crm.NewError(crm.ErrInvalidArg, "%s has no pipeline %d", t.Title, cat)
	}
	return t, nil
}

// Get reads a funnel's automation: version 0 and no stages when none was saved.
func (s *Service) Get(ctx context.Context, actor access.Actor, etid, cat int64) (*Document, error) {
	if _, err := s.funnel(ctx, actor, etid, cat); err != nil {
		return nil, err
	}
	rec, err := s.st.AutomationDocument(ctx, etid, cat)
	if errors.Is(err, store.ErrNotFound) {
		return &Document{EntityTypeID: etid, CategoryID: cat, Stages: map[string]*StageAutomation{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeDocument(rec)
}

func decodeDocument(rec *store.AutomationDocument) (*Document, error) {
	doc := &Document{}
	if err := json.Unmarshal([]byte(rec.Document), doc); err != nil {
		return nil, err
	}
	doc.EntityTypeID, doc.CategoryID, doc.Version = rec.EntityTypeID, rec.CategoryID, rec.Version
	if doc.Stages == nil {
		doc.Stages = map[string]*StageAutomation{}
	}
	return doc, nil
}

// Set replaces a funnel's automation with doc, whose Version is the version the
// caller read (0: none yet). Everything is checked first and every problem reported
// at once (*InvalidError); a stale version is refused (crm.ErrStaleVersion). Nothing is
// written unless all is well. The saved document, at its new version, is returned.
func (s *Service) Set(ctx context.Context, actor access.Actor, doc *Document) (*Document, error) {
	var saved *Document
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) (err error) {
		saved, err = s.SetIn(u, doc)
		return err
	})
	return saved, err
}

// SetIn is Set inside a unit: a process file's apply saves the automation of funnels
// it created or changed in the same transaction, so the document is checked against
// the types as the unit sees them.
func (s *Service) SetIn(u *crm.Unit, doc *Document) (*Document, error) {
	actor := u.Actor()
	if err := s.crm.Allow(actor, access.ActConfigure, access.Resource{Kind: "automation", EntityTypeID: doc.EntityTypeID}); err != nil {
		return nil, err
	}
	t, err := s.funnelIn(u, doc.EntityTypeID, doc.CategoryID)
	if err != nil {
		return nil, err
	}
	if doc.Stages == nil {
		doc.Stages = map[string]*StageAutomation{}
	}
	if err := s.validate(u.Ctx(), t, doc, u.TypeOf); err != nil {
		return nil, err
	}
	body, err := json.Marshal(struct {
		Stages map[string]*StageAutomation `json:"stages"`
	}{doc.Stages})
	if err != nil {
		return nil, err
	}
	saved := *doc
	saved.Version = doc.Version + 1
	err = u.Tx().PutAutomationDocument(u.Ctx(), &store.AutomationDocument{EntityTypeID: doc.EntityTypeID, CategoryID: doc.CategoryID,
		Version: saved.Version, Document: string(body), UpdatedBy: actor.UserID, UpdatedTime: s.now()})
	if errors.Is(err, store.ErrConflict) {
		return nil, crm.NewError(crm.ErrStaleVersion, "The automation was changed since version %d: read it again and reapply your change", doc.Version)
	}
	if err != nil {
		return nil, err
	}
	u.AfterCommit(s.forget)
	return &saved, nil
}

// GetIn reads a funnel's automation inside a unit (version 0 and no stages when none
// was saved), for a process file's apply, which sets it with SetIn.
func (s *Service) GetIn(u *crm.Unit, etid, cat int64) (*Document, error) {
	if _, err := s.funnelIn(u, etid, cat); err != nil {
		return nil, err
	}
	rec, err := u.Tx().AutomationDocument(u.Ctx(), etid, cat)
	if errors.Is(err, store.ErrNotFound) {
		return &Document{EntityTypeID: etid, CategoryID: cat, Stages: map[string]*StageAutomation{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeDocument(rec)
}

// funnelIn is funnel inside a unit, which sees the unit's own registry changes.
func (s *Service) funnelIn(u *crm.Unit, etid, cat int64) (*crm.Type, error) {
	if err := s.crm.Allow(u.Actor(), access.ActRead, access.Resource{EntityTypeID: etid}); err != nil {
		return nil, err
	}
	t, err := u.TypeOf(etid)
	if err != nil {
		return nil, err
	}
	return automated(t, cat)
}

// Validate checks a document against its funnel and reports every problem at once.
func (s *Service) Validate(ctx context.Context, t *crm.Type, doc *Document) error {
	return s.validate(ctx, t, doc, func(etid int64) (*crm.Type, error) { return s.crm.ItemType(ctx, access.System, etid) })
}

// validate is Validate with the reader of the other types a document names (a child
// type, the type a createItem robot creates).
func (s *Service) validate(ctx context.Context, t *crm.Type, doc *Document, typeOf func(int64) (*crm.Type, error)) error {
	users, err := s.users(ctx)
	if err != nil {
		return err
	}
	active := map[int64]bool{}
	for _, u := range users {
		if u.Active {
			active[u.ID] = true
		}
	}
	apps, err := s.st.AppTriggers(ctx)
	if err != nil {
		return err
	}
	codes := map[string]bool{}
	for _, a := range apps {
		codes[a.Code] = true
	}
	robots, err := s.st.AppRobots(ctx)
	if err != nil {
		return err
	}
	appRobots := map[string]*AppRobotDef{}
	for _, rec := range robots {
		if d, err := decodeAppRobot(rec); err == nil {
			appRobots[rec.Code] = d
		}
	}
	types := map[int64]*crm.Type{}
	c := &checker{t: t, category: doc.CategoryID, appCodes: codes, appRobots: appRobots,
		userOK: func(id int64) bool { return active[id] },
		typeOf: func(etid int64) *crm.Type {
			if tt, seen := types[etid]; seen {
				return tt
			}
			tt, err := typeOf(etid)
			if err != nil {
				tt = nil
			}
			types[etid] = tt
			return tt
		}}
	for stage, sa := range doc.Stages {
		if sa != nil && (len(sa.Robots) > maxRobotsPerStage || len(sa.Triggers) > maxTriggersPerStage) {
			c.stage = stage
			c.add("", "a stage holds at most %d robots and %d triggers", maxRobotsPerStage, maxTriggersPerStage)
			return &InvalidError{Problems: c.problems}
		}
	}
	c.check(doc)
	if len(c.problems) > 0 {
		return &InvalidError{Problems: c.problems}
	}
	return nil
}

// Run is a robot's run as people see it.
type Run struct {
	ID           int64
	EntityTypeID int64
	ItemID       int64
	CategoryID   int64
	StageID      string
	RobotID      string
	RobotType    string
	Title        string
	Status       string
	Attempts     int64
	Error        string
	Result       json.RawMessage // nil when none
	Depth        int64
	// Zero times are unset.
	CreatedTime, ScheduledTime, StartedTime, FinishedTime time.Time
}

func runOf(r *store.AutomationRun) *Run {
	out := &Run{ID: r.ID, EntityTypeID: r.EntityTypeID, ItemID: r.ItemID, CategoryID: r.CategoryID, StageID: r.StageID,
		RobotID: r.RobotID, RobotType: r.RobotType, Status: r.Status, Attempts: r.Attempts, Error: r.Error, Depth: r.Depth,
		CreatedTime: r.CreatedTime, ScheduledTime: r.ScheduledTime, StartedTime: r.StartedTime, FinishedTime: r.FinishedTime}
	if r.Result != "" {
		out.Result = json.RawMessage(r.Result)
	}
	if robot, err := robotOf(r); err == nil {
		out.Title = robot.Title
	}
	return out
}

// RunQuery selects runs: of a type, of an item, in a status; Before is the keyset
// cursor (the id of the last run of the previous page).
type RunQuery struct {
	EntityTypeID, ItemID int64
	Status               string
	Before               int64
	Limit                int
}

// MaxRunsPage bounds one page of runs.
const MaxRunsPage = 50

// Runs lists runs newest first; next is the cursor of the following page, 0 at the end.
func (s *Service) Runs(ctx context.Context, actor access.Actor, q RunQuery) (runs []*Run, next int64, err error) {
	if err := s.crm.Allow(actor, access.ActRead, access.Resource{EntityTypeID: q.EntityTypeID}); err != nil {
		return nil, 0, err
	}
	if q.ItemID != 0 && q.EntityTypeID == 0 {
		return nil, 0, crm.NewError(crm.ErrMissingParam, "id names an item of entityTypeId: give both")
	}
	switch q.Status {
	case "", StatusQueued, StatusWaiting, StatusRunning, StatusDone, StatusSkipped, StatusFailed, StatusCancelled:
	default:
		return nil, 0, crm.NewError(crm.ErrInvalidArg, "status %q is not one of queued, waiting, running, done, skipped, failed, cancelled", q.Status)
	}
	if q.Limit <= 0 || q.Limit > MaxRunsPage {
		q.Limit = MaxRunsPage
	}
	recs, err := s.st.Runs(ctx, whereRuns(runFilter{etid: q.EntityTypeID, itemID: q.ItemID, status: q.Status, before: q.Before}), q.Limit+1, false)
	if err != nil {
		return nil, 0, err
	}
	if len(recs) > q.Limit {
		recs = recs[:q.Limit]
		next = recs[len(recs)-1].ID
	}
	runs = make([]*Run, len(recs))
	for i, r := range recs {
		runs[i] = runOf(r)
	}
	return runs, next, nil
}

// Retry runs a failed or cancelled run again, now, while its item is still in the
// stage it ran for.
func (s *Service) Retry(ctx context.Context, actor access.Actor, id int64) (*Run, error) {
	var out *Run
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		run, err := s.lockForChange(u, id)
		if err != nil {
			return err
		}
		if run.Status != StatusFailed && run.Status != StatusCancelled {
			return crm.NewError(crm.ErrInvalidArg, "Run %d is %s: only failed and cancelled runs are retried", id, run.Status)
		}
		t, err := u.TypeOf(run.EntityTypeID)
		if err != nil {
			return err
		}
		it, err := u.LoadItem(t, run.ItemID)
		if err != nil {
			return err
		}
		if it.StageID() != run.StageID {
			return crm.NewError(crm.ErrInvalidArg, "Run %d was for stage %s, and the item is now in %s", id, run.StageID, it.StageID())
		}
		run.Error, run.Attempts, run.StartedTime, run.FinishedTime, run.AfterRunID = "", 0, time.Time{}, time.Time{}, 0
		r, err := robotOf(run)
		if err != nil {
			return err
		}
		r.Delay = nil // retried now
		if err := s.schedule(u, run, r, t, it); err != nil {
			return err
		}
		out = runOf(run)
		return nil
	})
	return out, err
}

// Cancel cancels a run that has not started; the robots waiting for it go on.
func (s *Service) Cancel(ctx context.Context, actor access.Actor, id int64) (*Run, error) {
	var out *Run
	err := s.crm.Run(ctx, actor, func(u *crm.Unit) error {
		run, err := s.lockForChange(u, id)
		if err != nil {
			return err
		}
		if run.Status != StatusQueued && run.Status != StatusWaiting {
			return crm.NewError(crm.ErrInvalidArg, "Run %d is %s: only queued and waiting runs are cancelled", id, run.Status)
		}
		r, err := robotOf(run)
		if err != nil {
			return err
		}
		if err := s.finish(u, run, r, StatusCancelled, nil, "cancelled by user "+strconv.FormatInt(actor.UserID, 10)); err != nil {
			return err
		}
		out = runOf(run)
		return nil
	})
	return out, err
}

func (s *Service) lockForChange(u *crm.Unit, id int64) (*store.AutomationRun, error) {
	run, err := u.Tx().LockRun(u.Ctx(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, crm.NewError(crm.ErrItemNotFound, "Run %d does not exist", id)
	}
	if err != nil {
		return nil, err
	}
	if err := s.crm.Allow(u.Actor(), access.ActUpdate, access.Resource{EntityTypeID: run.EntityTypeID, CategoryID: run.CategoryID, StageID: run.StageID}); err != nil {
		return nil, err
	}
	return run, nil
}
