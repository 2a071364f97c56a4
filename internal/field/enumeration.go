package field

import "time"

// Enumeration is a choice from a list of items kept by id; only ids of the field's own
// items are taken.
type Enumeration struct {
	Items map[int64]bool
}

// Name implements Type.
func (Enumeration) Name() string { return "enumeration" }

// Storage implements Type.
func (Enumeration) Storage() Storage { return StorageInt }

// Parse implements Type.
func (t Enumeration) Parse(v any) (any, error) {
	id, err := Integer{Positive: true}.Parse(v)
	if id == nil || err != nil {
		return id, err
	}
	if !t.Items[id.(int64)] {
		return nil, invalid("%d is not an item of this list", id)
	}
	return id, nil
}

// Format implements Type.
func (Enumeration) Format(v any) any { return v }

// Ops implements Type.
func (Enumeration) Ops() []Op { return scalarOps }

// EnumerationSettings are the settings of a list custom field; its items are kept
// apart (EnumItem).
type EnumerationSettings struct {
	Display        string `setting:"DISPLAY"`
	ListHeight     int    `setting:"LIST_HEIGHT"`
	CaptionNoValue string `setting:"CAPTION_NO_VALUE"`
	ShowNoValue    YN     `setting:"SHOW_NO_VALUE"`
}

// DefaultValue implements Settings: a list's defaults are its items marked default.
func (EnumerationSettings) DefaultValue(time.Time) any { return nil }

type enumerationKind struct{}

func (enumerationKind) ID() string          { return "enumeration" }
func (enumerationKind) Description() string { return "List" }
func (enumerationKind) NewSettings() Settings {
	return EnumerationSettings{Display: "LIST", ListHeight: 1, ShowNoValue: "Y"}
}

// Build implements Kind: only ids of the field's own items are taken.
func (enumerationKind) Build(_ Settings, items []EnumItem) (Type, error) {
	ids := make(map[int64]bool, len(items))
	for _, e := range items {
		ids[e.ID] = true
	}
	return Enumeration{Items: ids}, nil
}

func init() { register(enumerationKind{}) }
