package field

import (
	"math"
	"time"
)

// Double is a decimal number such as an amount. Precision > 0 rounds to that many
// decimals on save (a custom field's PRECISION setting).
type Double struct{ Precision int }

// Name implements Type.
func (Double) Name() string { return "double" }

// Storage implements Type.
func (Double) Storage() Storage { return StorageFloat }

// Parse implements Type.
func (t Double) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	f, ok := AsFloat(v)
	if !ok || math.Abs(f) > 1e15 {
		return nil, invalid("%v is not a number", v)
	}
	if t.Precision > 0 {
		scale := math.Pow(10, float64(t.Precision))
		f = math.Round(f*scale) / scale
	}
	return f, nil
}

// Format implements Type.
func (Double) Format(v any) any { return v }

// Ops implements Type.
func (Double) Ops() []Op { return scalarOps }

// DoubleSettings are the settings of a number custom field.
type DoubleSettings struct {
	Precision int     `setting:"PRECISION"`
	Size      int     `setting:"SIZE"`
	MinValue  float64 `setting:"MIN_VALUE"`
	MaxValue  float64 `setting:"MAX_VALUE"`
	Default   any     `setting:"DEFAULT_VALUE" wire:"double"`
}

// DefaultValue implements Settings.
func (s DoubleSettings) DefaultValue(time.Time) any { return s.Default }

type doubleKind struct{}

func (doubleKind) ID() string            { return "double" }
func (doubleKind) Description() string   { return "Number" }
func (doubleKind) NewSettings() Settings { return DoubleSettings{Precision: 2, Size: 20} }

// Build implements Kind: values are rounded to PRECISION decimals (0 to 12).
func (doubleKind) Build(s Settings, _ []EnumItem) (Type, error) {
	return Double{Precision: min(max(s.(DoubleSettings).Precision, 0), 12)}, nil
}

func init() { register(doubleKind{}) }
