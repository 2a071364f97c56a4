package automation

import (
	"context"
	"errors"
	"sort"

	"smartcrm/internal/access"
	"smartcrm/internal/crm"
	"smartcrm/internal/store"
)

// robotKind is a type of robot: it checks its parameters when the document is saved,
// and does its work when a run comes due. Internal robots change CRM data: their effect
// commits in the transaction that marks the run done, so it happens once. External
// robots talk to the world (SMTP, HTTP) before the run is marked done; a call whose
// success was recorded is not made again.
type robotKind interface {
	check(c *checker, p map[string]any)
}

type internalRobot interface {
	robotKind
	apply(rc *runCtx, u *crm.Unit) (result map[string]any, err error)
}

type externalRobot interface {
	robotKind
	call(ctx context.Context, rc *runCtx) (result map[string]any, err error)
}

// awaitingRobot is an external robot whose run, once its call succeeded, may wait for
// an answer from outside (an application robot's bizproc.event.send).
type awaitingRobot interface {
	awaits(rc *runCtx) bool
}

// Robot types.
const (
	RobotEmail       = "email"
	RobotTask        = "task"
	RobotResponsible = "responsible"
	RobotWebhook     = "webhook"
	RobotStage       = "stage"
	RobotFields      = "fields"
	RobotComment     = "comment"
	RobotCreateItem  = "createItem"
	RobotWait        = "wait"
)

var robotKinds = map[string]robotKind{
	RobotEmail:       emailRobot{},
	RobotTask:        taskRobot{},
	RobotResponsible: responsibleRobot{},
	RobotWebhook:     webhookRobot{},
	RobotStage:       stageRobot{},
	RobotFields:      fieldsRobot{},
	RobotComment:     commentRobot{},
	RobotCreateItem:  createItemRobot{},
	RobotWait:        waitRobot{},
	RobotApp:         appRobot{},
}

func robotTypeNames() []string {
	out := make([]string, 0, len(robotKinds))
	for name := range robotKinds {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// runCtx is what a robot works with: its run, the item as it is now, and the means to
// fill placeholders and act.
type runCtx struct {
	s     *Service
	run   *store.AutomationRun
	robot *Robot
	t     *crm.Type
	it    *crm.Item
	r     *renderer
	// actor is who the robot acts as: the person whose change started it, as a robot,
	// one automated step further.
	actor access.Actor
	// app is the registered robot an app robot calls, once its call has read it.
	app *AppRobotDef
}

func (rc *runCtx) owner() crm.Owner { return crm.Owner{EntityTypeID: rc.t.EntityTypeID, ID: rc.it.ID} }

// permanentError is a failure retrying cannot mend: a 4xx answer, a refused address.
// Other errors are retried with backoff.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return &permanentError{err} }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
