package crm

import (
	"encoding/json"
	"time"

	"smartcrm/internal/jsonx"
)

// Change is what every write of the domain emits, whatever changed: an item, a type, a
// custom field, a comment, an activity, a task. It is written to the outbox in the
// transaction of the change, so it exists exactly when the change committed; automation,
// outbound events, the UI's live updates and analytics all read it from there. It says
// what happened in the domain's own terms: the names integrations know an event by
// (ONCRMDYNAMICITEMUPDATE…) are given at delivery, never stored.
type Change struct {
	Entity Entity     `json:"entity"`
	Kind   ChangeKind `json:"kind"`
	// EntityTypeID is the type of an item, or the type a field, funnel or stage belongs
	// to; 0 for entities outside the CRM types (tasks).
	EntityTypeID int64 `json:"entityTypeId,omitempty"`
	ID           int64 `json:"id"`
	// Owner is the item a comment or an activity is about.
	Owner *Owner `json:"owner,omitempty"`
	// Changed names the fields an update changed; Before and After hold their values
	// (After holds every value an add set).
	Changed []string       `json:"changed,omitempty"`
	Before  map[string]any `json:"before,omitempty"`
	After   map[string]any `json:"after,omitempty"`
	// Stage is set when an item entered a stage: on add, and when it moved.
	Stage *StageChange `json:"stage,omitempty"`
	// Who did it, how, and how many automated steps led to it.
	UserID int64     `json:"userId"`
	Origin string    `json:"origin"`
	Depth  int       `json:"depth"`
	Time   time.Time `json:"time"`
}

// StageChange is an item's move from one stage to another ("" From on add).
type StageChange struct {
	From         string `json:"from,omitempty"`
	To           string `json:"to"`
	FromCategory int64  `json:"fromCategoryId"`
	ToCategory   int64  `json:"toCategoryId"`
	Semantics    string `json:"semantics"` // of the stage entered: P, S or F
}

// Entity is the kind of thing a change is about.
type Entity string

// Entities that emit changes.
const (
	EntityItem     Entity = "item"
	EntityType     Entity = "type"
	EntityField    Entity = "field"
	EntityCategory Entity = "category"
	EntityStage    Entity = "stage"
	EntityComment  Entity = "comment"
	EntityActivity Entity = "activity"
	EntityTask     Entity = "task"
)

// ChangeKind says whether the entity was added, updated or deleted.
type ChangeKind string

// Change kinds.
const (
	Added   ChangeKind = "add"
	Updated ChangeKind = "update"
	Deleted ChangeKind = "delete"
	// EnumChanged is a custom field's list items changing (its own event in Bitrix24).
	EnumChanged ChangeKind = "setEnumValues"
)

// Topic is how the outbox row is labelled: entity and kind, e.g. "item.update".
func (c *Change) Topic() string { return string(c.Entity) + "." + string(c.Kind) }

// Emit writes a change to the outbox in the unit's transaction, stamped with the unit's
// actor and time.
func (u *Unit) Emit(c Change) error {
	c.UserID, c.Origin, c.Depth, c.Time = u.actor.UserID, u.actor.Origin.String(), u.actor.Depth, u.now
	b, err := c.encode()
	if err != nil {
		return err
	}
	return u.tx.InsertOutbox(u.ctx, c.Topic(), c.EntityTypeID, c.ID, string(b))
}

// encode writes the change as JSON, with the ordered encoder the write path uses
// elsewhere (encoding/json costs several times more per item change).
func (c *Change) encode() ([]byte, error) {
	m := jsonx.Map{{K: "entity", V: string(c.Entity)}, {K: "kind", V: string(c.Kind)}}
	if c.EntityTypeID != 0 {
		m = append(m, jsonx.KV{K: "entityTypeId", V: c.EntityTypeID})
	}
	m = append(m, jsonx.KV{K: "id", V: c.ID})
	if c.Owner != nil {
		m = append(m, jsonx.KV{K: "owner", V: jsonx.Map{{K: "entityTypeId", V: c.Owner.EntityTypeID}, {K: "id", V: c.Owner.ID}}})
	}
	if len(c.Changed) > 0 {
		names := make([]any, len(c.Changed))
		for i, n := range c.Changed {
			names[i] = n
		}
		m = append(m, jsonx.KV{K: "changed", V: names})
	}
	if len(c.Before) > 0 {
		m = append(m, jsonx.KV{K: "before", V: c.Before})
	}
	if len(c.After) > 0 {
		m = append(m, jsonx.KV{K: "after", V: c.After})
	}
	if s := c.Stage; s != nil {
		m = append(m, jsonx.KV{K: "stage", V: jsonx.Map{{K: "from", V: s.From}, {K: "to", V: s.To},
			{K: "fromCategoryId", V: s.FromCategory}, {K: "toCategoryId", V: s.ToCategory}, {K: "semantics", V: s.Semantics}}})
	}
	m = append(m, jsonx.KV{K: "userId", V: c.UserID}, jsonx.KV{K: "origin", V: c.Origin},
		jsonx.KV{K: "depth", V: c.Depth}, jsonx.KV{K: "time", V: c.Time})
	return jsonx.Append(make([]byte, 0, 512), m)
}

// DecodeChange reads a change back from its outbox payload.
func DecodeChange(payload []byte) (*Change, error) {
	var c Change
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
