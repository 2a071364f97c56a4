package access

// Origin says what kind of caller made a change, so that automation can tell a person's
// move from a robot's and cut loops, and outbound events can say who acted.
type Origin int

// Origins of a change.
const (
	OriginPerson   Origin = iota // a person in the UI
	OriginWebhook                // an inbound webhook or an application's REST call
	OriginRobot                  // a robot acting for the item's funnel
	OriginTrigger                // a trigger moving an item
	OriginWorkflow               // a business process
	OriginSystem                 // the server itself (bootstrap, migrations, cleanup)
)

var originNames = [...]string{"person", "webhook", "robot", "trigger", "workflow", "system"}

// String names the origin as the outbox and the run history spell it.
func (o Origin) String() string {
	if o < 0 || int(o) >= len(originNames) {
		return "unknown"
	}
	return originNames[o]
}

// Actor is who makes a call: the user behind a webhook or a browser session, a robot
// acting for a user, or the system itself. Every read and write of the domain takes one.
type Actor struct {
	UserID  int64
	IsAdmin bool
	Origin  Origin
	// Depth counts the automated steps that led to this call: a person's change is 0,
	// the robot it sets off acts at 1, that robot's stage move sets off robots at 2…
	// Automation refuses to go on past a fixed depth, so loops end.
	Depth int
	// AppID is the application making the call: the inbound webhook it came through
	// (0 for people, robots and the system). Subscriptions belong to it.
	AppID int64
	// Connector names the integration a call says it comes from (a two-way sync):
	// offline event queues of that connector do not record the changes it makes, so
	// they are not echoed back to it.
	Connector string
}

// System is the server acting on its own behalf, as the administrator.
var System = Actor{UserID: 1, IsAdmin: true, Origin: OriginSystem}

// Caused returns the actor for a change that this actor's change set off automatically.
func (a Actor) Caused(origin Origin) Actor {
	return Actor{UserID: a.UserID, IsAdmin: a.IsAdmin, Origin: origin, Depth: a.Depth + 1}
}
