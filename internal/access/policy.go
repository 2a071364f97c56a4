package access

import "errors"

// Action is what an actor wants to do with a resource.
type Action int

// Actions the policy decides on.
const (
	ActRead   Action = iota
	ActCreate        // add an item, a comment, a task…
	ActUpdate
	ActDelete
	ActConfigure // change a type, its fields, funnels, stages or automation
)

// Resource names what an action is about: an entity type and, where it matters, the
// funnel and stage of the item (roles in a real CRM are granted per type, funnel and
// stage). Zero values mean "any".
type Resource struct {
	EntityTypeID int64
	CategoryID   int64
	StageID      string
	// Kind is the entity kind for what is not an item: "type", "field", "task"…
	Kind string
}

// ErrDenied is what a refusing policy answers; the domain turns it into its
// access-denied error.
var ErrDenied = errors.New("access denied")

// Policy decides whether an actor may act on a resource. The domain asks it at step 2
// of every operation and before every read.
type Policy interface {
	Allow(a Actor, act Action, r Resource) error
}

// AllowAll lets every authenticated actor do everything, except configuration, which
// needs an administrator (as Bitrix24 does for smart-process settings).
type AllowAll struct{}

// Allow implements Policy.
func (AllowAll) Allow(a Actor, act Action, _ Resource) error {
	if act == ActConfigure && !a.IsAdmin {
		return ErrDenied
	}
	return nil
}

// PolicyFunc adapts a function to a Policy (tests install denying policies with it).
type PolicyFunc func(a Actor, act Action, r Resource) error

// Allow implements Policy.
func (f PolicyFunc) Allow(a Actor, act Action, r Resource) error { return f(a, act, r) }
