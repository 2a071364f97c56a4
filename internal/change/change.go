// Package change is the one event every write of the domain emits, whatever changed:
// an item, a type, a custom field, a comment, an activity, a task. The domain writes it
// to the outbox in the transaction of the change; automation, outbound events, the UI's
// live updates and analytics read it from there.
package change

import (
	"encoding/json"
	"time"

	"smartcrm/internal/jsonx"
)

// Change is what happened, in the domain's own terms. It exists exactly when the change
// committed. The names integrations know an event by (ONCRMDYNAMICITEMUPDATE…) are given
// at delivery, never stored.
type Change struct {
	Entity Entity `json:"entity"`
	Kind   Kind   `json:"kind"`
	// EntityTypeID is the type of an item, or the type a field, funnel or stage belongs
	// to; 0 for entities outside the CRM types (tasks).
	EntityTypeID int64 `json:"entityTypeId,omitempty"`
	ID           int64 `json:"id"`
	// Owner is the item a comment or an activity is about.
	Owner *Ref `json:"owner,omitempty"`
	// Changed names the fields an update changed; Before and After hold their values
	// (After holds every value an add set).
	Changed []string       `json:"changed,omitempty"`
	Before  map[string]any `json:"before,omitempty"`
	After   map[string]any `json:"after,omitempty"`
	// Stage is set when an item entered a stage: on add, and when it moved.
	Stage *StageMove `json:"stage,omitempty"`
	// Who did it, how, and how many automated steps led to it.
	UserID int64     `json:"userId"`
	Origin string    `json:"origin"`
	Depth  int       `json:"depth"`
	Time   time.Time `json:"time"`
	// Connector is the integration the change came from, when its call named one:
	// that integration's offline queue does not record it.
	Connector string `json:"connector,omitempty"`
}

// StageMove is an item's move from one stage to another ("" From on add).
type StageMove struct {
	From         string `json:"from,omitempty"`
	To           string `json:"to"`
	FromCategory int64  `json:"fromCategoryId"`
	ToCategory   int64  `json:"toCategoryId"`
	Semantics    string `json:"semantics"` // of the stage entered: P, S or F
}

// Ref names a CRM item: its type and id.
type Ref struct {
	EntityTypeID int64 `json:"entityTypeId"`
	ID           int64 `json:"id"`
}

// Entity is the kind of thing a change is about.
type Entity string

// Entities that emit changes.
const (
	Item     Entity = "item"
	Type     Entity = "type"
	Field    Entity = "field"
	Category Entity = "category"
	Stage    Entity = "stage"
	Comment  Entity = "comment"
	Activity Entity = "activity"
	Task     Entity = "task"
)

// Kind says whether the entity was added, updated or deleted.
type Kind string

// Change kinds.
const (
	Added   Kind = "add"
	Updated Kind = "update"
	Deleted Kind = "delete"
	// EnumChanged is a custom field's list items changing (its own event in Bitrix24).
	EnumChanged Kind = "setEnumValues"
)

// Topic is how the outbox row is labelled: entity and kind, e.g. "item.update".
func (c *Change) Topic() string { return string(c.Entity) + "." + string(c.Kind) }

// Encode writes the change as JSON, with the ordered encoder the write path uses
// elsewhere (encoding/json costs several times more per item change).
func (c *Change) Encode() ([]byte, error) {
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
	if c.Connector != "" {
		m = append(m, jsonx.KV{K: "connector", V: c.Connector})
	}
	return jsonx.Append(make([]byte, 0, 512), m)
}

// Decode reads a change back from its outbox payload.
func Decode(payload []byte) (*Change, error) {
	var c Change
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, err
	}
	return &c, nil
}
