// Package automation runs robots and triggers, the reason smart processes exist: when
// an item enters a stage its robots run (e-mail, task, webhook, stage or field change,
// comment, new item, responsible by rotation, wait), and triggers move items to their
// stage when something happens (a webhook call, an application, creation, a field
// change, a comment, a completed task, a child reaching a final stage).
//
// Runs are durable. Entering a stage records the runs of its robots in the transaction
// of the move (crm calls the package through crm.ItemListener), together with their
// jobs in the River queue, so nothing runs for a change that rolled back and nothing
// recorded is lost. A run's internal effects commit in the same transaction that marks
// it done, so they happen once even across crashes; a webhook call carries the run's
// idempotency key, and one whose success was recorded is never sent again. Triggers
// read the outbox of committed changes from a durable cursor.
//
// The automation of each funnel is one versioned document — the same JSON that
// smartcrm.automation.get/set, the UI editor and process files read and write.
package automation

// Document is the automation of one funnel: for each stage, its robots in the order
// they run and its triggers.
type Document struct {
	EntityTypeID int64                       `json:"entityTypeId"`
	CategoryID   int64                       `json:"categoryId"`
	Version      int64                       `json:"version"`
	Stages       map[string]*StageAutomation `json:"stages"`
}

// StageAutomation is what happens around one stage.
type StageAutomation struct {
	Robots   []*Robot   `json:"robots"`
	Triggers []*Trigger `json:"triggers"`
}

// Robot is an action run when an item enters its stage.
type Robot struct {
	// ID is stable within the funnel: runs, rotation pointers and the editor name
	// robots by it. [a-z0-9_-].
	ID    string `json:"id"`
	Type  string `json:"type"`
	Title string `json:"title,omitempty"`
	// Condition is an expression over the item's fields by their names
	// (ufCrm5Amount > 10000 && assignedById == 3); the robot is skipped when false.
	Condition string `json:"condition,omitempty"`
	Delay     *Delay `json:"delay,omitempty"`
	// Parallel robots run at once; the others wait for the robot before them.
	Parallel bool           `json:"parallel,omitempty"`
	Params   map[string]any `json:"params"`
}

// Delay postpones a robot: by a duration, to a moment relative to a date field, or to
// the next working time.
type Delay struct {
	After        string `json:"after,omitempty"`  // 90s, 15m, 2h, 3d
	Field        string `json:"field,omitempty"`  // a date or datetime field of the item
	Offset       string `json:"offset,omitempty"` // from Field: -1d, 2h
	WorkingHours bool   `json:"workingHours,omitempty"`
}

// Trigger moves an item to its stage when its event happens to the item.
type Trigger struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Condition string `json:"condition,omitempty"`
	// AllowBackwards lets the trigger move an item to a stage that sorts before the one
	// it is in; by default a trigger only moves items forward.
	AllowBackwards bool           `json:"allowBackwards,omitempty"`
	Params         map[string]any `json:"params,omitempty"`
}

// Trigger types.
const (
	TriggerWebhook       = "webhook"       // crm.automation.trigger {target, code = the trigger's id}
	TriggerApp           = "app"           // crm.automation.trigger.execute {CODE}
	TriggerCreated       = "created"       // the item was created in the funnel
	TriggerFieldChanged  = "fieldChanged"  // {fields: [...]} changed
	TriggerCommentAdded  = "commentAdded"  // a comment was added to the item
	TriggerTaskCompleted = "taskCompleted" // a task bound to the item was completed
	TriggerChildReached  = "childReached"  // {entityTypeId, semantics: S|F}: a child reached a final stage
)
