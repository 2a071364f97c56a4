package field

import (
	"math"

	"smartcrm/internal/params"
)

// Double is a decimal number such as an amount.
type Double struct{}

// Name implements Type.
func (Double) Name() string { return "double" }

// Storage implements Type.
func (Double) Storage() Storage { return StorageFloat }

// Parse implements Type.
func (Double) Parse(v any) (any, error) {
	if isEmpty(v) {
		return nil, nil
	}
	f, ok := params.Float(v)
	if !ok || math.Abs(f) > 1e15 {
		return nil, invalid("%v is not a number", v)
	}
	return f, nil
}

// Format implements Type.
func (Double) Format(v any) any { return v }

// Ops implements Type.
func (Double) Ops() []Op { return scalarOps }
