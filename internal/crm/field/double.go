package field

import (
	"math"

	"smartcrm/internal/params"
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
	f, ok := params.Float(v)
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
